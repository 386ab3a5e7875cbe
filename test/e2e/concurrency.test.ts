// `--concurrency N` is a bound on the containers a verify runs at once, read from the engine's own
// event stream (start and die of every container carrying the harness's run label): never more than
// N with --concurrency 2, and more than 2 without it, so the bound is what held them back.
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { SESSION_LABEL } from '../../harness/session/session.ts';
import { cli, harnessLeftovers } from './helpers.ts';

const ALPINE = '127.0.0.1:5001/library/alpine:latest';

/** Runs a verify while listening to the engine's events; the most of its containers running at once. */
async function mostAtOnce(...args: string[]): Promise<number> {
  const events = execa(
    'docker',
    [
      'events',
      '--filter',
      'type=container',
      '--filter',
      'event=start',
      '--filter',
      'event=die',
      '--filter',
      `label=${SESSION_LABEL}`,
      '--format',
      '{{.Action}} {{.Actor.ID}}',
    ],
    { reject: false, buffer: false },
  );
  const running = new Set<string>();
  let most = 0;
  let starts = 0;
  let pending = '';
  events.stdout!.setEncoding('utf8');
  events.stdout!.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const [action, id] = line.trim().split(' ');
      if (!id) continue;
      if (action === 'start') {
        starts++;
        running.add(id);
      } else running.delete(id);
      most = Math.max(most, running.size);
    }
  });
  try {
    // The event stream is live once docker events has connected; a moment for that.
    await new Promise((r) => setTimeout(r, 1000));
    const r = await cli(['verify', ALPINE, '--expect-uname', '--command', 'uname', '--command=-m', '--quiet', ...args]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    events.kill();
    await events.catch(() => undefined);
  }
  expect(starts, 'one container per platform was seen starting').toBeGreaterThanOrEqual(8);
  return most;
}

describe('--concurrency', () => {
  test('bounds the containers running at once', async () => {
    expect(await mostAtOnce('--concurrency', '2')).toBeLessThanOrEqual(2);
    expect(await mostAtOnce('--concurrency', '8')).toBeGreaterThan(2);
    expect(await harnessLeftovers()).toEqual([]);
  });
});
