/**
 * The stand-ins for Docker Hub images, each published for exactly the platforms its upstream image
 * is published for, so that a scenario passing here passes for a user with internet too.
 *
 * A recipe prepares a build context (files from Debian packages) and a Dockerfile; main.ts builds it
 * for the listed platforms and pushes it to the mirror registry under the upstream name.
 */
import { appendFile, cp, mkdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { debianArch, formatPlatform, parsePlatformList, type Platform } from '../../harness/platform/platform.ts';
import type { DebianArchive, FetchedPackage } from './debian-archive.ts';
import { buildRegistryBinary } from './registry-binary.ts';
import { buildBuildkit, BUILDKIT_SOURCE_PACKAGE } from './buildkit-binary.ts';
import { binfmt } from './binfmt-recipe.ts';
import { LABELS, packageSummary } from './image-labels.ts';

export interface RecipeContext {
  trixie: DebianArchive;
  /** The host's own suite, for runtime libraries where trixie's mirror is incomplete. */
  bookworm: DebianArchive;
  /** Folder to fill: the build context. */
  dir: string;
  stateDir: string;
}

export interface Recipe {
  /** Upstream reference, as a user's Dockerfile or scenario names it. */
  ref: string;
  /** Repository path in the mirror (Docker Hub's library/ prefix for official images). */
  mirrorRepo: string;
  tag: string;
  platforms: Platform[];
  /** Recipes whose images this one builds FROM (pushed first). */
  dependsOn: string[];
  /** Debian packages whose versions enter the cache key (trixie unless the suite says otherwise). */
  packages: Array<{ name: string; arch: string; suite?: 'bookworm' }>;
  /** Fills ctx.dir with the Dockerfile and files; returns a package list for the label. */
  prepare(ctx: RecipeContext): Promise<FetchedPackage[]>;
}

/** The rootfs folder for a platform, as the Dockerfiles name it: ${TARGETARCH}${TARGETVARIANT}. */
export function rootfsKey(p: Platform): string {
  return `${p.architecture}${p.variant ?? ''}`;
}

function perArch(name: string, platforms: Platform[]): Array<{ name: string; arch: string }> {
  return [...new Set(platforms.map(debianArch))].map((arch) => ({ name, arch }));
}

// Upstream platform lists (Docker Hub, as published for these tags).
const ALPINE_PLATFORMS = parsePlatformList('linux/amd64,linux/arm/v6,linux/arm/v7,linux/arm64,linux/386,linux/ppc64le,linux/riscv64,linux/s390x');
const GOLANG_ALPINE_PLATFORMS = parsePlatformList('linux/amd64,linux/arm/v6,linux/arm/v7,linux/arm64,linux/386,linux/ppc64le,linux/s390x');
const REGISTRY_PLATFORMS = parsePlatformList('linux/amd64,linux/arm/v6,linux/arm/v7,linux/arm64,linux/ppc64le,linux/s390x');

const ETC_FILES: Record<string, string> = {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n',
  'etc/group': 'root:x:0:root\nnogroup:x:65534:\n',
  'etc/hosts': '127.0.0.1\tlocalhost\n',
  'etc/os-release': 'NAME="Alpine Linux (multiarch-harness stand-in: Debian busybox-static)"\nID=alpine\nPRETTY_NAME="stand-in for alpine:latest"\n',
};

/** A busybox root file system: the static busybox binary and a symlink for each applet. */
async function busyboxRootfs(pkg: FetchedPackage, target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'tmp', 'root', 'var/tmp', 'proc', 'sys', 'dev']) {
    await mkdir(join(target, d), { recursive: true });
  }
  await cp(join(pkg.root, 'usr/bin/busybox'), join(target, 'bin/busybox'));
  // The applet list comes from the binary itself (run through QEMU when it is foreign); a
  // fixed list stands in when this host cannot run it.
  const { stdout } = await execa(join(pkg.root, 'usr/bin/busybox'), ['--list-full'], { reject: false });
  const applets = stdout ? stdout.split('\n') : DEFAULT_APPLETS;
  for (const applet of applets) {
    if (!applet || applet === 'bin/busybox') continue;
    const at = join(target, applet);
    await rm(at, { force: true });
    await symlink('/bin/busybox', at).catch(() => undefined);
  }
  for (const [path, text] of Object.entries(ETC_FILES)) await writeFile(join(target, path), text);
}

