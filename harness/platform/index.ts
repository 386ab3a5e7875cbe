/**
 * The door of harness/platform/: what other folders use of it. Another folder imports this module only.
 */
export { classify } from './execution-mode.ts';
export type { Emulator, ExecutionMode, PlatformExecution } from './execution-mode.ts';
export { expectedText, fillTemplate, judge, unameMachine } from './expectations.ts';
export type { Expectation } from './expectations.ts';
export type { BinfmtHandler, PlatformObservation } from './observation.ts';
export {
  KNOWN_PLATFORMS,
  debianArch,
  elfFacts,
  formatPlatform,
  goTarget,
  goTargetEnv,
  normalizePlatform,
  parseKnownPlatformList,
  parsePlatform,
  parsePlatformList,
  platformSlug,
  qemuHandlerName,
  samePlatform,
} from './platform.ts';
export type { Platform } from './platform.ts';
