/**
 * The one place the harness starts a process: the docker CLI where the engine has no API
 * (dockerCli(): buildx and manifest), a steps scenario's own docker commands (docker(): the
 * subject under test, whatever they are), and any other program (execCommand(): QEMU's --version,
 * credential helpers, buildx's version). Arguments are always an array (never a shell string),
 * output is captured, and failures become an EngineError that carries the result.
 */
import { BOUNDS, boundMs, formatBound } from '../bounds.ts';
import { EngineError } from './engine-error.ts';
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

/** The docker CLI commands that have no engine API: everything else the harness asks goes through client.ts. */
const CLI_ONLY = new Set(['buildx', 'manifest']);

/** `docker buildx ...` or `docker manifest ...` on the engine the current work is placed on (engine-scope.ts). */
export function dockerCli(args: readonly string[], options: DockerOptions = {}): Promise<CommandResult> {
  if (!CLI_ONLY.has(args[0] ?? '')) throw new Error(`docker ${args[0]} has an engine API: ask it through engine/client.ts`);
  return docker(args, options);
}

/**
 * Runs `docker ...args`, on the engine the current work is placed on (engine-scope.ts) unless the
 * caller names one in `env`: a steps scenario's own commands (scenario/steps.ts), which are the
 * subject under test, and dockerCli's.
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
    throw new EngineError(describeFailure(result), { result });
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
