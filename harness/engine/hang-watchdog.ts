/**
 * Hang watchdog for emulated processes. A build step or run under QEMU user-mode emulation that
 * shows no progress for a bounded time (no CPU time used, no output) is a hang. Stop it, say which
 * handler hung so the owner can name the platform and step, and mark it emulator-suspect.
 *
 * Why: Go's 386 toolchain under QEMU 7.2 sat for 20 minutes using no CPU and printing nothing.
 * Its threads blocked every signal, so only SIGKILL ended it. Timeouts on `docker` do not reach it
 * either: the stuck process belongs to the engine, not to us. So we find it ourselves.
 *
 * How emulated processes are found: binfmt_misc handlers registered with the F flag have their
 * interpreter opened by the kernel at registration. So /proc/<pid>/exe of an emulated process is
 * the QEMU binary itself, even inside a container whose filesystem has no QEMU. A process is
 * matched to a handler when stat(/proc/<pid>/exe) has the same device and inode as stat(the
 * handler's interpreter path). CPU time is utime+stime from /proc/<pid>/stat, which the kernel
 * gives for the whole thread group.
 *
 * Limits, by design:
 *  - Only hosts where the engine shares this /proc (a local engine) can be watched.
 *  - Reading another user's /proc/<pid>/exe needs the same uid or root. When we can't read it,
 *    the process is invisible. The watchdog then sees nothing and kills nothing.
 *  - If the interpreter file was replaced after registration (a package upgrade), its path
 *    points to a new inode. Processes still running the old one then don't match.
 *  - All processes of a handler on the host are treated as one group. Another job using the same
 *    emulator on the same host can hide a hang, or be killed with it.
 *  - Busy loops (CPU used, no output) are not hangs here. Only a process that is both silent
 *    and using no CPU is.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** One binfmt_misc handler to watch: its name and the interpreter path it registered. */
export interface WatchedInterpreter {
  handler: string;
  path: string;
}

/** A live process whose executable is one of the watched interpreters. */
export interface EmulatedProcess {
  pid: number;
  handler: string;
  /** rchar + wchar from /proc/<pid>/io, where readable. */
  ioBytes?: number;
  /** utime+stime in clock ticks (usually 1/100 s), for the whole thread group. */
  cpuTicks: number;
}

/** A handler whose processes showed no progress for idleMs and were sent SIGKILL. */
export interface Hang {
  handler: string;
  /** The processes that were killed (or were already gone when the signal was sent). */
  pids: number[];
  /** How long the handler had been without CPU progress or activity, in ms (>= the limit). */
  idleMs: number;
  /** When the hang was declared, as an ISO 8601 time. */
  at: string;
  /** Processes SIGKILL could not be sent to (e.g. EPERM), if any. */
  unkillable?: number[];
}

export interface HangWatchdogOptions {
  interpreters: ReadonlyArray<WatchedInterpreter>;
  /** No CPU progress and no activity for this long is a hang. */
  idleMs: number;
  /** How often to look. Default 10 s. */
  pollMs?: number;
  /** Default '/proc'. Tests pass a fake tree. */
  procDir?: string;
  /** Called once per hang, after the kill. Errors thrown here are swallowed. */
  onHang(h: Hang): void;
  /** Clock in ms. Default Date.now. */
  now?: () => number;
  /** Sends a signal. Default process.kill. Tests inject a recorder so no real signal is sent. */
  kill?: (pid: number, signal: NodeJS.Signals) => void;
  /**
   * Only processes in a matching cgroup (a run's container, BuildKit's steps): never anyone else's.
   * A function is asked at every poll (a container's id is known only once it exists); undefined: nothing to watch yet.
   */
  cgroup?: RegExp | (() => RegExp | undefined);
}

const DEFAULT_HANG_SECONDS = 180;
const DEFAULT_POLL_MS = 10_000;

/**
 * The hang limit in seconds from MULTIARCH_HANG_SECONDS. Default 180. Anything that isn't a
 * finite positive number also gives the default.
 */
