/**
 * Article section 1.8: cross-compilation. The builder stage runs on the build platform
 * (FROM --platform=$BUILDPLATFORM) and Go cross-compiles with GOOS=$TARGETOS GOARCH=$TARGETARCH;
 * the final stage is alpine for the target. For every platform alpine:latest is published for.
 *
 * Known issue: the recipe sets no GOARM, so Go's cross-compiling default (7) lands in the arm/v6
 * image. QEMU runs ARMv7 code happily, so the article's run passes; the binary check does not.
 */
import { defineScenario } from 'multiarch-harness';
import { ALPINE_PLATFORMS } from './support/upstream-platforms.ts';

export default defineScenario({
  kind: 'build',
  name: 'hello-go-cross',
  title: 'Build the Go sample by cross-compilation (FROM --platform=$BUILDPLATFORM)',
  reference: { name: 'the article', part: '1.8' },
  platforms: ALPINE_PLATFORMS,
  build: { context: new URL('../samples/hello-go/', import.meta.url), dockerfile: 'Dockerfile.cross', repository: 'hello-cross-go' },
  expect: { kind: 'output', template: 'Hello, {os}/{goarch}!' },
  knownIssues: [
    {
      platform: 'linux/arm/v6',
      check: 'binary',
      matches: /GOARM=7, more than linux\/arm\/v6/,
      why: "the article's Dockerfile sets no GOARM, so Go cross-compiles ARMv7 code into the arm/v6 image; QEMU runs it, an ARMv6 CPU would not (samples/hello-go/Dockerfile.cross-scratch passes GOARM=${TARGETVARIANT#v})",
    },
  ],
});
