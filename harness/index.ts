/**
 * The public API: what a user's scenarios and programs, the vitest helpers, and this repository's
 * own scenarios and demo import. Nothing outside this list is promised to stay. Tools that prepare
 * a host (binfmt_misc handlers, images another process prepares) are in the second door,
 * `multiarch-harness/prepare` (prepare.ts).
 */
import type { SessionOptions } from './scenario/run-scenario.ts';
import type { SessionReport } from './result/model.ts';
// Scenarios: define, load, run.
export {
  defineScenario,
  loadScenario,
  privilegedRefusal,
  type BuildScenario,
  type KnownIssue,
  type Scenario,
  type StepsScenario,
  type VerifyScenario,
} from './scenario/define.ts';
export { runScenario, type SessionOptions } from './scenario/run-scenario.ts';
export type { Step, StepsContext, StepVerifyOptions } from './scenario/steps.ts';
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
} from './platform/platform.ts';
export { classify, type ExecutionMode, type PlatformExecution } from './platform/execution-mode.ts';
export { judge, unameMachine, type Expectation } from './platform/expectations.ts';
// The host and the engine.
export { probeHost, type HostProbe } from './host/probe.ts';
export type { BinfmtHandler } from './host/binfmt.ts';
export { platformBuildTimes } from './engine/build-progress.ts';
export { parseNodeOption, type EngineNode, type NodeSpec } from './engine/nodes.ts';
export type { PlacedNode } from './checks/placement.ts';
// Reading binaries without running them.
export { readElf, type ElfInfo } from './image/elf.ts';
export { checkBinary } from './image/binary-rules.ts';
// Results and reporters.
export {
  CHECK_NAMES,
  type CheckName,
  type CheckResult,
  type PlatformResult,
  type Reference,
  type SessionReport,
  type StepResult,
} from './result/model.ts';
export { renderHtml } from './report/html.ts';
export { renderJUnit } from './report/junit.ts';
export { renderMarkdown } from './report/markdown.ts';
export { renderTerminal } from './report/terminal.ts';
export { checkReportDestinations, parseReporter, stdoutReporter, type ReporterSpec } from './report/write.ts';
// A program of one's own that runs scenarios, as the command line does: progress on stderr, the
// matrices printed and the reports written, signals and errors handled.
export { printProgress } from './cli/progress.ts';
export { publishReports } from './cli/output.ts';
export { runAsCommand } from './cli/command-line.ts';
// Errors the harness reports as one sentence.
export { HarnessError, UsageError, EnvironmentError } from './errors.ts';
// The old names ("run" named the whole invocation; it is a session now), kept for one release.
/** @deprecated use SessionOptions */
export type RunOptions = SessionOptions;
/** @deprecated use SessionReport */
export type RunReport = SessionReport;
