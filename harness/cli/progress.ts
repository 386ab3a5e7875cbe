/**
 * Progress lines on stderr while a scenario runs: "[name 12.3s] what is happening", the time since
 * the command started, so a long QEMU build shows it is alive. Once a signal's cleanup has begun,
 * nothing more is printed but the cleanup's own lines.
 */
const started = performance.now();
let stopped = false;

export function progressPrinter(name: string): (message: string) => void {
  return (message) => {
    if (stopped) return;
    console.error(`[${name} ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}`);
  };
}

/** No more progress lines: the process is cleaning up and leaving. */
export function stopProgress(): void {
  stopped = true;
}

/** True once a signal's cleanup has begun: what fails after that is the signal's doing, not news. */
export function stopping(): boolean {
  return stopped;
}