/** Applets used when the foreign busybox cannot list them (no handler for it on this host). */
const DEFAULT_APPLETS = ['bin/sh', 'bin/ash', 'bin/cat', 'bin/echo', 'bin/ls', 'bin/uname', 'bin/mkdir', 'bin/rm', 'bin/cp', 'bin/mv', 'bin/ln',
  'bin/sleep', 'bin/grep', 'bin/sed', 'bin/tar', 'bin/gzip', 'bin/chmod', 'bin/date', 'bin/env', 'usr/bin/env', 'usr/bin/wget', 'usr/bin/id',
  'usr/bin/head', 'usr/bin/tail', 'usr/bin/tr', 'usr/bin/wc', 'usr/bin/awk', 'usr/bin/find', 'usr/bin/sort', 'usr/bin/test', 'bin/true', 'bin/false',
  'bin/hostname', 'bin/pwd', 'usr/bin/which', 'usr/bin/xargs', 'usr/bin/cut', 'usr/bin/od', 'usr/bin/sha256sum', 'bin/touch', 'bin/ps'];

export const alpine: Recipe = {
  ref: 'library/alpine:latest',
  mirrorRepo: 'library/alpine',
  tag: 'latest',
  platforms: ALPINE_PLATFORMS,
  dependsOn: [],
  packages: perArch('busybox-static', ALPINE_PLATFORMS),
  async prepare({ trixie, dir }) {
    const fetched: FetchedPackage[] = [];
    for (const p of ALPINE_PLATFORMS) {
      const pkg = await trixie.fetch('busybox-static', debianArch(p));
      fetched.push(pkg);
      await busyboxRootfs(pkg, join(dir, 'rootfs', rootfsKey(p)));
    }
    await writeFile(
      join(dir, 'Dockerfile'),
      `FROM scratch
ARG TARGETARCH
ARG TARGETVARIANT
COPY rootfs/\${TARGETARCH}\${TARGETVARIANT}/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
${LABELS('alpine:latest', packageSummary(fetched, 'trixie'), ': busybox, not musl and apk')}
CMD ["/bin/sh"]
`,
    );
    return fetched;
  },
};

export const golangAlpine: Recipe = {
  ref: 'library/golang:1.20-alpine',
  mirrorRepo: 'library/golang',
  tag: '1.20-alpine',
  platforms: GOLANG_ALPINE_PLATFORMS,
  dependsOn: ['library/alpine:latest'],
  packages: [...perArch('golang-1.24-go', GOLANG_ALPINE_PLATFORMS), { name: 'golang-1.24-src', arch: 'all' }],
  async prepare({ trixie, dir }) {
    const fetched: FetchedPackage[] = [];
    const src = await trixie.fetch('golang-1.24-src', 'all');
    fetched.push(src);
    // The architecture-independent GOROOT (Go's own test suite under test/ is left out).
    for (const d of ['api', 'lib', 'misc', 'src']) {
      await cp(join(src.root, 'usr/share/go-1.24', d), join(dir, 'go-src', d), { recursive: true, verbatimSymlinks: true });
    }
    for (const p of GOLANG_ALPINE_PLATFORMS) {
      const pkg = await trixie.fetch('golang-1.24-go', debianArch(p));
      fetched.push(pkg);
      const out = join(dir, `go-${rootfsKey(p)}`);
      const lib = join(pkg.root, 'usr/lib/go-1.24');
      await mkdir(join(out, 'pkg'), { recursive: true });
      for (const f of ['VERSION', 'bin', 'go.env']) await cp(join(lib, f), join(out, f), { recursive: true });
      await cp(join(lib, 'pkg/tool'), join(out, 'pkg/tool'), { recursive: true });
      // Per-architecture generated sources (zbootstrap.go, zversion.go) and pkg/include.
      await cp(join(pkg.root, 'usr/share/go-1.24'), out, { recursive: true, verbatimSymlinks: true });
      // Upstream builds its arm toolchains with GOARM=6 (arm/v6) and GOARM=7 (arm/v7); Debian's
      // default to 5 (armel) and 6 (armhf). $GOROOT/go.env holds the toolchain's defaults.
      if (p.architecture === 'arm' && p.variant) await appendFile(join(out, 'go.env'), `\n# multiarch-harness stand-in: upstream's default for ${formatPlatform(p)}\nGOARM=${p.variant.slice(1)}\n`);
    }
    await writeFile(
      join(dir, 'Dockerfile'),
      `FROM alpine:latest
ARG TARGETARCH
ARG TARGETVARIANT
COPY go-src/ /usr/local/go/
COPY go-\${TARGETARCH}\${TARGETVARIANT}/ /usr/local/go/
ENV GOLANG_VERSION=1.24.4 \\
    GOTOOLCHAIN=local \\
    CGO_ENABLED=0 \\
    GOPATH=/go \\
    PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /go/src /go/bin && chmod -R 1777 /go
WORKDIR /go
${LABELS('golang:1.20-alpine', packageSummary(fetched, 'trixie'), ': Go 1.24.4, not 1.20; busybox, not musl and apk')}
`,
    );
    return fetched;
  },
};

const REGISTRY_CONFIG = `version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
`;

