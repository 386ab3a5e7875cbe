/**
 * The door of harness/report/: what other folders use of it. Another folder imports this module only.
 */
export { renderAnnotations } from './github.ts';
export { renderHtml } from './html.ts';
export { renderJUnit } from './junit.ts';
export { renderMarkdown } from './markdown.ts';
export { mergeReports } from './merge.ts';
export { renderTerminal } from './terminal.ts';
export { checkReportDestinations, parseReporter, stdoutReporter, writeReportFile, writeReports } from './write.ts';
export type { ReporterSpec } from './write.ts';
