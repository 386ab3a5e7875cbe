/**
 * The public API: what a user's scenarios and code, the vitest helpers, and this repository's own
 * scenarios import. Nothing outside this list is promised to stay.
 */
import type { SessionOptions } from './scenario/run-scenario.ts';
import type { SessionReport } from './result/model.ts';
// Scenarios: define, load, run.
export {
  defineScenario,
  loadScenario,
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
export { findClassicEngine, type ClassicEngine } from './host/classic-engine.ts';
export { docker, type CommandResult, type DockerOptions } from './engine/docker.ts';
export { platformBuildTimes } from './engine/build-progress.ts';
export { onEngine, type EngineEndpoint } from './engine/engine-scope.ts';
export { parseNodeOption, resolveNode, type EngineNode, type NodeSpec } from './engine/nodes.ts';
export type { PlacedNode } from './checks/placement.ts';
// Reading binaries without running them.
export { readElf, type ElfInfo } from './image/elf.ts';
export { checkBinary } from './image/binary-rules.ts';
// Results and reporters.
export { CHECK_NAMES, type CheckName, type CheckResult, type PlatformResult, type SessionReport, type StepResult } from './result/model.ts';
export { renderHtml } from './report/html.ts';
export { renderJUnit } from './report/junit.ts';
export { renderMarkdown } from './report/markdown.ts';
export { renderTerminal } from './report/terminal.ts';
// Errors the harness reports as one sentence.
export { HarnessError, UsageError, EnvironmentError } from './errors.ts';
// The old names ("run" named the whole invocation; it is a session now), kept for one release.
/** @deprecated use SessionOptions */
export type RunOptions = SessionOptions;
/** @deprecated use SessionReport */
export type RunReport = SessionReport;
