/**
 * The door of harness/cli/: what other folders use of it. Another folder imports this module only.
 */
export { runAsCommand } from './command-line.ts';
export { publishReports } from './output.ts';
export { printProgress } from './progress.ts';
