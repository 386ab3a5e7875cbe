/**
 * The public API: what a user's scenarios and programs, the vitest helpers, and this repository's
 * own scenarios and demo import. Nothing outside this list is promised to stay. Tools that prepare
 * a host (binfmt_misc handlers, images another process prepares) are in the second door,
 * `multiarch-harness/prepare` (prepare.ts).
 */
import type { SessionOptions } from './scenario/index.ts';
import type { SessionReport } from './result/index.ts';
// Scenarios: define, load, run.
export {
  defineScenario,
  loadScenario,
  privilegedRefusal,
  type BakeScenario,
  type BuildScenario,
  type KnownIssue,
  type Scenario,
  type StepsScenario,
  type VerifyScenario,
} from './scenario/index.ts';
export { runScenario, type SessionOptions, type Step, type StepsContext, type StepVerifyOptions } from './scenario/index.ts';
// Platforms, how this host runs them, and what they must print.
export {
  formatPlatform,
  KNOWN_PLATFORMS,
  normalizePlatform,
  parsePlatform,
  parsePlatformList,
  platformSlug,
  samePlatform,
  type Platform,
} from './platform/index.ts';
export { classify, judge, unameMachine, type ExecutionMode, type Expectation, type PlatformExecution } from './platform/index.ts';
// The host and the engine.
export { probeHost, type BinfmtHandler, type HostProbe, type PlacedNode } from './host/index.ts';
export { platformBuildTimes } from './build/index.ts';
export { parseNodeOption, type EngineNode, type NodeSpec } from './engine/index.ts';
// Reading binaries without running them.
export { checkBinary, readElf, type ElfInfo } from './image/index.ts';
// Results and reporters.
export {
  CHECK_NAMES,
  type CheckName,
  type CheckResult,
  type PlatformResult,
  type Reference,
  type SessionReport,
  type StepResult,
  type TargetResult,
} from './result/index.ts';
export {
  checkReportDestinations,
  parseReporter,
  renderHtml,
  renderJUnit,
  renderMarkdown,
  renderTerminal,
  stdoutReporter,
  type ReporterSpec,
} from './report/index.ts';
// A program of one's own that runs scenarios, as the command line does: progress on stderr, the
// matrices printed and the reports written, signals and errors handled.
export { printProgress, publishReports, runAsCommand } from './cli/index.ts';
// Errors the harness reports as one sentence.
export { HarnessError, UsageError, EnvironmentError } from './base/index.ts';
// The old names ("run" named the whole invocation; it is a session now), kept for one release.
/** @deprecated use SessionOptions */
export type RunOptions = SessionOptions;
/** @deprecated use SessionReport */
export type RunReport = SessionReport;
