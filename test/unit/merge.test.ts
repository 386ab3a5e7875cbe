import { describe, expect, test } from 'vitest';
import { UsageError } from '../../harness/base/errors.ts';
import { formatPlatform, KNOWN_PLATFORMS, parsePlatform } from '../../harness/platform/platform.ts';
import { mergeReports, type ShardReport } from '../../harness/report/merge.ts';
import { fail, pass, skip, summarize, type PlatformResult, type SessionReport, type StepResult } from '../../harness/result/model.ts';
import { shardPlatforms, type Shard } from '../../harness/result/shard.ts';

const DIGEST = 'sha256:' + 'a'.repeat(64);
const OTHER = 'sha256:' + 'b'.repeat(64);
const host = { engine: '26.1.5', native: 'linux/amd64', imageStore: 'containerd', kernel: '6.1' };

const result = (platform: string, status: PlatformResult['status'] = 'pass'): PlatformResult => ({
  platform,
  mode: platform === 'linux/amd64' ? 'native' : 'qemu',
  status,
  expected: `Hello, ${platform}!`,
  output: status === 'pass' ? `Hello, ${platform}!` : '',
  durationMs: 100,
  checks: {
    index: pass(),
    config: pass(),
    binary: pass(),
    run: status === 'pass' ? pass('ok') : status === 'fail' ? fail('exit 1') : skip('cannot run'),
  },
  ...(status === 'pass' ? {} : { message: status === 'fail' ? 'exit 1' : 'cannot run' }),
});

/** Every known platform, some failing and one skipped, in the order an unsharded verify lists them. */
const ALL: PlatformResult[] = KNOWN_PLATFORMS.map(formatPlatform).map((p) =>
  result(p, p === 'linux/s390x' ? 'fail' : p === 'linux/loong64' ? 'skip' : 'pass'),
);

const report = (platforms: PlatformResult[], extra: Partial<ShardReport> = {}): ShardReport => ({
  schemaVersion: 2,
  kind: 'verify',
  scenario: 'verify-hello',
  title: 'verify 127.0.0.1:5000/hello:1',
  startedAt: '2026-11-27T10:00:00.000Z',
  durationMs: 1000,
  host,
  image: { ref: '127.0.0.1:5000/hello:1', digest: DIGEST, mediaType: 'application/vnd.oci.image.index.v1+json', buildMs: 0 },
  platforms,
  summary: summarize(platforms),
  notes: ['a note every run writes'],
  ...extra,
});

/** The shard `index/total` of the unsharded run: its platforms, as the shard job would have found them. */
function shardOf(shard: Shard, extra: Partial<ShardReport> = {}): ShardReport {
  const mine = new Set(
    shardPlatforms(
      ALL.map((r) => parsePlatform(r.platform)),
      shard,
    ).map(formatPlatform),
  );
  return report(
    ALL.filter((r) => mine.has(r.platform)),
    { shard, ...extra },
  );
}

