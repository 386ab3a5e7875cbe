/**
 * Article section 1.9: the eight platform ARGs BuildKit predefines, recorded at build time and
 * asserted per platform (TARGETVARIANT v7/v6 for arm, BUILDPLATFORM this host's).
 */
import { defineScenario } from 'multiarch-harness';
import { ALPINE_PLATFORMS } from './support/upstream-platforms.ts';

export default defineScenario({
  kind: 'build',
  name: 'platform-args',
  title: "BuildKit's platform ARGs (TARGETPLATFORM ... BUILDVARIANT)",
  reference: { name: 'the article', part: '1.9' },
  platforms: ALPINE_PLATFORMS,
  build: { context: new URL('../samples/platform-args/', import.meta.url), repository: 'platform-args' },
  expect: {
    kind: 'output',
    template: [
      'TARGETPLATFORM={platform}',
      'TARGETOS={os}',
      'TARGETARCH={arch}',
      'TARGETVARIANT={variant}',
      'BUILDPLATFORM={buildplatform}',
      'BUILDOS={buildos}',
      'BUILDARCH={buildarch}',
      'BUILDVARIANT={buildvariant}',
    ].join('\n'),
  },
});
