/**
 * The set-up's docker commands: the docker CLI through execa, arguments as an array, output
 * captured. A failure (or a command that outlives its bound: 15 min, MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS,
 * as the harness's own commands) throws one sentence, marked `transient` when the CLI's words say a
 * registry or the network failed for a moment (retry.ts tries those again).
 */
import { execa } from 'execa';

export interface DockerResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

export interface DockerOptions {
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  /** When false, a non-zero exit is returned instead of thrown. Default true. */
  check?: boolean;
}

/** What the docker CLI prints when a registry or the network failed for a moment (the harness reads the same words). */
const TRANSIENT_OUTPUT =
  /\b(500|502|503|504) (Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout)\b|Internal Server Error|invalid checksum digest format|connection reset|unexpected EOF|i\/o timeout|TLS handshake timeout|ECONNRESET|temporarily unavailable|toomanyrequests|429 Too Many Requests/i;

/** A docker command that failed; `transient` when running it again may work. */
class DockerFailure extends Error {
  override name = 'DockerFailure';
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

const defaultTimeoutMs = () => Number(process.env.MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS) || 15 * 60_000;

export async function docker(args: readonly string[], options: DockerOptions = {}): Promise<DockerResult> {
  const r = await execa('docker', args, {
    reject: false,
    timeout: options.timeoutMs ?? defaultTimeoutMs(),
    ...(options.env ? { env: options.env } : {}),
    stdin: 'ignore',
    maxBuffer: 256 * 1024 * 1024,
  });
  const result: DockerResult = { exitCode: r.exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  if ((options.check ?? true) && (result.exitCode !== 0 || r.timedOut)) {
    const command = ['docker', ...args.slice(0, 3)].join(' ');
    if (r.timedOut) throw new DockerFailure(`\`${command} ...\` did not finish in time.`, true);
    const lines = result.stderr
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const last =
      lines.findLast((l) => /error|denied|failed|no such|not found|cannot/i.test(l)) ?? lines.at(-1) ?? `exit code ${result.exitCode}`;
    // An error line names the passing failure, not the progress JSON a build streams.
    const transient = lines.some((l) => !/^\s*[{}"\]]/.test(l) && TRANSIENT_OUTPUT.test(l));
    throw new DockerFailure(`\`${command} ...\` failed: ${last.replace(/^ERROR:\s*/i, '')}`, transient);
  }
  return result;
}
