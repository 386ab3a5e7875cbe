/**
 * What a test's code prints with console.log and console.error, captured afresh for each test of the
 * file that asks (the arrays are emptied, never replaced, so they can be destructured once), and the
 * console and any stubbed variable put back after each test.
 */
import { afterEach, beforeEach, vi } from 'vitest';

export function captureConsole(): { out: string[]; err: string[] } {
  const printed = { out: [] as string[], err: [] as string[] };
  beforeEach(() => {
    printed.out.length = 0;
    printed.err.length = 0;
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
      printed.out.push(a.join(' '));
    });
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => {
      printed.err.push(a.join(' '));
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });
  return printed;
}
