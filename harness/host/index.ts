/**
 * The door of harness/host/: what other folders use of it. Another folder imports this module only.
 */
export { BINFMT_DIR, handlersFor, parseHandler, readHandlers, readLocalHandlers } from './binfmt.ts';
export type { BinfmtHandler } from './binfmt.ts';
export { diagnose, renderDoctor } from './doctor.ts';
export { otherEmulators } from './emulators.ts';
export { observePlatform } from './observe.ts';
export { classifyPlaced, placementOf } from './placement.ts';
export type { PlacedNode } from './placement.ts';
export {
  awaitPreparedImage,
  forgetPreparationFailure,
  isRunning,
  lastLogLine,
  preparingImage,
  readPreparationFailure,
  readPreparing,
  runningPreparation,
} from './prepared-images.ts';
export type { AwaitOptions, Preparation, PreparationFailure, PreparingOptions, PreparingRecord } from './prepared-images.ts';
export { probeHost } from './probe.ts';
export type { HostProbe } from './probe.ts';
