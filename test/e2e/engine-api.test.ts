/**
 * The engine's API as the harness reaches it (engine/client.ts, engine/transport.ts), on the real engines: through
 * the CLI's tunnel (`docker system dial-stdio`, what ssh:// and TLS engines use), through a docker
 * context whose endpoint is a unix socket (dialled directly), and an engine that cannot be reached
 * through the tunnel (one sentence, exit 2). Every verify leaves nothing behind, no tunnel process either.
 */
import { execa } from 'execa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SessionReport } from '../../harness/result/model.ts';
import { cli, harnessLeftovers } from './helpers.ts';

const IMAGE = '127.0.0.1:5001/library/alpine:latest';
const CLASSIC = 'unix:///run/multiarch-harness/classic-engine.sock';
const CONTEXT = `mah-e2e-${process.pid}`;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-engine-api-'));
  await execa('docker', ['context', 'create', CONTEXT, '--docker', `host=${CLASSIC}`]);
});
afterAll(async () => {
  await execa('docker', ['context', 'rm', '-f', CONTEXT], { reject: false });
  await rm(dir, { recursive: true, force: true });
  expect(await harnessLeftovers()).toEqual([]);
});

async function verify(label: string, env: Record<string, string | undefined>) {
  const json = join(dir, `${label}.json`);
  const r = await cli(
    [
      'verify',
      IMAGE,
      '--platform',
      'linux/amd64,linux/arm64',
      '--expect-uname',
      '--command',
      'uname',
      '--command=-m',
      '--quiet',
      '--json',
      json,
    ],
    env,
  );
  const report = r.exitCode === 0 ? (JSON.parse(await readFile(json, 'utf8')) as SessionReport) : undefined;
  return { ...r, report };
}

const tunnels = async () => (await execa('pgrep', ['-f', 'docker system dial-stdio'], { reject: false })).stdout.trim();

describe('reaching the engine', () => {
  test("through the CLI's tunnel (dial-stdio): every platform passes, and no tunnel process is left", async () => {
    const r = await verify('tunnel', { MULTIARCH_ENGINE_TUNNEL: '1' });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.report!.platforms.map((p) => [p.platform, p.status, p.output])).toEqual([
      ['linux/amd64', 'pass', 'x86_64'],
      ['linux/arm64', 'pass', 'aarch64'],
    ]);
    expect(await tunnels()).toBe('');
  });

  test('a docker context whose endpoint is a unix socket: the run goes to that engine (the classic store here)', async () => {
    // DOCKER_HOST, where this process has it, would win over the context (as it does for the docker CLI).
    const r = await verify('context', { DOCKER_CONTEXT: CONTEXT, DOCKER_HOST: undefined });
    expect(r.exitCode).toBe(0);
    expect(r.report!.host.imageStore).toBe('classic');
    expect(r.report!.platforms.every((p) => p.status === 'pass')).toBe(true);
  });

  test('an engine the tunnel cannot reach is one sentence and exit 2', async () => {
    const r = await verify('unreachable', { DOCKER_HOST: 'ssh://nobody@127.0.0.1:1' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^multiarch-harness: No Docker engine answers through `docker system dial-stdio` \(.+\)\.?\n?$/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await tunnels()).toBe('');
  });
});
