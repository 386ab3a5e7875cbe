/**
 * The one error of engine work: an API answer that is not a success (its status and the engine's
 * own words) or a docker CLI command that failed (its result). Callers catch this one class.
 */
import { EnvironmentError, transientFailure, transientText, type CommandResult } from '../base/index.ts';

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
