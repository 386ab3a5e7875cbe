// `verify docker-daemon:NAME` (issue 27): an image of the current engine's store, all its platforms on
// the containerd store. The hello sample, cross-compiled onto scratch for golang:1.20-alpine's 7
// platforms, is built by the engine's default builder (the docker driver, which on the containerd
// store loads a multi-platform image) with --load, and verified from the store with no registry of
// the harness running: the engine exports it whole (this host's engine is Docker 26.1, API 1.45; the
// store holds every platform after --load), each platform runs from the store by the image's id with
// its platform, never pulled or loaded, and the user's image is still there afterwards, as it was. The
// verdicts are those of the same image pushed to a registry. The classic-store engine verifies a
// single-platform image of its own store. (API 1.48's listing and per-platform export, and 26.1's
// refusal of a partly pulled image, are unit-tested: test/unit/image-source/daemon-source.test.ts.)
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SessionReport } from '../../harness/result/model.ts';
import { startRegistry } from '../../harness/session/local-registry.ts';
import { Session, SESSION_LABEL } from '../../harness/session/session.ts';
import { findClassicEngine } from '../../scenarios/support/classic-engine.ts';
import { GOLANG_ALPINE_PLATFORMS } from '../../scenarios/support/upstream-platforms.ts';
import { cli, harnessLeftovers, ROOT } from './helpers.ts';
import { engineNative } from './support/host-facts.ts';
import { expectAllPass, loadedImages, registriesRunning, verdicts, type Verdicts } from './support/local-image-checks.ts';

const SEVEN = GOLANG_ALPINE_PLATFORMS;
const CONTEXT = `${ROOT}samples/hello-go`;
const DOCKERFILE = `${ROOT}samples/hello-go/Dockerfile.cross-scratch`;
const EXPECT = ['--expect-output', 'Hello, {os}/{goarch}!'];
/** The user's images: on the containerd store (7 platforms), and on the classic-store engine (one). */
const NAME = `mah-e2e-daemon-hello-${process.pid}:seven`;
const ONE = `mah-e2e-daemon-hello-${process.pid}:one`;

const ctx = new Session();
let classicEnv: Record<string, string> | undefined;
/** A foreign platform (run under QEMU): the classic-store engine's one. */
let foreign: string;
/** Each verify's scratch folders go here (TMPDIR), so the test sees that none is left. */
let scratchRoot: string;
let verdictsOfDaemon: Verdicts | undefined;

/** `docker buildx build --load` of the sample by the engine's default builder (the docker driver), no attestations. */
async function buildLoad(platforms: readonly string[], tag: string, env: Record<string, string> = {}): Promise<void> {
  const r = await execa(
    'docker',
    [
      'buildx',
      'build',
      '--builder',
      'default',
      '--platform',
      platforms.join(','),
      '--provenance=false',
      '--load',
      '-t',
      tag,
      '-f',
      DOCKERFILE,
      CONTEXT,
    ],
    { reject: false, env, timeout: 30 * 60_000 },
  );
  expect(r.exitCode, r.stderr).toBe(0);
}

async function verify(image: string, args: string[] = [], env: Record<string, string> = {}) {
  const file = `${ROOT}reports/e2e-daemon-images-${Math.random().toString(36).slice(2, 8)}.json`;
  const r = await cli(['verify', image, '--quiet', '--json', file, ...args], { TMPDIR: scratchRoot, ...env });
  const report = JSON.parse(await readFile(file, 'utf8')) as SessionReport;
  return { code: r.exitCode, report, out: `${r.stdout}\n${r.stderr}` };
}

/** The harness's scratch folders left in the verifies' TMPDIR (mah-<kind>-...): none once a verify is over. */
async function scratchLeft(): Promise<string[]> {
  return (await readdir(scratchRoot)).filter((n) => n.startsWith('mah-'));
}

