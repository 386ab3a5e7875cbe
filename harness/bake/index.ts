/**
 * The door of harness/bake/: what other folders use of it. Another folder imports this module only.
 */
export { allowances, bakeAndPush, BakeFailedError } from './bake.ts';
export type { BakePlan } from './bake.ts';
export { bakeFiles, describeFiles, resolveBake } from './bake-file.ts';
export type { BakeTarget } from './bake-file.ts';
