/**
 * The door of harness/scenario/: what other folders use of it. Another folder imports this module only.
 */
export { defineScenario, loadScenario, privilegedRefusal } from './define.ts';
export type { BakeScenario, BuildScenario, KnownIssue, Scenario, StepsScenario, VerifyScenario } from './define.ts';
export { runScenario } from './run-scenario.ts';
export type { SessionOptions } from './run-scenario.ts';
export type { Step, StepVerifyOptions, StepsContext } from './steps.ts';
