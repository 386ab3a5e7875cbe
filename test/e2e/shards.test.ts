// verify --shard 1/2 and 2/2, joined by `report merge`, give the same platform verdicts as one
// unsharded verify; a shard report of another image is refused with a sentence.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SessionReport } from '../../harness/result/model.ts';
import { cli, harnessLeftovers } from './helpers.ts';

const IMAGE = '127.0.0.1:5001/library/alpine:latest';
const OTHER = '127.0.0.1:5001/library/golang:1.20-alpine';
let tmp = '';
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mah-shards-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
  expect(await harnessLeftovers()).toEqual([]);
});

const read = async (f: string) => JSON.parse(await readFile(join(tmp, f), 'utf8')) as SessionReport;
const verdicts = (r: SessionReport) =>
  r.platforms
    .map((p) => ({
      platform: p.platform,
      status: p.status,
      checks: Object.fromEntries(Object.entries(p.checks).map(([k, c]) => [k, c.status])),
    }))
    .sort((a, b) => a.platform.localeCompare(b.platform));
/** verify IMAGE into tmp/json; its exit code, and what did not pass (for an assertion's message). */
async function verify(image: string, json: string, ...rest: string[]): Promise<{ exitCode: number | undefined; why: string }> {
  const r = await cli([
    'verify',
    image,
    '--expect-uname',
    '--command',
    'uname',
    '--command=-m',
    '--json',
    join(tmp, json),
    '--quiet',
    ...rest,
  ]);
  const report = await read(json).catch(() => undefined);
  const failed = (report?.platforms ?? []).flatMap((p) =>
    Object.entries(p.checks)
      .filter(([, c]) => c.status === 'fail')
      .map(([k, c]) => `${p.platform} ${k} (${p.mode}): ${c.message ?? ''}`),
  );
  return { exitCode: r.exitCode, why: [`verify ${json}: exit ${r.exitCode}`, ...failed, r.stderr].join('\n') };
}
const passes = async (r: Promise<{ exitCode: number | undefined; why: string }>) => {
  const { exitCode, why } = await r;
  expect(exitCode, why).toBe(0);
};

describe('shards', () => {
  test('two shards merged give the verdicts of one unsharded verify', async () => {
    await passes(verify(IMAGE, 'whole.json'));
    await passes(verify(IMAGE, 'shard1.json', '--shard', '1/2'));
    await passes(verify(IMAGE, 'shard2.json', '--shard', '2/2'));
    const [whole, one, two] = [await read('whole.json'), await read('shard1.json'), await read('shard2.json')];
    // QEMU says armv7l for arm/v6 and arm/v7 alike: the run check says uname cannot tell them apart.
    const v6 = whole.platforms.find((p) => p.platform === 'linux/arm/v6')!;
    expect(v6.unameTwins).toContain('linux/arm/v7');
    expect(v6.checks.run.message).toMatch(/uname -m alone cannot tell linux\/arm\/v6 from .*linux\/arm\/v7.*so the binary check decided/);
    expect(one.shard).toEqual({ index: 1, total: 2 });
    expect(one.platforms.length + two.platforms.length).toBe(whole.platforms.length);
    expect(one.platforms.map((p) => p.platform).filter((p) => two.platforms.some((q) => q.platform === p))).toEqual([]);
    const merged = await cli([
      'report',
      'merge',
      join(tmp, 'shard2.json'),
      join(tmp, 'shard1.json'),
      '--reporter',
      `json=${join(tmp, 'merged.json')}`,
      '--quiet',
    ]);
    expect(merged.exitCode, merged.stderr).toBe(0);
    const m = await read('merged.json');
    expect(verdicts(m)).toEqual(verdicts(whole));
    expect(m.summary).toEqual(whole.summary);
    expect(m.shard).toBeUndefined();
  });

  test('a shard report of another image is refused, naming both', async () => {
    // Go's source tree carries test programs of other machines (debug/dwarf/testdata, ...): foreign on purpose.
    await passes(
      verify(OTHER, 'other2.json', '--shard', '2/2', '--platforms', 'linux/amd64,linux/arm64', '--allow-foreign', '/usr/local/go/src/**'),
    );
    const r = await cli(['report', 'merge', join(tmp, 'shard1.json'), join(tmp, 'other2.json')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      /^multiarch-harness: .*other2\.json.*(checked|sha256).*shard1\.json|^multiarch-harness: .*shard1\.json.*other2\.json/m,
    );
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
