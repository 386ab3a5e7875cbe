/**
 * The door of harness/session/: what other folders use of it. Another folder imports this module only.
 */
export { registryUpLine, startRegistry } from './local-registry.ts';
export type { LocalRegistry } from './local-registry.ts';
export {
  BASE_CONTAINER_TIMEOUT_MS,
  imagesPresent,
  loadedImageName,
  loadPlatform,
  pullPinned,
  runPinned,
  runTestCommand,
} from './session-containers.ts';
export type { ContainerResult, TestContainerOptions } from './session-containers.ts';
export { Session, labelArgs, sweepStaleSessions } from './session.ts';