/** An image's id in an engine's store, or undefined where it has none. */
async function imageId(ref: string, env: Record<string, string> = {}): Promise<string | undefined> {
  const r = await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', ref], { reject: false, env });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

beforeAll(async () => {
  const native = await engineNative();
  foreign = native === 'linux/arm64' ? 'linux/amd64' : 'linux/arm64';
  scratchRoot = await mkdtemp(join(tmpdir(), 'mah-daemon-images-'));
  await buildLoad(SEVEN, NAME);
}, 30 * 60_000);

afterAll(async () => {
  await ctx.cleanup();
  await execa('docker', ['image', 'rm', NAME], { reject: false });
  if (classicEnv) await execa('docker', ['image', 'rm', ONE], { reject: false, env: classicEnv });
  await rm(scratchRoot, { recursive: true, force: true });
});

describe("verify an image of the engine's store (docker-daemon:)", () => {
  test('7 platforms on the containerd store pass all four checks with no registry; the image is still there, as it was, and nothing of the harness is left', async () => {
    const before = await imageId(NAME);
    expect(before).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await registriesRunning()).toEqual([]);
    const image = `docker-daemon:${NAME}`;
    const { code, report, out } = await verify(image, EXPECT);
    expect(code, out).toBe(0);
    expect(report.kind).toBe('verify');
    expect(report.title).toBe(`verify ${image}`);
    expect(report.host.imageStore).toBe('containerd');
    expectAllPass(report, SEVEN);
    verdictsOfDaemon = verdicts(report);
    // The user's image: never removed, never replaced.
    expect(await imageId(NAME)).toBe(before);
    expect(await loadedImages()).toEqual([]);
    expect(await registriesRunning()).toEqual([]);
    expect(await harnessLeftovers()).toEqual([]);
    // The archive the engine exported went with the session.
    expect(await scratchLeft()).toEqual([]);
  });

  test('a tag not given is latest, and an image the store lacks is one sentence, exit 2', async () => {
    const none = `mah-e2e-daemon-none-${process.pid}`;
    const r = await cli(['verify', `docker-daemon:${none}`, '--quiet'], { TMPDIR: scratchRoot });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(2);
    expect(r.stderr.trim()).toBe(
      `multiarch-harness: docker-daemon:${none}: the engine has no image ${none}:latest (docker image ls lists what it has).`,
    );
    expect(await scratchLeft()).toEqual([]);
  });

  test('the same image pushed to a registry gets the same verdicts, platform by platform and check by check', async () => {
    expect(verdictsOfDaemon, 'the first test verified the image').toBeDefined();
    const registry = await startRegistry(ctx);
    const pushed = `${registry.address}/hello-daemon:test`;
    await execa('docker', ['tag', NAME, pushed]);
    try {
      // The containerd store pushes the whole index: every platform is in the store.
      const push = await execa('docker', ['push', pushed], { reject: false });
      expect(push.exitCode, push.stderr).toBe(0);
    } finally {
      // Only the name goes: the content is the user's image's too.
      await execa('docker', ['image', 'rm', pushed], { reject: false });
    }
    const { code, report, out } = await verify(pushed, EXPECT);
    expect(code, out).toBe(0);
    expect(verdicts(report)).toEqual(verdictsOfDaemon);
    expect(await imageId(NAME)).toMatch(/^sha256:/);
  });

  test('the classic-store engine: a single-platform image of its store, run from there and kept', async () => {
    const classic = await findClassicEngine();
    expect(classic.state, 'setup/prepare-host.sh starts the classic-store engine').toBe('ready');
    classicEnv = { DOCKER_HOST: classic.host };
    await buildLoad([foreign], ONE, classicEnv);
    const before = await imageId(ONE, classicEnv);
    expect(before).toMatch(/^sha256:[0-9a-f]{64}$/);
    const { code, report, out } = await verify(`docker-daemon:${ONE}`, EXPECT, classicEnv);
    expect(code, out).toBe(0);
    expect(report.host.imageStore).toBe('classic');
    expectAllPass(report, [foreign]);
    expect(await imageId(ONE, classicEnv)).toBe(before);
    expect(await loadedImages(classicEnv)).toEqual([]);
    // Nothing of the session is left on that engine either.
    const left = (await execa('docker', ['ps', '-aq', '--filter', `label=${SESSION_LABEL}`], { env: classicEnv })).stdout.trim();
    expect(left).toBe('');
    expect(await scratchLeft()).toEqual([]);
  });
});
