/**
 * Builds buildkitd and buildctl for one platform, offline, from Debian trixie:
 *   - the source is moby/buildkit as Docker 26.1.5 vendors it, shipped in
 *     golang-github-docker-docker-dev;
 *   - its imports come from the golang-*-dev packages that Debian's Contents-all index names for
 *     each missing import path (96 packages, found by repeating `go list` until nothing is
 *     missing). The list found is shipped (buildkit-packages.txt) and fetched in one apt call;
 *     `go list` still checks the tree, and looks up anything missing as before;
 *   - Go is trixie's Go 1.24, in GOPATH mode.
 * Adjustments, all recorded here: protobuf 1.5 instead of 1.3 (grpc needs it); go-systemd's
 * /v22 import path links to the package itself; the GitHub Actions and Azure cache backends are
 * left out of buildkitd (their SDKs are not packaged); three unpackaged imports have small
 * stand-ins in go/src (packageurl-go, go-archvariant, fuse-overlayfs-snapshotter).
 */
import { cp, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { execa } from 'execa';
import { formatPlatform, platformSlug, type Platform } from 'multiarch-harness';
import { goBuild } from '../go-build.ts';
import type { DebianArchive } from './debian-archive.ts';

const OVERLAY_GOPATH = join(dirname(fileURLToPath(import.meta.url)), 'go');
const TARGETS = ['github.com/moby/buildkit/cmd/buildkitd', 'github.com/moby/buildkit/cmd/buildctl'];
/** Where Debian offers two packages for one import path, the one to take. */
const PREFER: Record<string, string> = { 'golang-github-golang-protobuf-1-3-dev': 'golang-github-golang-protobuf-1-5-dev' };
export const BUILDKIT_SOURCE_PACKAGE = 'golang-github-docker-docker-dev';

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Go 1.24 for the host (amd64), assembled from trixie's packages like the golang stand-in. */
async function goroot(base: string, trixie: DebianArchive): Promise<string> {
  const dir = join(base, 'goroot');
  if (await exists(join(dir, '.complete'))) return dir;
  await rm(dir, { recursive: true, force: true });
  const [src, go] = await trixie.fetchAll([
    { name: 'golang-1.24-src', arch: 'all' },
    { name: 'golang-1.24-go', arch: 'amd64' },
  ]);
  await cp(join(src!.root, 'usr/share/go-1.24'), dir, { recursive: true, verbatimSymlinks: true });
  for (const f of ['VERSION', 'bin', 'go.env']) await cp(join(go!.root, 'usr/lib/go-1.24', f), join(dir, f), { recursive: true });
  await cp(join(go!.root, 'usr/lib/go-1.24/pkg/tool'), join(dir, 'pkg/tool'), { recursive: true });
  await cp(join(go!.root, 'usr/share/go-1.24'), dir, { recursive: true, verbatimSymlinks: true });
  await writeFile(join(dir, '.complete'), '');
  return dir;
}

/** import directory -> Debian package, from trixie's Contents-all index. */
async function goPackageIndex(base: string): Promise<Map<string, string[]>> {
  const file = join(base, 'Contents-all.gz');
  if (!(await exists(file))) {
    const res = await fetch('http://deb.debian.org/debian/dists/trixie/main/Contents-all.gz');
    if (!res.ok) throw new Error(`Debian's Contents-all index answered ${res.status}.`);
    await writeFile(file, Buffer.from(await res.arrayBuffer()));
  }
  const index = new Map<string, string[]>();
  const prefix = 'usr/share/gocode/src/';
  // Streamed: unpacked, the index is larger than the longest string Node can hold.
  const lines = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.startsWith(prefix)) continue;
    const at = line.lastIndexOf(' ');
    const path = line.slice(prefix.length, at).trimEnd();
    const dir = path.slice(0, path.lastIndexOf('/'));
    if (!index.has(dir))
      index.set(
        dir,
        line
          .slice(at + 1)
          .split(',')
          .map((p) => p.slice(p.lastIndexOf('/') + 1)),
      );
  }
  return index;
}

function goEnv(root: string, gopath: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    GOROOT: root,
    GOPATH: `${OVERLAY_GOPATH}:${gopath}`,
    GO111MODULE: 'off',
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
    GOFLAGS: '',
    GOCACHE: join(gopath, '..', 'go-cache'),
    PATH: `${root}/bin:${process.env.PATH}`,
    ...extra,
  };
}

