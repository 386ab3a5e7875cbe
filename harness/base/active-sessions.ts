/**
 * Sessions in progress, so a signal handler can clean them up. Its own small module: the CLI's
 * entry point imports it without loading the scenario runners (and testcontainers) at start.
 */
export interface CleanableSession {
  cleanup(): Promise<string[]>;
}

export const activeSessions = new Set<CleanableSession>();
