/**
 * The door of harness/verify/: what other folders use of it. Another folder imports this module only.
 */
export { verifyPlatforms } from './verify.ts';
