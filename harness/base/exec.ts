/**
 * Every process the harness starts goes through execCommand: arguments always an array (never a
 * shell string), output captured, each command bounded, and a failure a CommandError that keeps
 * the result. The docker CLI's commands go through engine/cli.ts, which turns theirs into the
 * engine's one error.
 */
import { BOUNDS, boundMs, formatBound } from './bounds.ts';
import { EnvironmentError } from './errors.ts';

export interface CommandResult {
  command: string;
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  /** Signal that ended the process, when one did (for example SIGKILL after a timeout). */
  signal: string | undefined;
  /** The bound the command ran under, and whether it was the default one (MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS) rather than the caller's. */
  timeoutMs?: number;
  defaultBound?: boolean;
}

export interface ExecOptions {
  timeoutMs?: number;
  env?: Record<string, string | undefined>;
  cwd?: string;
  input?: string | Uint8Array;
  /** When false, a non-zero exit is returned instead of thrown. Default true. */
  check?: boolean;
  /** Called with each line of stderr as it arrives (progress for long builds). */
  onStderrLine?: (line: string) => void;
  /** Called whenever the command writes anything (a hang watchdog's sign of life). */
  onOutput?: () => void;
}

/**
 * What an engine, a registry or the docker CLI says when a registry or the network failed for a
 * moment: the same request may succeed if made again. There is no other signal than the text, so
 * it is read here, once.
 */
const TRANSIENT_OUTPUT =
  /\b(500|502|503|504) (Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout)\b|Internal Server Error|invalid checksum digest format|connection reset|unexpected EOF|i\/o timeout|TLS handshake timeout|ECONNRESET|temporarily unavailable|toomanyrequests|429 Too Many Requests/i;

/** Whether an engine's or registry's sentence names a passing failure. */
export function transientText(text: string): boolean {
  return TRANSIENT_OUTPUT.test(text);
}

/**
 * Whether a failed command's own words say "try again": its timeout, or an error line (not the
 * progress JSON a build streams, whose byte counts and log text would match anything) naming a
 * passing network or registry failure.
 */
export function transientFailure(r: CommandResult): boolean {
  if (r.timedOut) return true;
  return r.stderr.split('\n').some((line) => !/^\s*[{}"\]]/.test(line) && TRANSIENT_OUTPUT.test(line));
}

/** A command failed (or timed out); the result is kept for whoever wants the details. */
export class CommandError extends EnvironmentError {
  override name = 'CommandError';
  constructor(
    message: string,
    readonly result: CommandResult,
  ) {
    super(message, { transient: transientFailure(result) });
  }
}

/**
 * Every command is bounded: one that does not say how long it may take gets the dockerCommand bound
 * (15 min, or MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS: bounds.ts). An engine that stops answering then
 * ends the run with a sentence instead of a hang.
 */
export async function execCommand(file: string, args: readonly string[], options: ExecOptions = {}): Promise<CommandResult> {
  const started = performance.now();
  // Loaded at the first command: a verify that speaks only to the engine's API never needs it.
  const { execa } = await import('execa');
  const timeoutMs = options.timeoutMs ?? boundMs('dockerCommand');
  const child = execa(file, args, {
    reject: false,
    timeout: timeoutMs,
    env: options.env,
    cwd: options.cwd,
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : undefined,
    stripFinalNewline: true,
    maxBuffer: 256 * 1024 * 1024,
  });
  running.set(child, [file, ...args].join(' '));
  void child.finally(() => running.delete(child));
  if (options.onStderrLine && child.stderr) {
    let pending = '';
    child.stderr.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) options.onStderrLine!(line);
    });
  }
  if (options.onOutput) {
    child.stdout?.on('data', () => options.onOutput!());
    child.stderr?.on('data', () => options.onOutput!());
  }
  const r = await child;
  const result: CommandResult = {
    command: [file, ...args].join(' '),
    exitCode: r.exitCode,
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    durationMs: Math.round(performance.now() - started),
    timedOut: Boolean(r.timedOut),
    signal: r.signal ?? undefined,
    timeoutMs,
    defaultBound: options.timeoutMs === undefined,
  };
  if ((options.check ?? true) && (result.exitCode !== 0 || result.timedOut)) {
    throw new CommandError(describeFailure(result), result);
  }
  return result;
}

/** The commands started by execCommand that have not exited yet. */
const running = new Map<{ kill(signal?: NodeJS.Signals): boolean } & PromiseLike<unknown>, string>();

/**
 * Ends every command this process still runs, and resolves once they have exited: for a program
 * that is ending on a signal, before it removes what it made. A signal sent to the harness alone
 * (not to its process group, as a terminal's Ctrl-C is) leaves its docker commands running, and a
 * build that finishes after the cleanup would create an image nobody removes. Each gets SIGTERM,
 * on which the docker CLI cancels what it asked of the engine, then SIGKILL after `graceMs`.
 * Says which commands it stopped.
 */
export async function stopRunningCommands(graceMs = 10_000): Promise<string[]> {
  const children = [...running];
  if (children.length === 0) return [];
  for (const [c] of children) c.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const all = Promise.allSettled(children.map(([c]) => c));
  const graceOver = await Promise.race([
    all.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), graceMs);
    }),
  ]);
  clearTimeout(timer);
  if (graceOver) {
    for (const [c] of children) c.kill('SIGKILL');
    await all;
  }
  return children.map(([, command]) => command);
}

/** One sentence for a failed command: its last meaningful stderr line. */
export function describeFailure(r: CommandResult): string {
  if (r.timedOut) {
    const within = r.timeoutMs === undefined ? 'its timeout' : formatBound(r.timeoutMs);
    const which = r.defaultBound ? ` (the bound on a command that states none: ${BOUNDS.dockerCommand.variable} sets it)` : '';
    return `\`${shortCommand(r.command)}\` did not finish within ${within}${which}.`;
  }
  if (r.exitCode === undefined && r.signal === undefined)
    return `\`${shortCommand(r.command)}\` could not be started: is the docker CLI installed?`;
  const lines = r.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const last = lines.findLast((l) => /error|denied|failed|no such|not found|cannot/i.test(l)) ?? lines.at(-1) ?? `exit code ${r.exitCode}`;
  return `\`${shortCommand(r.command)}\` failed: ${last.replace(/^ERROR:\s*/i, '')}`;
}

function shortCommand(command: string): string {
  return command.length > 120 ? `${command.slice(0, 117)}...` : command;
}
