/**
 * Progress as the stages report it: a line of text, and, when the line is about one platform, that
 * platform's new state ("building", "running (qemu)", "pass"). A reader that knows nothing of
 * platforms prints the line; the CLI's live table keeps one row per platform from the states.
 */
export interface PlatformState {
  platform: string;
  /** What the platform is doing now, in a few words; "pass", "fail" or "skip" once it is done. */
  state: string;
}

export type Progress = (message: string, platform?: PlatformState) => void;

/** The states that end a platform's progress. */
export const FINAL_STATES: readonly string[] = ['pass', 'fail', 'skip', 'xfail', 'xpass'];
