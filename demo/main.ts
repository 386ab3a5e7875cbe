/**
 * The demo's command line (`npm run demo`, or `node dist/demo/main.js` once built): every scenario of
 * the reference article, in its order, and reports/demo-article.md.
 *
 *   node dist/demo/main.js [--reporter R[=FILE]]... [--json FILE] [--cached] [--allow-privileged] [--quiet]
 *
 * Exit codes as the harness's own commands: 0 every scenario passed, 1 a check failed, 2 a usage or
 * environment error (one sentence). A signal cleans up the scenario in progress.
 */
import { parseArgs } from 'node:util';
import { parseReporter, runAsCommand, stdoutReporter, UsageError } from 'multiarch-harness';
import { runDemo } from './demo-command.ts';

const NAME = 'demo';

const USAGE = [
  'usage: node dist/demo/main.js [options]     (npm run demo prepares the host and builds first)',
  '',
  'Every scenario of the reference article, in its order, and reports/demo-article.md.',
  '',
  'options:',
  '  --reporter R[=FILE]  also write report R (repeatable); FILE - writes it to stdout, and the matrix then goes to stderr',
  '  --json FILE          short for --reporter json=FILE (default: reports/demo.json)',
  '  --cached             let BuildKit use its cache (builds are cold otherwise, for honest timings)',
  '  --allow-privileged   1.4.1 runs tonistiigi/binfmt privileged, so only with it',
  '  --quiet              no progress lines on stderr',
  '  -h, --help           this usage',
  '',
  'reporters: terminal (the matrix, always; on stdout), json, junit, markdown (appended to $GITHUB_STEP_SUMMARY when set), html',
  'exit: 0 every platform passed every check, 1 a check failed (or a platform cannot run here), 2 a usage or environment error',
].join('\n');

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      options: {
        reporter: { type: 'string', multiple: true },
        json: { type: 'string' },
        cached: { type: 'boolean' },
        'allow-privileged': { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nSee 'node dist/demo/main.js --help'.`);
  }
}

process.exitCode = await runAsCommand(NAME, async () => {
  const values = parse(process.argv.slice(2));
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const reporters = (values.reporter ?? []).map(parseReporter);
  if (values.json) reporters.push({ name: 'json', file: values.json });
  // More than one report on stdout is refused here, before any work.
  stdoutReporter(reporters);
  return runDemo({
    reporters,
    cached: Boolean(values.cached),
    allowPrivileged: Boolean(values['allow-privileged']),
    quiet: Boolean(values.quiet),
  });
});
