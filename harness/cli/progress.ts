/**
 * Progress lines on stderr while a scenario runs: "[name 12.3s] what is happening", the time since
 * the command started, so a long QEMU build shows it is alive. Under GitHub Actions a scenario's
 * lines are folded into a `::group::` (GitHub reads workflow commands on stderr too), closed when
 * the next scenario's lines start, before the matrix is printed, or before an error's sentence.
 * Once a signal's cleanup has begun, nothing more is printed but the cleanup's own lines.
 */
import { groupEnd, groupStart, isGitHubActions } from '../report/github.ts';

const started = performance.now();
let stopped = false;
/** The scenario whose ::group:: is open, if one is. */
let openGroup: string | undefined;

export function progressPrinter(name: string): (message: string) => void {
  return (message) => {
    if (stopped) return;
    if (isGitHubActions() && openGroup !== name) {
      endProgressGroup();
      console.error(groupStart(name));
      openGroup = name;
    }
    console.error(`[${name} ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}`);
  };
}

/** Closes the open ::group::, if any: what is printed next is not a scenario's progress. */
export function endProgressGroup(): void {
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
