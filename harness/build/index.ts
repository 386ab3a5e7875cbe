/**
 * The door of harness/build/: what other folders use of it. Another folder imports this module only.
 */
export { buildLeavingOut, emulatedOf, hungPlatforms, leftOutNote, notBuilt } from './build-attempts.ts';
export { BuildTimings, platformBuildTimes, platformOfVertex, RawJsonSplitter } from './build-progress.ts';
export type { BuildFailureCause } from './build-progress.ts';
export { assertBuildable, buildAndPush } from './build.ts';
export { BUILDKIT_IMAGE, chooseBuilder, createsContainerBuilder } from './builder.ts';
