/**
 * Progress on stderr while a scenario runs. On a terminal: a live table, one row per platform with
 * its state and elapsed time (ProgressBoard, below in this module), below the progress lines. Otherwise (a CI log, a
 * file): plain lines "[name 12.3s] what is happening", the time since the command started, so a
 * long QEMU build shows it is alive. Under GitHub Actions a scenario's lines are folded into a
 * `::group::` (GitHub reads workflow commands on stderr too), closed when the next scenario's lines
 * start, before the matrix is printed, or before an error's sentence. Once a signal's cleanup has
 * begun, nothing more is printed but the cleanup's own lines.
 */
import { groupEnd, groupStart, isGitHubActions } from '../base/index.ts';
import { FINAL_STATES, type PlatformState, type Progress } from '../result/index.ts';

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

/**
 * The live table on a terminal: one row per platform with its state and how long it has been at
 * it, redrawn in place below the scrolling progress lines (once a second, so the times move while
 * a long QEMU step prints nothing). Pure apart from the stream it is given.
 */

interface Row {
  state: string;
  /** When the platform's first state arrived. */
  started: number;
  /** When it reached a final state. */
  ended?: number;
}

export interface BoardStream {
  write(text: string): unknown;
  columns?: number;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(0)}s`;

export class ProgressBoard {
  private readonly rows = new Map<string, Row>();
  /** Lines of the table currently on screen (to move back over them). */
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly out: BoardStream,
    private readonly now: () => number = () => performance.now(),
  ) {}

  update(p: PlatformState): void {
    const row = this.rows.get(p.platform);
    const t = this.now();
    const final = FINAL_STATES.includes(p.state);
    this.rows.set(p.platform, { state: p.state, started: row?.started ?? t, ...(final ? { ended: row?.ended ?? t } : {}) });
    this.timer ??= setInterval(() => this.redraw(), 1000).unref();
    this.redraw();
  }

  /** A line that scrolls above the table. */
  line(text: string): void {
    this.out.write(`${this.erase()}${text}\n${this.render()}`);
  }

  redraw(): void {
    this.out.write(`${this.erase()}${this.render()}`);
  }

  /** Removes the table (before the matrix is printed, or an error's sentence) and stops the clock. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.out.write(this.erase());
    this.rows.clear();
  }

  /** The table's text: one line per platform. */
  render(): string {
    if (this.rows.size === 0) {
      this.drawn = 0;
      return '';
    }
    const width = Math.max(...[...this.rows.keys()].map((k) => k.length));
    const max = Math.max(40, (this.out.columns || 120) - 1);
    const lines = [...this.rows].map(([platform, r]) => {
      const elapsed = seconds((r.ended ?? this.now()) - r.started);
      const line = `  ${platform.padEnd(width)}  ${elapsed.padStart(5)}  ${r.state}`;
      return line.length > max ? `${line.slice(0, max - 3)}...` : line;
    });
    this.drawn = lines.length;
    return `${lines.join('\n')}\n`;
  }

  private erase(): string {
    // Up over the table's lines, then clear to the end of the screen.
    return this.drawn ? `\x1b[${this.drawn}F\x1b[J` : '';
  }
}
