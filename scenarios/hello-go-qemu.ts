/**
 * Article section 1.7: the hello-go sample built by BuildKit under QEMU emulation (the Dockerfile
 * is an ordinary one; every RUN of a foreign platform executes through binfmt_misc), for every
 * platform golang:1.20-alpine is published for. Each platform must print Hello, linux/<GOARCH>!
 */
import { defineScenario } from 'multiarch-harness';
import { GOLANG_ALPINE_PLATFORMS } from './support/upstream-platforms.ts';

export default defineScenario({
  kind: 'build',
  name: 'hello-go-qemu',
  title: 'Build the Go sample under QEMU emulation with buildx',
  reference: { name: 'the article', part: '1.7' },
  platforms: GOLANG_ALPINE_PLATFORMS,
  build: { context: new URL('../samples/hello-go/', import.meta.url), repository: 'hello-go' },
  expect: { kind: 'output', template: 'Hello, {os}/{goarch}!' },
});
