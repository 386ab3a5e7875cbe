/**
 * Progress on stderr while a scenario runs. On a terminal: a live table, one row per platform with
 * its state and elapsed time (progress-board.ts), below the progress lines. Otherwise (a CI log, a
 * file): plain lines "[name 12.3s] what is happening", the time since the command started, so a
 * long QEMU build shows it is alive. Under GitHub Actions a scenario's lines are folded into a
 * `::group::` (GitHub reads workflow commands on stderr too), closed when the next scenario's lines
 * start, before the matrix is printed, or before an error's sentence. Once a signal's cleanup has
 * begun, nothing more is printed but the cleanup's own lines.
 */
import { groupEnd, groupStart, isGitHubActions } from '../report/github.ts';
import type { Progress } from '../result/progress.ts';
import { ProgressBoard } from './progress-board.ts';

const started = performance.now();
let stopped = false;
/** The scenario whose ::group:: is open, if one is. */
let openGroup: string | undefined;
let board: ProgressBoard | undefined;
/** The scenario the table is about: the next scenario starts a table of its own. */
let boardOf: string | undefined;

/** A live table only on an interactive terminal, never in CI (whose logs keep every byte). */
export function wantsLiveTable(stream: { isTTY?: boolean } = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && !env.CI && !isGitHubActions(env) && env.TERM !== 'dumb';
}

/** A scenario's progress (SessionOptions.onProgress), printed on stderr under `name` as described above. */
export function printProgress(name: string): Progress {
  const live = wantsLiveTable();
  return (message, platform) => {
    if (stopped) return;
    if (isGitHubActions() && openGroup !== name) {
      endProgressGroup();
      console.error(groupStart(name));
      openGroup = name;
    }
    const line = `[${name} ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}`;
    if (!live) {
      if (message) console.error(line);
      return;
    }
    // Each scenario has a table of its own.
    if (!board || boardOf !== name) {
      board?.close();
      board = new ProgressBoard(process.stderr);
      boardOf = name;
    }
    if (platform) board.update(platform);
    // A platform's own lines (its build steps, its run) are its row of the table; the rest scrolls above.
    else if (message) board.line(line);
  };
}

/** Closes the open ::group:: and the live table, if any: what is printed next is not a scenario's progress. */
export function endProgressGroup(): void {
  board?.close();
  board = undefined;
  boardOf = undefined;
  if (openGroup === undefined) return;
  openGroup = undefined;
  console.error(groupEnd());
}

/** No more progress lines: the process is cleaning up and leaving. */
export function stopProgress(): void {
  endProgressGroup();
  stopped = true;
}

/** True once a signal's cleanup has begun: what fails after that is the signal's doing, not news. */
export function stopping(): boolean {
  return stopped;
}