export function hangSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MULTIARCH_HANG_SECONDS;
  if (raw === undefined || raw.trim() === '') return DEFAULT_HANG_SECONDS;
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_HANG_SECONDS;
}

/** utime+stime from the text of /proc/<pid>/stat. Undefined if it isn't parseable. */
export function cpuTicksFromStat(text: string): number | undefined {
  // comm (field 2) is in parentheses and may hold spaces and ')': fields resume after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state), so field n is rest[n - 3]: utime (14) and stime (15).
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isSafeInteger(utime) || !Number.isSafeInteger(stime)) return undefined;
  return utime + stime;
}

/**
 * Every process whose executable is one of the interpreters (same device and inode), with its CPU
 * ticks. Processes that vanish or can't be read partway through are skipped. Interpreters whose
 * path doesn't exist are ignored. If two handlers share one file, the first one listed gets its
 * processes.
 */
export async function findEmulatedProcesses(
  interpreters: ReadonlyArray<WatchedInterpreter>,
  procDir = '/proc',
  /** Only processes whose /proc/<pid>/cgroup matches: the watched container's, or BuildKit's steps. */
  cgroup?: RegExp,
): Promise<EmulatedProcess[]> {
  const byFile = new Map<string, string>();
  for (const { handler, path } of interpreters) {
    const s = await stat(path, { bigint: true }).catch(() => undefined);
    if (!s) continue;
    const key = `${s.dev}:${s.ino}`;
    if (!byFile.has(key)) byFile.set(key, handler);
  }
  if (byFile.size === 0) return [];

  const pids = (await readdir(procDir)).filter((name) => /^\d+$/.test(name));
  const found = await Promise.all(
    pids.map(async (name): Promise<EmulatedProcess | undefined> => {
      try {
        const s = await stat(join(procDir, name, 'exe'), { bigint: true });
        const handler = byFile.get(`${s.dev}:${s.ino}`);
        if (handler === undefined) return undefined;
        if (cgroup && !cgroup.test(await readFile(join(procDir, name, 'cgroup'), 'utf8'))) return undefined;
        const cpuTicks = cpuTicksFromStat(await readFile(join(procDir, name, 'stat'), 'utf8'));
        if (cpuTicks === undefined) return undefined;
        // Bytes read and written count as progress too: a step waiting on the network uses no CPU.
        const io = await readFile(join(procDir, name, 'io'), 'utf8').catch(() => '');
        const ioBytes = [...io.matchAll(/^(?:rchar|wchar): (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
        return { pid: Number(name), handler, cpuTicks, ...(io ? { ioBytes } : {}) };
      } catch {
        return undefined; // gone (ENOENT/ESRCH), a kernel thread or zombie, or not ours to read (EACCES)
      }
    }),
  );
  return found.filter((p): p is EmulatedProcess => p !== undefined);
}

interface HandlerState {
  /** Last time this handler showed progress, had activity, or was killed. */
  since: number;
  /** Ticks per pid at the previous poll. */
  ticks: Map<number, number>;
}

/**
 * Watches the processes of some binfmt_misc handlers. It kills (SIGKILL) a handler's processes
 * when, for idleMs, they used no CPU and the owner reported no output (activity()).
 *
 * Progress means any of the handler's processes used CPU since the last poll, or one appeared or
 * went away (a process starting or exiting is progress too). A handler with no processes is never
 * hung; its clock restarts until some appear.
 */
export class HangWatchdog {
  readonly hangs: Hang[] = [];
  private readonly interpreters: ReadonlyArray<WatchedInterpreter>;
  private readonly idleMs: number;
  private readonly pollMs: number;
  private readonly procDir: string;
  private readonly onHang: (h: Hang) => void;
  private readonly now: () => number;
  private readonly kill: (pid: number, signal: NodeJS.Signals) => void;
  private readonly cgroup: HangWatchdogOptions['cgroup'];
  private readonly state = new Map<string, HandlerState>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Bumped by stop(): a poll under way when it was called acts on nothing. */
  private generation = 0;
  private polling: Promise<void> | undefined;

  constructor(options: HangWatchdogOptions) {
    this.interpreters = options.interpreters;
    this.idleMs = options.idleMs;
    this.pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    this.procDir = options.procDir ?? '/proc';
    this.onHang = options.onHang;
    this.now = options.now ?? Date.now;
    this.kill = options.kill ?? ((pid, signal) => process.kill(pid, signal));
    this.cgroup = options.cgroup;
    this.resetAll();
  }

  /** Starts polling every pollMs. The timer is unref()'d, so it never keeps Node alive. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.resetAll();
    this.schedule();
  }

  /** Stops polling. A poll already under way kills nothing and schedules no other. */
  stop(): void {
    this.running = false;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Output arrived for this handler (or for all of them): its idle clock restarts. */
  activity(handler?: string): void {
    const t = this.now();
    if (handler === undefined) {
      for (const s of this.state.values()) s.since = t;
    } else {
      const s = this.state.get(handler);
      if (s) s.since = t;
      else this.state.set(handler, { since: t, ticks: new Map() });
    }
  }

  /**
   * One look at the processes: the timer calls this, and tests call it directly. It never rejects.
   * Calls that overlap share the poll already under way.
   */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce()
      .catch(() => {})
      .finally(() => {
        this.polling = undefined;
      });
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    const generation = this.generation;
    const cgroup = typeof this.cgroup === 'function' ? this.cgroup() : this.cgroup;
    const procs = this.cgroup && !cgroup ? [] : await findEmulatedProcesses(this.interpreters, this.procDir, cgroup);
    if (generation !== this.generation) return;
    const t = this.now();
    const byHandler = new Map<string, Map<number, number>>();
    for (const p of procs) {
      let m = byHandler.get(p.handler);
      if (!m) byHandler.set(p.handler, (m = new Map()));
      // CPU ticks and I/O bytes only ever grow: their sum grows when either does.
      m.set(p.pid, p.cpuTicks + (p.ioBytes ?? 0));
    }
    for (const { handler } of this.interpreters) {
      const s = this.stateOf(handler, t);
      const ticks = byHandler.get(handler) ?? new Map<number, number>();
      if (ticks.size === 0 || progressed(s.ticks, ticks)) {
        s.since = t;
        s.ticks = ticks;
        continue;
      }
      s.ticks = ticks;
      const idle = t - s.since;
      if (idle < this.idleMs) continue;
      this.declareHang(handler, [...ticks.keys()], idle, t);
      s.since = t;
      s.ticks = new Map();
    }
  }

  private declareHang(handler: string, pids: number[], idleMs: number, t: number): void {
    const unkillable: number[] = [];
    for (const pid of pids) {
      try {
        this.kill(pid, 'SIGKILL');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') unkillable.push(pid);
      }
    }
    const hang: Hang = { handler, pids, idleMs, at: new Date(t).toISOString(), ...(unkillable.length ? { unkillable } : {}) };
    this.hangs.push(hang);
    try {
      this.onHang(hang);
    } catch {
      // the owner's handler must not stop the watchdog
    }
  }

  private stateOf(handler: string, t: number): HandlerState {
    let s = this.state.get(handler);
    if (!s) this.state.set(handler, (s = { since: t, ticks: new Map() }));
    return s;
  }

  private resetAll(): void {
    const t = this.now();
    for (const { handler } of this.interpreters) this.state.set(handler, { since: t, ticks: new Map() });
  }

  private schedule(): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer); // a stop() and start() while a poll was under way
    this.timer = setTimeout(() => {
      void this.poll().then(() => this.schedule());
    }, this.pollMs);
    this.timer.unref();
  }
}

/** Whether any process used CPU, started or exited between two polls (any change in ticks counts: a reused pid too). */
function progressed(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): boolean {
  if (before.size !== after.size) return true;
  for (const [pid, ticks] of after) {
    const prev = before.get(pid);
    if (prev === undefined || ticks !== prev) return true;
  }
  return false;
}
