/**
 * The platforms alpine:latest is published for on Docker Hub: every platform a `FROM alpine`
 * sample can be built for, shared by the scenarios that build or run one per platform.
 */
export const ALPINE_PLATFORMS = ['linux/amd64', 'linux/386', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm64', 'linux/ppc64le', 'linux/riscv64', 'linux/s390x'];
