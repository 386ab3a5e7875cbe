/**
 * The one place the harness starts a process: the docker CLI (docker()) and any other program
 * (execCommand(): QEMU's --version, credential helpers). Arguments are always an array (never a
 * shell string), output is captured, and failures become a DockerError that carries the result.
 */
import { BOUNDS, boundMs, formatBound } from '../bounds.ts';
import { EnvironmentError } from '../errors.ts';
import { placedVariables } from './engine-scope.ts';

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

export interface DockerOptions {
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
 * What the docker CLI prints when a registry or the network failed for a moment: the same command
 * may succeed if run again. The CLI gives no other signal than its text, so it is read here, once.
 */
const TRANSIENT_OUTPUT =
  /\b(500|502|503|504) (Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout)\b|Internal Server Error|invalid checksum digest format|connection reset|unexpected EOF|i\/o timeout|TLS handshake timeout|ECONNRESET|temporarily unavailable|toomanyrequests|429 Too Many Requests/i;

/** A docker command failed (or timed out); the result is kept for whoever wants the details. */
export class DockerError extends EnvironmentError {
  override name = 'DockerError';
  constructor(
    message: string,
    readonly result: CommandResult,
    transient = transientFailure(result),
  ) {
    super(message, { transient });
  }
}

/** Whether an engine's or registry's sentence names a passing failure (engine-api.ts reads the API's errors with it too). */
export function transientText(text: string): boolean {
  return TRANSIENT_OUTPUT.test(text);
}

/**
 * Whether a failed command's own words say "try again": its timeout, or an error line (not the
 * progress JSON a build streams, whose byte counts and log text would match anything) naming a
 * passing network or registry failure.
 */
function transientFailure(r: CommandResult): boolean {
  if (r.timedOut) return true;
  return r.stderr.split('\n').some((line) => !/^\s*[{}"\]]/.test(line) && TRANSIENT_OUTPUT.test(line));
}

/**
 * Runs `docker ...args`, on the engine the current work is placed on (engine-scope.ts) unless the
 * caller names one in `env`.
 */
export async function docker(args: readonly string[], options: DockerOptions = {}): Promise<CommandResult> {
  const placed = placedVariables();
  const env = placed ? { ...placed, ...options.env } : options.env;
  inFlight++;
  try {
    return await execCommand('docker', args, { ...options, ...(env ? { env } : {}) });
  } finally {
    inFlight--;
  }
}

let inFlight = 0;

/** How many docker commands of this process are running now (a cleanup with none in flight sweeps once). */
export function dockerCommandsInFlight(): number {
  return inFlight;
}

/**
 * Every command is bounded: one that does not say how long it may take gets the dockerCommand bound
 * (15 min, or MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS: bounds.ts). An engine that stops answering then
 * ends the run with a sentence instead of a hang.
 */
export async function execCommand(file: string, args: readonly string[], options: DockerOptions = {}): Promise<CommandResult> {
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
    throw new DockerError(describeFailure(result), result);
  }
  return result;
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
