/**
 * Errors the CLI reports as one sentence with exit code 2: the user's input is wrong (UsageError)
 * or the host cannot do what was asked (EnvironmentError). Anything else is a bug.
 */
export class UsageError extends Error {
  override name = 'UsageError';
}

export class EnvironmentError extends Error {
  override name = 'EnvironmentError';
}
