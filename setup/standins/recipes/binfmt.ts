/**
 * tonistiigi/binfmt:latest, the image the article runs privileged to register QEMU handlers
 * (`docker run --privileged --rm tonistiigi/binfmt --install all`). Published, like upstream, for
 * linux/amd64, arm64, arm/v6, arm/v7, ppc64le, s390x, riscv64 and 386.
 *
 * Each variant holds, as upstream's does, /usr/bin/binfmt (here: binfmt-tool/main.go, the same
 * command line and output, compiled for the variant) and static QEMU emulators of the variant's
 * own architecture for the other architectures. The emulators are Debian's qemu-user-static (7.2,
 * bookworm; riscv64 has only trixie's 10.0); upstream builds its own QEMU with a few patches. The
 * "supported" list comes from running a do-nothing program per platform (binfmt-tool/check).
 */
import { chmod, copyFile, mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePlatform, parsePlatformList, type Platform } from 'multiarch-harness';
import { debianArch, qemuHandlerName } from 'multiarch-harness/prepare';
import { BINFMT_PLATFORMS } from '../../../scenarios/support/upstream-platforms.ts';
import { goBuild } from '../../go-build.ts';
import type { FetchedPackage } from '../debian-archive.ts';
import { LABELS, packageSummary } from '../image-labels.ts';
import { rootfsKey, type Recipe } from '../recipe.ts';

const TOOL = join(dirname(fileURLToPath(import.meta.url)), '..', 'binfmt-tool');
const PLATFORMS = parsePlatformList(BINFMT_PLATFORMS.join(','));
/**
 * The platforms the binfmt tool checks for its "supported" list, in the order it prints them. Their
 * check programs are named 00-linux-amd64, 01-linux-amd64-v2, ...: the tool runs them in name order.
 */
const CHECKED = [
  'linux/amd64',
  'linux/amd64/v2',
  'linux/amd64/v3',
  'linux/amd64/v4',
  'linux/arm64',
  'linux/riscv64',
  'linux/ppc64le',
  'linux/s390x',
  'linux/386',
  'linux/mips64le',
  'linux/mips64',
  'linux/loong64',
  'linux/arm/v7',
  'linux/arm/v6',
];
/** The architectures binfmt registers emulators for (its handler table in binfmt-tool/main.go). */
const EMULATED = parsePlatformList(
  'linux/amd64,linux/arm64,linux/arm,linux/s390x,linux/ppc64le,linux/riscv64,linux/386,linux/mips64le,linux/mips64,linux/loong64',
);
/** An image variant carries emulators (qemu-aarch64, ...) for every architecture but its own (amd64 runs 386 natively). */
function emulatorsFor(p: Platform): string[] {
  const own = p.architecture === 'amd64' ? ['amd64', '386'] : [p.architecture];
  return EMULATED.filter((e) => !own.includes(e.architecture)).map(qemuHandlerName);
}
const suiteOf = (p: Platform): 'bookworm' | 'trixie' => (p.architecture === 'riscv64' ? 'trixie' : 'bookworm');
/** Bookworm's qemu-user-static holds the static binaries; in trixie they moved to qemu-user. */
const qemuPackage = (p: Platform) => (suiteOf(p) === 'bookworm' ? 'qemu-user-static' : 'qemu-user');

/** The binfmt tool (or a check program) for one platform, from binfmt-tool/ in GOPATH mode. */
function buildTool(source: string, out: string, p: Platform, stateDir: string, ldflags = '-s -w', goamd64?: string): Promise<void> {
  return goBuild({
    target: source,
    out,
    platform: p,
    cwd: TOOL,
    ldflags,
    env: { GO111MODULE: 'off', GOCACHE: join(stateDir, 'go-cache'), ...(goamd64 ? { GOAMD64: goamd64 } : {}) },
  });
}

export const binfmt: Recipe = {
  ref: 'tonistiigi/binfmt:latest',
  mirrorRepo: 'tonistiigi/binfmt',
  tag: 'latest',
  platforms: PLATFORMS,
  dependsOn: [],
  packages: PLATFORMS.map((p) => ({
    name: qemuPackage(p),
    arch: debianArch(p),
    ...(suiteOf(p) === 'bookworm' ? { suite: 'bookworm' as const } : {}),
  })),
  async prepare({ trixie, bookworm, dir, stateDir }) {
    for (const [i, platform] of CHECKED.entries()) {
      const [, arch, level] = platform.split('/');
      const p = parsePlatform(arch === 'amd64' ? 'linux/amd64' : platform);
      const name = `${String(i).padStart(2, '0')}-${platform.replaceAll('/', '-')}`;
      await buildTool('check/main.go', join(dir, 'checks', name), p, stateDir, '-s -w', arch === 'amd64' ? (level ?? 'v1') : undefined);
    }
    const fetched: Array<FetchedPackage & { suite: string }> = [];
    for (const p of PLATFORMS) {
      const suite = suiteOf(p);
      const pkg = await (suite === 'bookworm' ? bookworm : trixie).fetch(qemuPackage(p), debianArch(p));
      fetched.push({ ...pkg, suite });
      const bin = join(dir, `qemu-${rootfsKey(p)}`);
      await mkdir(bin, { recursive: true });
      for (const qemu of emulatorsFor(p)) {
        const candidates = [`usr/bin/${qemu}-static`, `usr/bin/${qemu}`].map((f) => join(pkg.root, f));
        const found = (
          await Promise.all(
            candidates.map((c) =>
              stat(c).then(
                (s) => (s.isFile() ? c : undefined),
                () => undefined,
              ),
            ),
          )
        ).find(Boolean);
        if (!found) throw new Error(`${pkg.name}:${pkg.arch} ${pkg.version} has no static ${qemu}.`);
        await copyFile(found, join(bin, qemu));
        await chmod(join(bin, qemu), 0o755);
      }
      const qemuVersion = `${pkg.version.replace(/^\d+:/, '').replace(/[+~].*$/, '')}-debian-${pkg.version.replace(/^\d+:/, '')}`;
      await buildTool('main.go', join(dir, `binfmt-${rootfsKey(p)}`), p, stateDir, `-s -w -X main.qemuVersion=${qemuVersion}`);
    }
    await writeFile(
      join(dir, 'Dockerfile'),
      `FROM scratch
ARG TARGETARCH
ARG TARGETVARIANT
COPY checks/ /usr/share/binfmt-standin/checks/
COPY qemu-\${TARGETARCH}\${TARGETVARIANT}/ /usr/bin/
COPY binfmt-\${TARGETARCH}\${TARGETVARIANT} /usr/bin/binfmt
ENV QEMU_PRESERVE_ARGV0=1
${LABELS(
  'tonistiigi/binfmt:latest',
  `${packageSummary(
    fetched.filter((f) => f.suite === 'bookworm'),
    'bookworm',
  )}; ${packageSummary(
    fetched.filter((f) => f.suite === 'trixie'),
    'trixie',
  )}; /usr/bin/binfmt written by multiarch-harness`,
  ": Debian's QEMU, not upstream's patched build",
)}
ENTRYPOINT ["/usr/bin/binfmt"]
VOLUME /tmp
`,
    );
    return fetched;
  },
};
