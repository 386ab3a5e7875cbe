/**
 * The one error base of the harness. A HarnessError is reported by the CLI as one sentence with
 * exit code 2: the user's input is wrong (kind "usage") or the host cannot do what was asked (kind
 * "environment"). `transient` says the same operation may succeed if tried again; withRetry reads
 * it. Any other error reaching the CLI is a bug ("internal error").
 */
export type ErrorKind = 'usage' | 'environment';

export class HarnessError extends Error {
  override name = 'HarnessError';
  readonly transient: boolean;

  constructor(
    message: string,
    readonly kind: ErrorKind,
    options: { transient?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.transient = options.transient ?? false;
  }
}

/** The user's input is wrong: a malformed platform, a missing Dockerfile, an unknown option. */
export class UsageError extends HarnessError {
  override name = 'UsageError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, 'usage', options);
  }
}

/** The host cannot do what was asked: no engine, an unreachable registry, a failed command. */
export class EnvironmentError extends HarnessError {
  override name = 'EnvironmentError';
  constructor(message: string, options: { transient?: boolean; cause?: unknown } = {}) {
    super(message, 'environment', options);
  }
}
