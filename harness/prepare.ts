/**
 * The package's second door, `multiarch-harness/prepare`: tools for a program that prepares a host
 * for the harness (registers emulators, makes images in the background), kept apart so that the
 * main API (index.ts) stays about scenarios, platforms and reports.
 *
 * - binfmt_misc: the host's handlers, which of them the kernel would hand a platform's programs to,
 *   and what one platform's probe program does on the engine now (observePlatform: not cached).
 * - Facts about each platform the harness knows: its ELF header fields, QEMU's handler name,
 *   Debian's architecture, Go's GOOS/GOARCH/GOARM.
 * - Images another process prepares: preparingImage records the process and what it makes, so that
 *   the harness waits for them (awaitPreparedImage) before it uses one, and says how to try again.
 */

export { BINFMT_DIR, handlersFor, parseHandler, readLocalHandlers, type BinfmtHandler } from './host/index.ts';
export {
  askKernel,
  describeAnswer,
  hostArchitecture,
  magicFor,
  registerHandler,
  restoreHandler,
  setHandlerEnabled,
  unregisterHandler,
  type KernelAnswer,
} from './host-setup/index.ts';
export { observePlatform } from './host/index.ts';
export type { PlatformObservation } from './platform/index.ts';
export { debianArch, elfFacts, goTargetEnv, KNOWN_PLATFORMS, qemuHandlerName } from './platform/index.ts';
export {
  awaitPreparedImage,
  forgetPreparationFailure,
  isRunning,
  lastLogLine,
  preparingImage,
  readPreparationFailure,
  readPreparing,
  runningPreparation,
  type AwaitOptions,
  type Preparation,
  type PreparationFailure,
  type PreparingOptions,
  type PreparingRecord,
} from './host/index.ts';
