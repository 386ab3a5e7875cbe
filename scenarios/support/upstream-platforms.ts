/**
 * The platforms the upstream images are published for on Docker Hub, one list per image: what a
 * `FROM <image>` sample can be built for, and exactly what this repository's offline stand-in for
 * that image publishes (setup/standins/recipes/). One fact, one list.
 */
/** alpine:latest */
export const ALPINE_PLATFORMS = [
  'linux/amd64',
  'linux/386',
  'linux/arm/v6',
  'linux/arm/v7',
  'linux/arm64',
  'linux/ppc64le',
  'linux/riscv64',
  'linux/s390x',
];
/** golang:1.20-alpine */
export const GOLANG_ALPINE_PLATFORMS = [
  'linux/amd64',
  'linux/386',
  'linux/arm/v6',
  'linux/arm/v7',
  'linux/arm64',
  'linux/ppc64le',
  'linux/s390x',
];
/** registry:2 */
export const REGISTRY_PLATFORMS = ['linux/amd64', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm64', 'linux/ppc64le', 'linux/s390x'];
/** moby/buildkit:buildx-stable-1 */
export const BUILDKIT_PLATFORMS = ['linux/amd64', 'linux/arm/v7', 'linux/arm64', 'linux/s390x', 'linux/ppc64le', 'linux/riscv64'];
/** tonistiigi/binfmt:latest */
export const BINFMT_PLATFORMS = [
  'linux/amd64',
  'linux/arm64',
  'linux/arm/v6',
  'linux/arm/v7',
  'linux/ppc64le',
  'linux/s390x',
  'linux/riscv64',
  'linux/386',
];
