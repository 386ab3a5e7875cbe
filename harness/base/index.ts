/**
 * The door of harness/base/: what other folders use of it. Another folder imports this module only.
 */
export { activeSessions } from './active-sessions.ts';
export { BOUNDS, boundMs, checkBounds, formatBound } from './bounds.ts';
export { harnessCodeId } from './code-id.ts';
export { EnvironmentError, HarnessError, UsageError } from './errors.ts';
export { describeFailure, execCommand, stopRunningCommands, transientFailure, transientText } from './exec.ts';
export type { CommandResult, ExecOptions } from './exec.ts';
export { annotation, groupEnd, groupStart, isGitHubActions } from './github-actions.ts';
export { inputsUnchanged, keptInputs } from './kept-inputs.ts';
export type { KeptInput } from './kept-inputs.ts';
export { isTransient, withRetry } from './retry.ts';
export { pidAlive, processScratchFolder, scratchFolder, sweepScratchFolders } from './scratch-folders.ts';
export { pruneStateFolder, readStateFile, stateDir, writeStateFile } from './state-dir.ts';