function usageError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('mergeReports', () => {
  test('two shards merge into the unsharded report, apart from timings', () => {
    const whole = report(ALL);
    const one = shardOf({ index: 1, total: 2 }, { startedAt: '2026-11-27T10:00:05.000Z', durationMs: 700 });
    const two = shardOf({ index: 2, total: 2 }, { startedAt: '2026-11-27T10:00:02.000Z', durationMs: 900 });
    expect(one.platforms.length + two.platforms.length).toBe(13);
    for (const inputs of [
      [one, two],
      [two, one],
    ]) {
      const merged = mergeReports(inputs, ['a.json', 'b.json']);
      expect(merged).not.toHaveProperty('shard');
      const { startedAt, durationMs, ...rest } = merged;
      const { startedAt: _s, durationMs: _d, shard: _sh, ...expected } = whole as ShardReport;
      expect(rest).toEqual(expected);
      expect(startedAt).toBe('2026-11-27T10:00:02.000Z');
      expect(durationMs).toBe(900);
    }
  });

  test('platforms in KNOWN_PLATFORMS order, then the unknown ones alphabetically', () => {
    const merged = mergeReports([
      report([result('linux/s390x'), result('windows/amd64'), result('linux/amd64')], { shard: { index: 1, total: 2 } }),
      report([result('linux/arm64'), result('freebsd/amd64')], { shard: { index: 2, total: 2 } }),
    ]);
    expect(merged.platforms.map((p) => p.platform)).toEqual([
      'linux/amd64',
      'linux/arm64',
      'linux/s390x',
      'freebsd/amd64',
      'windows/amd64',
    ]);
  });

  test('the summary is counted again, steps follow input order, notes come once', () => {
    const step = (title: string, status: StepResult['status']): StepResult => ({
      section: '1.4.2',
      title,
      commands: [],
      observed: [],
      differences: [],
      status,
      failures: [],
      durationMs: 1,
    });
    const a = report([result('linux/amd64'), result('linux/arm64', 'fail')], {
      shard: { index: 1, total: 2 },
      summary: { passed: 99, failed: 99, skipped: 99 },
      steps: [step('first', 'pass')],
      notes: ['n1', 'n2'],
    });
    const b = report([result('linux/riscv64', 'skip')], {
      shard: { index: 2, total: 2 },
      steps: [step('second', 'fail')],
      notes: ['n2', 'n3'],
    });
    const merged = mergeReports([a, b]);
    expect(merged.summary).toEqual({ passed: 2, failed: 2, skipped: 1 });
    expect(merged.steps!.map((s) => s.title)).toEqual(['first', 'second']);
    expect(merged.notes).toEqual(['n1', 'n2', 'n3']);
  });

  test('refuses a report of another digest, naming both', () => {
    const message = usageError(() =>
      mergeReports(
        [shardOf({ index: 1, total: 2 }), shardOf({ index: 2, total: 2 }, { image: { ...report([]).image!, digest: OTHER } })],
        ['a.json', 'b.json'],
      ),
    );
    expect(message).toBe(
      `shard 2/2 (b.json) checked ${OTHER}, but shard 1/2 (a.json) checked ${DIGEST}: only shard reports of one image can be merged.`,
    );
  });

  test('without digests, refuses another verify target or another scenario', () => {
    const noImage = (extra: Partial<ShardReport>): ShardReport => {
      const r = report([], extra);
      delete r.image;
      return r;
    };
    expect(
      usageError(() =>
        mergeReports([
          noImage({ shard: { index: 1, total: 2 } }),
          noImage({ shard: { index: 2, total: 2 }, title: 'verify 127.0.0.1:5000/hello:2' }),
        ]),
      ),
    ).toMatch(/^shard 2\/2 checked 127\.0\.0\.1:5000\/hello:2, but shard 1\/2 checked 127\.0\.0\.1:5000\/hello:1: /);
    expect(
      usageError(() =>
        mergeReports([noImage({ kind: 'build', scenario: 'hello-go-qemu' }), noImage({ kind: 'build', scenario: 'hello-go-cross' })]),
      ),
    ).toMatch(/^report 2 ran the build scenario "hello-go-cross", but report 1 ran the build scenario "hello-go-qemu": /);
  });

  test('refuses a platform in two reports, naming it and both', () => {
    const one = shardOf({ index: 1, total: 2 });
    const two = shardOf({ index: 2, total: 2 });
    two.platforms = [...two.platforms, one.platforms[0]!];
    expect(usageError(() => mergeReports([one, two], ['a.json', 'b.json']))).toBe(
      `${one.platforms[0]!.platform} is in both shard 1/2 (a.json) and shard 2/2 (b.json): every platform must be in exactly one of the merged reports.`,
    );
    // unsharded reports too: the same platform found twice is refused
    expect(
      usageError(() => mergeReports([report([result('linux/arm64')]), report([result('linux/arm64')])], ['x.json', 'y.json'])),
    ).toMatch(/^linux\/arm64 is in both report 1 \(x\.json\) and report 2 \(y\.json\)/);
  });

  test('refuses a missing shard, a doubled one, and shards of different matrices', () => {
    const s = (index: number, total: number): ShardReport => report([], { shard: { index, total } });
    expect(usageError(() => mergeReports([s(1, 3), s(3, 3)]))).toBe(
      'shard 2/3 is missing: only shards 1/3 and 3/3 were given, and every shard of the matrix must be merged.',
    );
    expect(usageError(() => mergeReports([s(2, 4)]))).toMatch(/^shards 1\/4, 3\/4 and 4\/4 are missing: only shard 2\/4 was given/);
    expect(usageError(() => mergeReports([s(1, 2), s(2, 2), s(1, 2)], ['a.json', 'b.json', 'c.json']))).toBe(
      'shard 1/2 is given twice, as shard 1/2 (a.json) and as shard 1/2 (c.json): give each shard once.',
    );
    expect(usageError(() => mergeReports([s(1, 2), s(2, 3)]))).toMatch(/^shard 2\/3 is one of 3 shards, but shard 1\/2 is one of 2/);
    expect(usageError(() => mergeReports([s(1, 2), report([])]))).toMatch(/^report 2 is not a shard report, but shard 1\/2 is/);
    expect(usageError(() => mergeReports([s(3, 2), s(1, 2)]))).toMatch(/^shard 3\/2 has no valid shard: /);
    expect(usageError(() => mergeReports([]))).toMatch(/at least one report/);
  });

  test("different hosts: the first host is kept and a note lists each shard's", () => {
    const arm = { ...host, native: 'linux/arm64', engine: '27.3.1' };
    const merged = mergeReports([shardOf({ index: 1, total: 2 }), shardOf({ index: 2, total: 2 }, { host: arm })], ['a.json', 'b.json']);
    expect(merged.host).toEqual(host);
    expect(merged.notes.at(-1)).toBe(
      "The shards ran on different hosts: shard 1/2 (a.json) on linux/amd64 (engine 26.1.5), shard 2/2 (b.json) on linux/arm64 (engine 27.3.1); the host above is the first one's.",
    );
    // the same host: no such note
    expect(mergeReports([shardOf({ index: 1, total: 2 }), shardOf({ index: 2, total: 2 })]).notes).toEqual(['a note every run writes']);
  });

  test('node fields on platforms pass through; the inputs are not changed', () => {
    const one = shardOf({ index: 1, total: 2 });
    const two = shardOf({ index: 2, total: 2 });
    (two.platforms[0] as PlatformResult & { node?: string }).node = 'arm-runner';
    const before = JSON.stringify([one, two]);
    const merged = mergeReports([one, two]);
    expect(merged.platforms.find((p) => p.platform === two.platforms[0]!.platform)).toMatchObject({ node: 'arm-runner' });
    expect(JSON.stringify([one, two])).toBe(before);
  });

  test('one whole report merges into itself', () => {
    const whole: SessionReport = report(ALL);
    expect(mergeReports([whole])).toEqual(whole);
  });
});