/** The upstream image's entrypoint: a config path or a registry subcommand runs the registry. */
const REGISTRY_ENTRYPOINT = `#!/bin/sh
set -e
case "$1" in
    *.yaml|*.yml) set -- registry serve "$@" ;;
    serve|garbage-collect|help|-*) set -- registry "$@" ;;
esac
exec "$@"
`;

export const registry: Recipe = {
  ref: 'library/registry:2',
  mirrorRepo: 'library/registry',
  tag: '2',
  platforms: REGISTRY_PLATFORMS,
  dependsOn: ['library/alpine:latest'],
  packages: [{ name: 'golang-github-docker-distribution-dev', arch: 'host' }],
  async prepare({ dir, stateDir }) {
    for (const p of REGISTRY_PLATFORMS) {
      await buildRegistryBinary(p, join(dir, `registry-${rootfsKey(p)}`), stateDir);
    }
    await writeFile(join(dir, 'config.yml'), REGISTRY_CONFIG);
    await writeFile(join(dir, 'entrypoint.sh'), REGISTRY_ENTRYPOINT, { mode: 0o755 });
    const version = (await execa('dpkg-query', ['-W', '-f=${Version}', 'golang-github-docker-distribution-dev'])).stdout;
    await writeFile(
      join(dir, 'Dockerfile'),
      `FROM alpine:latest
ARG TARGETARCH
ARG TARGETVARIANT
COPY registry-\${TARGETARCH}\${TARGETVARIANT} /bin/registry
COPY config.yml /etc/docker/registry/config.yml
COPY entrypoint.sh /entrypoint.sh
VOLUME ["/var/lib/registry"]
EXPOSE 5000
${LABELS('registry:2', `golang-github-docker-distribution-dev ${version} (debian bookworm, distribution 2.8.2)`)}
ENTRYPOINT ["/entrypoint.sh"]
CMD ["/etc/docker/registry/config.yml"]
`,
    );
    return [];
  },
};

const BUILDKIT_PLATFORMS = parsePlatformList('linux/amd64,linux/arm/v7,linux/arm64,linux/s390x,linux/ppc64le,linux/riscv64');
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
  packages: [
    { name: BUILDKIT_SOURCE_PACKAGE, arch: 'all' }, { name: 'golang-1.24-go', arch: 'amd64' },
    ...BUILDKIT_PLATFORMS.flatMap((p) => RUNC_PACKAGES.map((name) => ({ name, arch: debianArch(p), ...(runcSuite(p) === 'bookworm' ? { suite: 'bookworm' as const } : {}) }))),
  ],
  async prepare({ trixie, bookworm, dir, stateDir }) {
    const fetched: Array<FetchedPackage & { suite: string }> = [];
    let goPackages: string[] = [];
    for (const p of BUILDKIT_PLATFORMS) {
      const rootfs = join(dir, `rootfs-${rootfsKey(p)}`);
      goPackages = await buildBuildkit(p, rootfs, stateDir, trixie, (m) => console.log(`[standins] ${m}`));
      const suite = runcSuite(p);
      for (const pkg of await (suite === 'bookworm' ? bookworm : trixie).fetchAll(RUNC_PACKAGES.map((name) => ({ name, arch: debianArch(p) })))) {
        fetched.push({ ...pkg, suite });
        for (const top of ['usr', 'lib', 'lib64']) {
          await cp(join(pkg.root, top), join(rootfs, top), { recursive: true, verbatimSymlinks: true }).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== 'ENOENT') throw e;
          });
        }
      }
      await rm(join(rootfs, 'usr/share'), { recursive: true, force: true });
      // Trixie is merged-/usr: the loaders live under /usr/lib*, binaries ask for /lib*.
      for (const top of ['lib', 'lib64']) {
        if (await stat(join(rootfs, 'usr', top)).then(() => true, () => false) && !(await stat(join(rootfs, top)).then(() => true, () => false))) {
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
${LABELS('moby/buildkit:buildx-stable-1', `${packageSummary(fetched.filter((f) => f.suite === 'bookworm'), 'bookworm')}; ${packageSummary(fetched.filter((f) => f.suite === 'trixie'), 'trixie')}; buildkitd and buildctl from ${BUILDKIT_SOURCE_PACKAGE} with ${goPackages.length} golang-*-dev packages (debian trixie)`, ': BuildKit as vendored by Docker 26.1.5, no GitHub Actions or Azure cache backends, no fuse-overlayfs')}
ENTRYPOINT ["buildkitd"]
`,
    );
    return fetched;
  },
};

/** In build order: a recipe comes after those it builds FROM. */
export const RECIPES: readonly Recipe[] = [alpine, golangAlpine, registry, buildkit, binfmt];

export function describeRecipe(r: Recipe): string {
  return `${r.ref} for ${r.platforms.map(formatPlatform).join(', ')}`;
}
