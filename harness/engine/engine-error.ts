/**
 * The one error of engine work: an API answer that is not a success (its status and the engine's
 * own words) or a docker CLI command that failed (its result). Callers catch this one class.
 */
import { EnvironmentError } from '../errors.ts';
import type { CommandResult } from './docker.ts';

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
function transientFailure(r: CommandResult): boolean {
  if (r.timedOut) return true;
  return r.stderr.split('\n').some((line) => !/^\s*[{}"\]]/.test(line) && TRANSIENT_OUTPUT.test(line));
}

export class EngineError extends EnvironmentError {
  override name = 'EngineError';
  /** The API's status (the CLI's failures have none). */
  readonly status: number | undefined;
  /** The failed command, kept for whoever wants the details. */
  readonly result: CommandResult | undefined;

  constructor(message: string, o: { status?: number; result?: CommandResult; transient?: boolean } = {}) {
    super(message, {
      transient:
        o.transient ?? (o.result ? transientFailure(o.result) : o.status !== undefined && o.status >= 500 && transientText(message)),
    });
    this.status = o.status;
    this.result = o.result;
  }
}
