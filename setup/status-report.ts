/**
 * `npm run status`: what this repository's set-up left beside the engine, which the harness's own
 * `doctor` does not know about: the second engine with the classic image store (for the article's
 * --load error), and the stand-in build the set-up may still be running in the background.
 *
 *   node bin/run-ts.mjs setup/status-report.ts
 */
import { pathToFileURL } from 'node:url';
import { isRunning, lastLogLine, readPreparationFailure, readPreparing } from 'multiarch-harness/prepare';
import { findClassicEngine, type ClassicEngine } from '../scenarios/support/classic-engine.ts';

/** One line on the second engine with the classic image store (for the article's --load error). */
export function describeClassicEngine(c: ClassicEngine): string {
  if (c.state === 'ready') return `classic-store engine: ${c.version} at ${c.host} (shows the article's --load error)`;
  if (c.state === 'broken') return `classic-store engine: ${c.why}`;
  return `classic-store engine: none at ${c.host} (setup/prepare-host.sh starts one; the article's --load error is then shown for real)`;
}

/** The line on the set-up's background stand-in build: running, failed or stopped; undefined when there is none. */
export async function describeBackground(dir?: string): Promise<string | undefined> {
  const b = await readPreparing(dir);
  if (b && (await isRunning(b))) {
    const now = (await lastLogLine(b.log, b.refs[0] ?? '')) || 'starting';
    return `stand-ins: ${b.refs.join(', ')} being built in the background since ${b.started} (pid ${b.pid}, log ${b.log}): ${now}; a docker-container builder waits for it`;
  }
  if (b)
    return `stand-ins: the background build of ${b.refs.join(', ')} stopped before it finished (log ${b.log}); \`bash setup/prepare-host.sh\` builds it again`;
  const failed = await readPreparationFailure(dir);
  if (failed)
    return `stand-ins: the background build of ${failed.refs.join(', ')} failed: ${failed.message} (log ${failed.log}); \`bash setup/prepare-host.sh\` tries again`;
  return undefined;
}

async function main(): Promise<void> {
  const background = await describeBackground();
  console.log([describeClassicEngine(await findClassicEngine()), ...(background ? [background] : [])].join('\n'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
