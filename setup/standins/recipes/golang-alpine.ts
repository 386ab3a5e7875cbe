/**
 * golang:1.20-alpine: the alpine stand-in plus Debian trixie's golang-1.24-go (static per
 * architecture) and golang-1.24-src: Go 1.24.4, not 1.20.
 */
import { appendFile, cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatPlatform, parsePlatformList } from 'multiarch-harness';
import { debianArch } from 'multiarch-harness/prepare';
import { GOLANG_ALPINE_PLATFORMS as UPSTREAM } from '../../../scenarios/support/upstream-platforms.ts';
import type { FetchedPackage } from '../debian-archive.ts';
import { LABELS, packageSummary } from '../image-labels.ts';
import { perArch, rootfsKey, type Recipe } from '../recipe.ts';

const GOLANG_ALPINE_PLATFORMS = parsePlatformList(UPSTREAM.join(','));

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
      if (p.architecture === 'arm' && p.variant)
        await appendFile(
          join(out, 'go.env'),
          `\n# multiarch-harness stand-in: upstream's default for ${formatPlatform(p)}\nGOARM=${p.variant.slice(1)}\n`,
        );
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
