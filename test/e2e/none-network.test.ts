/**
 * A run on no network (the harness's default) skips the engine's network sandbox where the engine
 * is on this machine, and writes the files the engine leaves out then (engine/none-network.ts).
 * Proved here against the real engine: a program sees the same /etc/hosts, the same resolver lines
 * and the same interfaces as under `docker run --network none`; the harness's files are the ones
 * mounted (else this test proves nothing), and are gone afterwards. An engine that cannot see the
 * files (here: the harness in a mount namespace of its own, with a private /tmp) refuses the mount,
 * and the run goes on plain none with the engine's own files.
 */
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SessionReport } from '../../harness/result/model.ts';
import { CLI, ROOT, cli, harnessLeftovers } from './helpers.ts';

const IMAGE = '127.0.0.1:5001/library/alpine:latest';
const PLATFORMS = ['linux/amd64', 'linux/arm64'];
// What a program sees: hosts, the resolver's lines (not its comments), the interfaces, where /etc/hosts and /etc/resolv.conf come from.
const SCRIPT =
  'cat /etc/hosts; echo ==; grep -v "^#" /etc/resolv.conf | grep .; echo ==; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "; echo ==; ' +
  'grep -E " /etc/(hosts|resolv.conf) " /proc/self/mountinfo | cut -d" " -f4';
let dir: string;

const sections = (output: string) =>
  output
    .trim()
    .split(/^==$/m)
    .map((s) => s.trim());
const networkFolders = async () => (await readdir(tmpdir())).filter((n) => n.startsWith('mah-network-'));

const present = async () => (await execa('docker', ['image', 'inspect', IMAGE], { reject: false })).exitCode === 0;

/** What `docker run --network none` shows; the image it pulls is removed again (other tests expect it absent). */
async function dockerNone(platform: string): Promise<string[]> {
  const had = await present();
  try {
    const r = await execa('docker', ['run', '--rm', '--network', 'none', '--platform', platform, IMAGE, 'sh', '-c', SCRIPT]);
    return sections(r.stdout);
  } finally {
    if (!had) await execa('docker', ['image', 'rm', IMAGE]);
  }
}

async function harnessOutputs(label: string, prefix: string[] = [], env: Record<string, string> = {}): Promise<Map<string, string[]>> {
  const json = join(dir, `${label}.json`);
  const args = [
    'verify',
    IMAGE,
    '--platform',
    PLATFORMS.join(','),
    '--command',
    'sh',
    '--command=-c',
    `--command=${SCRIPT}`,
    '--quiet',
    '--json',
    json,
  ];
  const r = prefix.length
    ? await execa(prefix[0]!, [...prefix.slice(1), 'node', CLI, ...args], { cwd: ROOT, reject: false, env })
    : await cli(args);
  expect(r.stderr).toBe('');
  expect(r.exitCode).toBe(0);
  const report = JSON.parse(await readFile(json, 'utf8')) as SessionReport;
  return new Map(report.platforms.map((p) => [p.platform, sections(p.output ?? '')]));
}

// Not under /tmp, where the harness's own files go: the second test hides that from the engine.
beforeAll(async () => {
  dir = await mkdtemp(join('/var/tmp', 'mah-none-network-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  expect(await harnessLeftovers()).toEqual([]);
});

describe('a run on no network', () => {
  test("sees what docker run --network none shows, from the harness's files, removed afterwards", async () => {
    const before = await networkFolders();
    const outputs = await harnessOutputs('local');
    for (const platform of PLATFORMS) {
      const [hosts, resolver, interfaces, sources] = outputs.get(platform)!;
      const [dHosts, dResolver, dInterfaces, dSources] = await dockerNone(platform);
      expect(hosts).toBe(dHosts);
      expect(resolver).toBe(dResolver);
      expect(interfaces).toBe(dInterfaces);
      expect(interfaces).toBe('lo');
      // The engine's own files come from its containers folder; the harness's from its scratch folder.
      expect(dSources!.split('\n')).toEqual([
        expect.stringMatching(/\/containers\/[0-9a-f]{64}\/hosts$|\/containers\/[0-9a-f]{64}\/resolv\.conf$/),
        expect.stringMatching(/\/containers\//),
      ]);
      expect(sources!.split('\n').sort()).toEqual([
        expect.stringMatching(/\/mah-network-[^/]+\/[^/]+\.hosts$/),
        expect.stringMatching(/\/mah-network-[^/]+\/[^/]+\.resolv\.conf$/),
      ]);
    }
    expect((await networkFolders()).filter((n) => !before.includes(n))).toEqual([]);
  });

  test("an engine that cannot see the harness's files refuses them, and the run goes on plain none", async () => {
    // The harness in its own mount namespace, its temporary folder a tmpfs only it sees: its files
    // exist where the engine cannot find them. (Not /tmp itself: the checkout may be there.)
    const hidden = join(dir, 'hidden-tmp');
    await mkdir(hidden);
    const outputs = await harnessOutputs(
      'refused',
      ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs mah-private "$TMPDIR" && exec "$@"', 'sh'],
      { TMPDIR: hidden },
    );
    for (const platform of PLATFORMS) {
      const [hosts, resolver, interfaces, sources] = outputs.get(platform)!;
      const [dHosts, dResolver] = await dockerNone(platform);
      expect([hosts, resolver, interfaces]).toEqual([dHosts, dResolver, 'lo']);
      expect(sources).toMatch(/\/containers\/[0-9a-f]{64}\//);
    }
  });
});
