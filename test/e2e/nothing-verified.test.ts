// `verify` never passes with nothing verified: an empty OCI index pushed to the run's own registry
// (no platform, no attestation) fails with exit code 1 and one sentence, in the terminal matrix and
// in the JSON and JUnit reports; a platform asked for that the index does not list fails its index
// check. Nothing is built: the index is PUT by hand.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SESSION_LABEL, Session } from '../../harness/session/session.ts';
import { startRegistry, type LocalRegistry } from '../../harness/session/local-registry.ts';
import type { SessionReport } from '../../harness/result/model.ts';
import { cli, ROOT } from './helpers.ts';

const ctx = new Session();
let registry: LocalRegistry;
let dir: string;
let image: string;
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

async function verify(...args: string[]): Promise<{ code: number | undefined; report: SessionReport; stdout: string; stderr: string }> {
  const file = join(dir, `verify-${Math.random().toString(36).slice(2, 8)}.json`);
  const r = await cli(['verify', image, '--quiet', '--reporter', `json=${file}`, ...args]);
  // Without colour, whatever the environment asks for.
  const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');
  return {
    code: r.exitCode,
    report: JSON.parse(await readFile(file, 'utf8')) as SessionReport,
    stdout: plain(r.stdout),
    stderr: plain(r.stderr),
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-nothing-'));
  registry = await startRegistry(ctx);
  image = `${registry.address}/empty:latest`;
  const mediaType = 'application/vnd.oci.image.index.v1+json';
  const put = await fetch(`http://${registry.address}/v2/empty/manifests/latest`, {
    method: 'PUT',
    headers: { 'Content-Type': mediaType },
    body: JSON.stringify({ schemaVersion: 2, mediaType, manifests: [] }),
  });
  expect(put.status, await put.text()).toBe(201);
}, 5 * 60_000);

afterAll(async () => {
  await ctx.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('nothing verified', () => {
  test('verify of an empty index fails: exit code 1, one sentence, in every report', async () => {
    const junit = join(dir, 'empty.junit.xml');
    const { code, report, stdout, stderr } = await verify('--reporter', `junit=${junit}`);
    const sentence = `Nothing was verified: the index ${image} lists no platform (attestation manifests, unknown/unknown, are not platforms).`;
    expect(code, `${stdout}\n${stderr}`).toBe(1);
    expect(report.platforms).toEqual([]);
    expect(report.failures).toEqual([sentence]);
    expect(report.summary).toEqual({ passed: 0, failed: 1, skipped: 0 });
    expect(stdout).toMatch(new RegExp(`^FAIL  ${re(sentence)}$`, 'm'));
    expect(stdout).toMatch(/^0 passed, 1 failed, 0 skipped in /m);
    expect(stdout).not.toMatch(/^0 passed, 0 failed/m);
    expect(`${stdout}\n${stderr}`).not.toMatch(/^\s+at /m);
    expect(stderr).not.toMatch(/internal error/);
    const xml = await readFile(junit, 'utf8');
    expect(xml).toMatch(/<testsuites name="multiarch-harness" tests="1" failures="1"/);
    expect(xml).toContain(`type="run">${sentence}</failure>`);
    const valid = await execa('xmllint', ['--noout', '--schema', `${ROOT}schemas/junit.xsd`, junit], { reject: false });
    expect(valid.exitCode, valid.stderr).toBe(0);
  });

  test('a platform asked for that the empty index does not list fails its index check', async () => {
    const { code, report, stdout } = await verify('--platform', 'linux/amd64');
    expect(code).toBe(1);
    expect(report.platforms.map((p) => [p.platform, p.status, p.checks.index.status])).toEqual([['linux/amd64', 'fail', 'fail']]);
    expect(report.platforms[0]!.message).toBe('index: the index has no entry for linux/amd64 (it lists nothing)');
    expect(stdout).toMatch(/^linux\/amd64: index: the index has no entry for linux\/amd64 \(it lists nothing\)$/m);
    expect(report.summary.failed).toBe(1);
  });

  test("leaves nothing of its own behind (only this test's registry carries a run label)", async () => {
    const r = await execa('docker', ['ps', '-a', '--filter', `label=${SESSION_LABEL}`, '--format', `{{.Label "${SESSION_LABEL}"}}`]);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([ctx.id]);
  });
});
