/**
 * The door of harness/checks/: what other folders use of it. Another folder imports this module only.
 */
export { binaryCheck } from './binary-verdict.ts';
export { isProblem, notReached } from './check.ts';
export type { Check, CheckOutcome, PlatformContext, VerifyRequest } from './check.ts';
export { configCheck } from './config-check.ts';
export { platformContext } from './context.ts';
export { indexCheck } from './index-check.ts';
export { runReference } from './run-reference.ts';
