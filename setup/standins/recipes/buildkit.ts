/**
 * moby/buildkit:buildx-stable-1: buildkitd and buildctl from Debian's BuildKit source, with runc
 * and its libraries, on the alpine stand-in.
 */
import { cp, mkdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parsePlatformList, type Platform } from 'multiarch-harness';
import { debianArch } from 'multiarch-harness/prepare';
import { BUILDKIT_PLATFORMS as UPSTREAM } from '../../../scenarios/support/upstream-platforms.ts';
import { buildBuildkit, BUILDKIT_SOURCE_PACKAGE } from '../buildkit-binary.ts';
import type { FetchedPackage } from '../debian-archive.ts';
import { LABELS, packageSummary } from '../image-labels.ts';
import { rootfsKey, type Recipe } from '../recipe.ts';

const BUILDKIT_PLATFORMS = parsePlatformList(UPSTREAM.join(','));

/** runc (Debian's is dynamically linked) and what it needs, per architecture, inside the image. */
const RUNC_PACKAGES = ['runc', 'libseccomp2', 'libc6', 'libgcc-s1'];
/**
 * The runc set comes from bookworm where bookworm has the architecture: one consistent set, where
 * trixie's mirror was seen listing a libc6 its pool did not have (ppc64el, s390x). riscv64 is only
 * in trixie.
 */
const runcSuite = (p: Platform): 'bookworm' | 'trixie' => (p.architecture === 'riscv64' ? 'trixie' : 'bookworm');

/** moby/buildkit:buildx-stable-1, the image buildx's docker-container driver starts. */
export const buildkit: Recipe = {
  ref: 'moby/buildkit:buildx-stable-1',
  mirrorRepo: 'moby/buildkit',
  tag: 'buildx-stable-1',
  platforms: BUILDKIT_PLATFORMS,
  dependsOn: ['library/alpine:latest'],
  // Six Go compiles from a bare machine (12 minutes and more on 2 cores), for docker-container builders only.
  background: true,
  packages: [
    { name: BUILDKIT_SOURCE_PACKAGE, arch: 'all' },
    { name: 'golang-1.24-go', arch: 'amd64' },
    ...BUILDKIT_PLATFORMS.flatMap((p) =>
      RUNC_PACKAGES.map((name) => ({ name, arch: debianArch(p), ...(runcSuite(p) === 'bookworm' ? { suite: 'bookworm' as const } : {}) })),
    ),
  ],
  async prepare({ trixie, bookworm, dir, stateDir }) {
    const fetched: Array<FetchedPackage & { suite: string }> = [];
    let goPackages: string[] = [];
    for (const p of BUILDKIT_PLATFORMS) {
      const rootfs = join(dir, `rootfs-${rootfsKey(p)}`);
      goPackages = await buildBuildkit(p, rootfs, stateDir, trixie, (m) => console.log(`[standins] ${m}`));
      const suite = runcSuite(p);
      for (const pkg of await (suite === 'bookworm' ? bookworm : trixie).fetchAll(
        RUNC_PACKAGES.map((name) => ({ name, arch: debianArch(p) })),
      )) {
        fetched.push({ ...pkg, suite });
        for (const top of ['usr', 'lib', 'lib64']) {
          await cp(join(pkg.root, top), join(rootfs, top), { recursive: true, verbatimSymlinks: true }).catch(
            (e: NodeJS.ErrnoException) => {
              if (e.code !== 'ENOENT') throw e;
            },
          );
        }
      }
      await rm(join(rootfs, 'usr/share'), { recursive: true, force: true });
      // Trixie is merged-/usr: the loaders live under /usr/lib*, binaries ask for /lib*.
      for (const top of ['lib', 'lib64']) {
        if (
          (await stat(join(rootfs, 'usr', top)).then(
            () => true,
            () => false,
          )) &&
          !(await stat(join(rootfs, top)).then(
            () => true,
            () => false,
          ))
        ) {
          await symlink(`usr/${top}`, join(rootfs, top));
        }
      }
      await symlink('/usr/sbin/runc', join(rootfs, 'usr/bin/buildkit-runc'));
      for (const d of ['var/lib/buildkit', 'etc/buildkit', 'run/buildkit']) await mkdir(join(rootfs, d), { recursive: true });
    }
    await writeFile(
      join(dir, 'Dockerfile'),
      `FROM alpine:latest
ARG TARGETARCH
ARG TARGETVARIANT
COPY rootfs-\${TARGETARCH}\${TARGETVARIANT}/ /
VOLUME /var/lib/buildkit
${LABELS(
  'moby/buildkit:buildx-stable-1',
  `${packageSummary(
    fetched.filter((f) => f.suite === 'bookworm'),
    'bookworm',
  )}; ${packageSummary(
    fetched.filter((f) => f.suite === 'trixie'),
    'trixie',
  )}; buildkitd and buildctl from ${BUILDKIT_SOURCE_PACKAGE} with ${goPackages.length} golang-*-dev packages (debian trixie)`,
  ': BuildKit as vendored by Docker 26.1.5, no GitHub Actions or Azure cache backends, no fuse-overlayfs',
)}
ENTRYPOINT ["buildkitd"]
`,
    );
    return fetched;
  },
};
