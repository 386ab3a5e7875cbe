/**
 * The door of harness/result/: what other folders use of it. Another folder imports this module only.
 */
export { CHECK_NAMES, conclude, fail, newPlatformResult, pass, settle, skip, unverifiedResult } from './model.ts';
export type {
  CheckName,
  CheckResult,
  PlatformReferrer,
  PlatformResult,
  Reference,
  SessionReport,
  StepResult,
  StructureTestKind,
  StructureTestResult,
  TargetResult,
} from './model.ts';
export { PhaseClock, timed } from './phases.ts';
export type { Phases } from './phases.ts';
export { FINAL_STATES } from './progress.ts';
export type { PlatformState, Progress } from './progress.ts';
export { checkShard, parseShard, shardLabel, shardPlatforms } from './shard.ts';
export type { Shard } from './shard.ts';
