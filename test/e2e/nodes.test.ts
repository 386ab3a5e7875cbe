// Platforms placed on another engine (--node), against the two engines setup/prepare-host.sh runs
// on this host: a verified platform runs there and its result says so; a build scenario builds on a
// builder with a node per engine; neither engine keeps anything afterwards; a node that does not
// answer, or a malformed --node, is one sentence and exit 2.
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import { findClassicEngine } from '../../scenarios/support/classic-engine.ts';
import { SESSION_LABEL } from '../../harness/session/session.ts';
import type { SessionReport } from '../../harness/result/model.ts';
import { cli, harnessLeftovers, ROOT } from './helpers.ts';

const ALPINE = '127.0.0.1:5001/library/alpine:latest';
let second = '';
/** The engine this process talks to, as a report names it: DOCKER_HOST, else "default". */
const first = process.env.DOCKER_HOST || 'default';

/** What the second engine holds: containers, images, networks, volumes. */
async function secondEngineState(): Promise<string> {
  const env = { DOCKER_HOST: second };
  const parts = await Promise.all([
    execa('docker', ['ps', '-aq'], { env }),
    execa('docker', ['images', '-q', '--no-trunc'], { env }),
    execa('docker', ['network', 'ls', '-q'], { env }),
    execa('docker', ['volume', 'ls', '-q'], { env }),
  ]);
  return parts.map((p) => p.stdout.split('\n').sort().join(' ')).join(' | ');
}

async function json(file: string): Promise<SessionReport> {
  return JSON.parse(await readFile(file, 'utf8')) as SessionReport;
}

beforeAll(async () => {
  const classic = await findClassicEngine();
  expect(classic.state, 'setup/prepare-host.sh starts the second engine').toBe('ready');
  second = classic.host;
});

describe('--node', () => {
  test('a platform placed on the second engine runs there, its result says so, and neither engine keeps anything', async () => {
    const before = await secondEngineState();
    const file = `${ROOT}reports/e2e-nodes-verify.json`;
    const r = await cli([
      'verify',
      ALPINE,
      '--platform',
      'linux/amd64,linux/arm64,linux/s390x',
      '--node',
      `linux/arm64,linux/s390x=${second}`,
      '--expect-uname',
      '--command',
      'uname',
      '--command=-m',
      '--json',
      file,
      '--quiet',
    ]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const report = await json(file);
    expect(report.platforms.map((p) => [p.platform, p.node, p.status])).toEqual([
      ['linux/amd64', first, 'pass'],
      ['linux/arm64', second, 'pass'],
      ['linux/s390x', second, 'pass'],
    ]);
    expect(r.stdout).toMatch(new RegExp(`linux/arm64 .* ${second.replace(/[/.]/g, '\\$&')} +aarch64`));
    // The pinned images it pulled there, its containers and its probe images are gone; the first engine is clean too.
    expect(await secondEngineState()).toBe(before);
    expect((await execa('docker', ['ps', '-aq', '--filter', `label=${SESSION_LABEL}`], { env: { DOCKER_HOST: second } })).stdout).toBe('');
    expect(await harnessLeftovers()).toEqual([]);
  });

  test('a build scenario builds on a builder with a node per engine, each platform on its node, and removes it from both', async () => {
    const before = await secondEngineState();
    const file = `${ROOT}reports/e2e-nodes-build.json`;
    const r = await cli([
      'run',
      'scenarios/hello-go-cross-scratch.ts',
      '--platform',
      'linux/amd64,linux/arm64,linux/riscv64',
      '--node',
      `linux/arm64,linux/riscv64=${second}`,
      '--json',
      file,
      '--quiet',
    ]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const report = await json(file);
    const builder = new RegExp(
      `builder of 2 member\\(s\\).*?: (mah-[0-9a-f]+-members)0 on ${first.replace(/[/.]/g, '\\$&')} \\(linux/amd64\\); \\1 ?1 on (\\S+) \\(linux/arm64, linux/riscv64\\)`,
    ).exec(report.notes.join('\n'));
    expect(builder, report.notes.join('\n')).not.toBeNull();
    expect(builder![2]).toBe(second);
    const name = builder![1]!;
    expect(report.platforms.map((p) => [p.platform, p.node, p.builtOn, p.status])).toEqual([
      ['linux/amd64', first, `${name}0`, 'pass'],
      ['linux/arm64', second, `${name}1`, 'pass'],
      ['linux/riscv64', second, `${name}1`, 'pass'],
    ]);
    for (const p of report.platforms) expect(p.buildMs, p.platform).toBeGreaterThan(0);
    expect((await execa('docker', ['buildx', 'ls', '--format', '{{.Name}}'])).stdout).not.toContain(name);
    expect(await secondEngineState()).toBe(before);
    expect(await harnessLeftovers()).toEqual([]);
  });

  test('a node that does not answer, and a malformed --node, are one sentence and exit 2, leaving nothing', async () => {
    const dead = await cli([
      'verify',
      ALPINE,
      '--platform',
      'linux/arm64',
      '--node',
      'linux/arm64=unix:///run/multiarch-harness/nobody.sock',
      '--quiet',
    ]);
    expect(dead.exitCode).toBe(2);
    expect(dead.stderr.trim()).toBe(
      'multiarch-harness: The node unix:///run/multiarch-harness/nobody.sock (for linux/arm64) cannot be used: no Docker engine answers there (nothing listens on its socket).',
    );
    expect(dead.stderr).not.toMatch(/\n\s+at /);
    for (const bad of ['linux/arm64', 'linux/arm64=', 'linux/arm64=http://x', 'linux//arm64=unix:///x.sock']) {
      const r = await cli(['verify', ALPINE, '--node', bad, '--quiet']);
      expect(r.exitCode, bad).toBe(2);
      expect(r.stderr.trim().split('\n')[0], bad).toMatch(/--node|platform/i);
    }
    const twice = await cli(['verify', ALPINE, '--node', `linux/arm64=${second}`, '--node', 'linux/arm64=unix:///x.sock', '--quiet']);
    expect(twice.stderr).toMatch(/linux\/arm64 is placed on two nodes/);
    expect(await harnessLeftovers()).toEqual([]);
  });
});
