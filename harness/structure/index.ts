/**
 * The door of harness/structure/: what other folders use of it. Another folder imports this module only.
 */
export { structureTestsCheck } from './structure-tests-check.ts';
