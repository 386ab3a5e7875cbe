/**
 * The door of harness/scenario-files/: what other folders use of it. Another folder imports this module only.
 */
export { compiledScenario, harnessEntry } from './compiled-scenarios.ts';
