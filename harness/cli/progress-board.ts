/**
 * The live table on a terminal: one row per platform with its state and how long it has been at
 * it, redrawn in place below the scrolling progress lines (once a second, so the times move while
 * a long QEMU step prints nothing). Pure apart from the stream it is given.
 */
import { FINAL_STATES, type PlatformState } from '../result/progress.ts';

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