/** buildkit-packages.txt: the packages an earlier discovery found (comments and blank lines left out). */
async function knownPackages(): Promise<string[]> {
  const text = await readFile(join(dirname(fileURLToPath(import.meta.url)), 'buildkit-packages.txt'), 'utf8');
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** The GOPATH with buildkit's source and every package it imports, resolved once. */
async function sourceTree(base: string, root: string, trixie: DebianArchive, log: (s: string) => void): Promise<string> {
  const gopath = join(base, 'gopath');
  if (await exists(join(gopath, '.complete'))) return gopath;
  await rm(gopath, { recursive: true, force: true });
  await mkdir(join(gopath, 'src'), { recursive: true });
  const add = async (names: string[]) => {
    for (const pkg of await trixie.fetchAll(names.map((name) => ({ name, arch: 'all' })))) {
      if (await exists(join(pkg.root, 'usr/share/gocode/src')))
        await cp(join(pkg.root, 'usr/share/gocode/src'), join(gopath, 'src'), { recursive: true, verbatimSymlinks: true, force: true });
    }
  };
  // The source and the packages found before, in one apt call: two or three rounds of discovery less.
  const known = await trixie.available((await knownPackages()).map((name) => ({ name, arch: 'all' })));
  await add([BUILDKIT_SOURCE_PACKAGE, ...known.map((k) => k.name)]);
  let index: Map<string, string[]> | undefined;
  const taken = new Set<string>([BUILDKIT_SOURCE_PACKAGE, ...known.map((k) => k.name)]);
  for (let round = 0; round < 20; round++) {
    const r = await execa('go', ['list', '-e', '-deps', '-f', '{{with .Error}}{{.Err}}{{end}}', ...TARGETS], {
      env: goEnv(root, gopath),
      reject: false,
    });
    const missing = new Set([...`${r.stdout}\n${r.stderr}`.matchAll(/cannot find package "([^"]+)"/g)].map((m) => m[1]!));
    if (missing.size === 0) break;
    index ??= await goPackageIndex(base);
    const wanted = new Set<string>();
    for (const m of missing) {
      const parts = m.split('/');
      for (let i = parts.length; i > 1; i--) {
        const candidates = index.get(parts.slice(0, i).join('/'));
        if (!candidates) continue;
        const pkg = PREFER[candidates.sort()[0]!] ?? candidates.sort()[0]!;
        if (!taken.has(pkg)) wanted.add(pkg);
        break;
      }
    }
    if (wanted.size === 0) break;
    log(`buildkit sources: round ${round + 1}, ${missing.size} imports missing, adding ${wanted.size} Debian packages`);
    await add([...wanted]);
    for (const w of wanted) taken.add(w);
  }
  // Adjustments (see the header).
  const src = join(gopath, 'src');
  await symlink('.', join(src, 'github.com/coreos/go-systemd/v22')).catch(() => undefined);
  const main = join(src, 'github.com/moby/buildkit/cmd/buildkitd/main.go');
  const text = (await readFile(main, 'utf8'))
    .split('\n')
    .filter((l) => !/remotecache\/(gha|azblob)"|"(gha|azblob)":\s*(gha|azblob)\./.test(l))
    .join('\n');
  await writeFile(main, text);
  await writeFile(join(gopath, 'packages.txt'), [...taken].sort().join('\n'));
  await writeFile(join(gopath, '.complete'), '');
  log(`buildkit sources: ${taken.size} Debian packages`);
  return gopath;
}

/** buildkitd and buildctl for one platform, into outDir/usr/bin (cached per platform). */
export async function buildBuildkit(
  p: Platform,
  outDir: string,
  stateDir: string,
  trixie: DebianArchive,
  log: (s: string) => void,
): Promise<string[]> {
  const base = join(stateDir, 'standins', 'buildkit');
  const bin = join(base, 'bin', platformSlug(p));
  const root = await goroot(base, trixie);
  const gopath = await sourceTree(base, root, trixie, log);
  if (!(await exists(join(bin, '.complete')))) {
    await mkdir(bin, { recursive: true });
    const version = `-X github.com/moby/buildkit/version.Version=v0.0.0+debian-${BUILDKIT_SOURCE_PACKAGE}`;
    for (const target of TARGETS) {
      log(`compiling ${target.split('/').at(-1)} for ${formatPlatform(p)}`);
      await goBuild({
        target,
        out: join(bin, target.split('/').at(-1)!),
        platform: p,
        ldflags: `-s -w ${version}`,
        env: goEnv(root, gopath),
      });
    }
    await writeFile(join(bin, '.complete'), '');
  }
  await mkdir(join(outDir, 'usr/bin'), { recursive: true });
  for (const f of ['buildkitd', 'buildctl']) await cp(join(bin, f), join(outDir, 'usr/bin', f));
  return (await readFile(join(gopath, 'packages.txt'), 'utf8')).split('\n');
}
