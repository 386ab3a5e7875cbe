/**
 * Article section 1.8, widened: the cross-compiled Go sample on a scratch final stage, so it can be
 * published for every Linux platform Go and this host's QEMU both support, with GOARM taken from
 * TARGETVARIANT so arm variants get the code they promise.
 */
import { defineScenario } from 'multiarch-harness';

export default defineScenario({
  kind: 'build',
  name: 'hello-go-cross-scratch',
  title: 'Cross-compile the Go sample onto scratch for every platform Go and QEMU support',
  reference: { name: 'the article', part: '1.8' },
  platforms: [
    'linux/amd64',
    'linux/386',
    'linux/arm/v5',
    'linux/arm/v6',
    'linux/arm/v7',
    'linux/arm64',
    'linux/ppc64le',
    'linux/ppc64',
    'linux/s390x',
    'linux/riscv64',
    'linux/mips64le',
    'linux/mips64',
    'linux/loong64',
  ],
  build: {
    context: new URL('../samples/hello-go/', import.meta.url),
    dockerfile: 'Dockerfile.cross-scratch',
    repository: 'hello-cross-scratch',
  },
  expect: { kind: 'output', template: 'Hello, {os}/{goarch}!' },
});
