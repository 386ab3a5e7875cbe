/**
 * The docker CLI, where the engine has no API (dockerCli(): buildx and manifest), and a steps
 * scenario's own docker commands (docker(): the subject under test, whatever they are), on the
 * engine the current work is placed on. A failed command is an EngineError that keeps its result.
 */
import { describeFailure, execCommand, type CommandResult, type ExecOptions } from '../base/index.ts';

export type { CommandResult } from '../base/index.ts';
import { EngineError } from './engine-error.ts';
import { placedVariables } from './engine-scope.ts';

export type DockerOptions = ExecOptions;

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
    const r = await execCommand('docker', args, { ...options, ...(env ? { env } : {}), check: false });
    if ((options.check ?? true) && (r.exitCode !== 0 || r.timedOut)) throw new EngineError(describeFailure(r), { result: r });
    return r;
  } finally {
    inFlight--;
  }
}

let inFlight = 0;

/** How many docker commands of this process are running now (a cleanup with none in flight sweeps once). */
export function dockerCommandsInFlight(): number {
  return inFlight;
}
