/**
 * The library: what scenarios, user code and the vitest helpers import.
 */
export { defineScenario, loadScenario, type BuildScenario, type Scenario, type VerifyScenario } from './scenario.ts';
export { runScenario, type RunOptions } from './runner.ts';
export { probeHost, type HostProbe } from './host-probe.ts';
export { classify, type ExecutionMode, type PlatformExecution } from './execution-mode.ts';
export { formatPlatform, normalizePlatform, parsePlatform, parsePlatformList, type Platform } from './platform.ts';
export { readElf, type ElfInfo } from './elf.ts';
export { checkBinary } from './binary-check.ts';
export type { Expectation } from './expectations.ts';
export type { CheckName, CheckResult, PlatformResult, RunReport } from './report/types.ts';
export { renderHtml } from './report/html.ts';
export { renderJUnit } from './report/junit.ts';
export { renderMarkdown } from './report/markdown.ts';
export { renderTerminal } from './report/terminal.ts';
