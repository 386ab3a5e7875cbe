// The live progress table: a row per platform with its state and elapsed time, redrawn in place
// under the lines that scroll; only on an interactive terminal, never in CI.
import { describe, expect, test } from 'vitest';
import { ProgressBoard } from '../../harness/cli/progress.ts';
import { wantsLiveTable } from '../../harness/cli/progress.ts';

function screen() {
  let text = '';
  return {
    out: {
      write: (s: string) => {
        text += s;
      },
      columns: 60,
    },
    text: () => text,
  };
}

describe('ProgressBoard', () => {
  test('one row per platform, its state and time; finished platforms keep their time; redraws erase the old table', () => {
    let now = 0;
    const s = screen();
    const b = new ProgressBoard(s.out, () => now);
    b.update({ platform: 'linux/amd64', state: 'building' });
    b.update({ platform: 'linux/arm/v7', state: 'building' });
    now = 12_000;
    b.update({ platform: 'linux/amd64', state: 'pass' });
    now = 95_000;
    b.update({ platform: 'linux/arm/v7', state: 'building: RUN go build -o hello . and a very long tail of words' });
    expect(b.render()).toBe('  linux/amd64     12s  pass\n  linux/arm/v7    95s  building: RUN go build -o hello ....\n');
    // Each redraw moves up over the two lines drawn before and clears them.
    expect(s.text()).toContain('\x1b[2F\x1b[J');
    b.line('[demo 95.0s] registry is up');
    expect(s.text()).toMatch(/\x1b\[2F\x1b\[J\[demo 95\.0s\] registry is up\n {2}linux\/amd64/);
    b.close();
    expect(s.text().endsWith('\x1b[2F\x1b[J')).toBe(true);
    expect(b.render()).toBe('');
  });
});

describe('wantsLiveTable', () => {
  test('a terminal, outside CI and GitHub Actions', () => {
    expect(wantsLiveTable({ isTTY: true }, {})).toBe(true);
    expect(wantsLiveTable({ isTTY: false }, {})).toBe(false);
    expect(wantsLiveTable({ isTTY: true }, { CI: 'true' })).toBe(false);
    expect(wantsLiveTable({ isTTY: true }, { GITHUB_ACTIONS: 'true' })).toBe(false);
    expect(wantsLiveTable({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
  });
});
