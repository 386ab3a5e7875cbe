/**
 * The door of harness/run-check/: what other folders use of it. Another folder imports this module only.
 */
export { runCheck, runsTheImage } from './run-check.ts';
export { DEFAULT_RUN_NETWORK, assertNetworkExists, networkName } from './run-network.ts';
