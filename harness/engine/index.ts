/**
 * The door of harness/engine/: what other folders use of it. Another folder imports this module only.
 */
export { docker, dockerCli, dockerCommandsInFlight } from './cli.ts';
export type { CommandResult, DockerOptions } from './cli.ts';
export { apiAtLeast, Engine, engineRequestsInFlight, imageStoreOf } from './client.ts';
export type { ImageManifestSummary } from './client.ts';
export { runContainer } from './containers.ts';
export type { ContainerResult, ContainerSpec } from './containers.ts';
export { CRASH_CODES, RUNTIME_CRASH, looksLikeCrash } from './crash-signs.ts';
export { EngineError } from './engine-error.ts';
export { currentDockerHost, currentEngine, defaultEngineName, onEngine } from './engine-scope.ts';
export type { EngineEndpoint } from './engine-scope.ts';
export { HangWatchdog, hangSeconds } from './hang-watchdog.ts';
export type { Hang } from './hang-watchdog.ts';
export { checkPlacement, nodeOf, parseNodeOption, resolveNode } from './nodes.ts';
export type { EngineNode, NodeSpec } from './nodes.ts';
export { engineTakesNetworkFiles, noneNetworkFiles, noneNetworkStyle, refusedNetworkFiles } from './none-network.ts';
export type { HostsStyle } from './none-network.ts';
