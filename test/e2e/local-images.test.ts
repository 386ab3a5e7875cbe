// `verify` of local images (issue 27), in skopeo's words: the hello sample cross-compiled onto scratch
// for golang:1.20-alpine's 7 platforms and exported by buildx (a docker-container builder: the docker
// driver writes neither export) as an OCI archive (type=oci), as an OCI layout folder (tar=false) and,
// for one platform, as a docker archive (type=docker). Each is verified with no registry of the
// harness running: every platform loaded into the engine under a name of the session, run with its
// platform, and removed afterwards. The verdicts are those of the same build pushed to a registry.
// The classic-store engine, which reads manifest.json where the containerd store reads index.json,
// loads the same archive.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildAndPush } from '../../harness/build/build.ts';
import { parsePlatformList } from '../../harness/platform/platform.ts';
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
const BUILDKIT = 'moby/buildkit:buildx-stable-1';

const ctx = new Session();
const builder = `local-images-${process.pid}`;
let tmp: string;
let hadBuildkit = false;
/** The build platform (this host's), and a foreign one, run under QEMU: the docker archive's one platform. */
let native: string;
let foreign: string;
/** Each local verify's verdicts, by transport: the registry's are compared with them. */
const verdictsOf: Record<string, Verdicts> = {};

/** `docker buildx build` of the sample through the test's builder, with these outputs. */
async function buildx(platforms: readonly string[], output: string): Promise<void> {
  const r = await execa(
    'docker',
    [
      'buildx',
      'build',
      '--builder',
      builder,
      '--platform',
      platforms.join(','),
      '--provenance=false',
      '--output',
      output,
      '-f',
      DOCKERFILE,
      CONTEXT,
    ],
    { reject: false, timeout: 30 * 60_000 },
  );
  expect(r.exitCode, r.stderr).toBe(0);
}

async function verify(image: string, args: string[] = [], env: Record<string, string> = {}) {
  const file = `${ROOT}reports/e2e-local-images-${Math.random().toString(36).slice(2, 8)}.json`;
  const r = await cli(['verify', image, '--quiet', '--json', file, ...args], env);
  const report = JSON.parse(await readFile(file, 'utf8')) as SessionReport;
  return { code: r.exitCode, report, out: `${r.stdout}\n${r.stderr}` };
}

beforeAll(async () => {
  native = await engineNative();
  foreign = native === 'linux/arm64' ? 'linux/amd64' : 'linux/arm64';
  tmp = await mkdtemp(join(tmpdir(), 'mah-local-images-'));
  // The builder pulls BuildKit's image into this engine: removed afterwards unless it was here before.
  hadBuildkit = (await execa('docker', ['image', 'inspect', BUILDKIT], { reject: false })).exitCode === 0;
  // network=host: it reaches the mirror on 127.0.0.1 (buildx gives it the mirror's buildkitd.default.toml) and the registry below.
  await execa('docker', ['buildx', 'create', '--name', builder, '--driver', 'docker-container', '--driver-opt', 'network=host']);
  await buildx(SEVEN, `type=oci,dest=${tmp}/hello.tar`);
  await buildx(SEVEN, `type=oci,dest=${tmp}/hello-oci,tar=false`);
  await buildx([foreign], `type=docker,dest=${tmp}/hello-one.tar,name=hello-local:one`);
}, 30 * 60_000);

afterAll(async () => {
  await ctx.cleanup();
  await execa('docker', ['buildx', 'rm', '-f', builder], { reject: false });
  if (!hadBuildkit) await execa('docker', ['image', 'rm', BUILDKIT], { reject: false });
  await rm(tmp, { recursive: true, force: true });
});

describe('verify a local image', () => {
  test('oci-archive: 7 platforms pass all four checks, with no registry; each loaded platform is gone afterwards', async () => {
    expect(await registriesRunning()).toEqual([]);
    const image = `oci-archive:${tmp}/hello.tar`;
    const { code, report, out } = await verify(image, EXPECT);
    expect(code, out).toBe(0);
    expect(report.kind).toBe('verify');
    expect(report.title).toBe(`verify ${image}`);
    expectAllPass(report, SEVEN);
    verdictsOf['oci-archive'] = verdicts(report);
    expect(await loadedImages()).toEqual([]);
    expect(await registriesRunning()).toEqual([]);
    expect(await harnessLeftovers()).toEqual([]);
  });

  test('oci: the same layout in a folder has the same verdicts', async () => {
    const { code, report, out } = await verify(`oci:${tmp}/hello-oci`, EXPECT);
    expect(code, out).toBe(0);
    expectAllPass(report, SEVEN);
    verdictsOf.oci = verdicts(report);
    expect(verdictsOf.oci).toEqual(verdictsOf['oci-archive']);
    expect(await loadedImages()).toEqual([]);
  });

  test("a container-structure-test file's command tests share each platform's load", async () => {
    const { code, report, out } = await verify(`oci-archive:${tmp}/hello.tar`, [
      '--config',
      `${ROOT}test/e2e/fixtures/structure-tests/hello.yaml`,
    ]);
    expect(code, out).toBe(0);
    for (const p of report.platforms) {
      expect(
        p.structureTests!.map((t) => `${t.kind} ${t.status}`),
        `${p.platform}: ${p.message}`,
      ).toEqual(['command pass', 'file-existence pass', 'file-existence pass', 'file-content pass', 'metadata pass']);
    }
    expect(await loadedImages()).toEqual([]);
  });

  test('the same layout mislabeled (the index says arm64 for the amd64 image and the other way round) fails those two platforms', async () => {
    // A copy whose image index swaps two platforms' descriptors; its blobs are the ones that passed above.
    const layout = `${tmp}/hello-oci-mislabeled`;
    await cp(`${tmp}/hello-oci`, layout, { recursive: true });
    type Descriptor = {
      mediaType: string;
      digest: string;
      size: number;
      platform?: { os: string; architecture: string; variant?: string };
    };
    const blob = (d: string) => `${layout}/blobs/${d.replace(':', '/')}`;
    const top = JSON.parse(await readFile(`${layout}/index.json`, 'utf8')) as { manifests: Descriptor[] };
    const inner = JSON.parse(await readFile(blob(top.manifests[0]!.digest), 'utf8')) as { manifests: Descriptor[] };
    const at = (arch: string) => inner.manifests.findIndex((m) => m.platform?.architecture === arch && !m.platform.variant);
    const [a, b] = [at('amd64'), at('arm64')];
    expect(a).toBeGreaterThanOrEqual(0);
    expect(b).toBeGreaterThanOrEqual(0);
    [inner.manifests[a]!.platform, inner.manifests[b]!.platform] = [inner.manifests[b]!.platform, inner.manifests[a]!.platform];
    const bytes = Buffer.from(JSON.stringify(inner));
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    await writeFile(blob(digest), bytes);
    top.manifests[0] = { ...top.manifests[0]!, digest, size: bytes.length };
    await writeFile(`${layout}/index.json`, JSON.stringify(top));

    const { code, report, out } = await verify(`oci:${layout}`, EXPECT);
    expect(code, out).toBe(1);
    const status = Object.fromEntries(report.platforms.map((p) => [p.platform, p]));
    for (const wrong of ['linux/amd64', 'linux/arm64']) {
      expect(status[wrong]!.status, `${wrong}: ${status[wrong]!.message}`).toBe('fail');
      // The image's own config and its binary say the other architecture.
      expect(status[wrong]!.checks.config.status, wrong).toBe('fail');
      expect(status[wrong]!.checks.binary.status, wrong).toBe('fail');
    }
    for (const p of report.platforms.filter((x) => !['linux/amd64', 'linux/arm64'].includes(x.platform)))
      expect(p.status, `${p.platform}: ${p.message}`).toBe('pass');
    expect(await loadedImages()).toEqual([]);
  });

  test('docker-archive: one platform, as its only image and by its name', async () => {
    for (const image of [`docker-archive:${tmp}/hello-one.tar`, `docker-archive:${tmp}/hello-one.tar:hello-local:one`]) {
      const { code, report, out } = await verify(image, EXPECT);
      expect(code, out).toBe(0);
      expectAllPass(report, [foreign]);
    }
    expect(await loadedImages()).toEqual([]);
    expect(await harnessLeftovers()).toEqual([]);
  });

  test('the same build pushed to a registry gets the same verdicts, platform by platform and check by check', async () => {
    const registry = await startRegistry(ctx);
    const tag = `${registry.address}/hello-local:test`;
    await buildAndPush({
      context: CONTEXT,
      dockerfile: DOCKERFILE,
      platforms: parsePlatformList(SEVEN.join(',')),
      tag,
      builder,
      timeoutMs: 30 * 60_000,
    });
    const { code, report, out } = await verify(tag, EXPECT);
    expect(code, out).toBe(0);
    expect(verdicts(report)).toEqual(verdictsOf['oci-archive']);
    expect(verdicts(report)).toEqual(verdictsOf.oci);
  });

  test('the classic-store engine loads the same archive (it reads manifest.json) and keeps none of it', async () => {
    const classic = await findClassicEngine();
    expect(classic.state, 'setup/prepare-host.sh starts the classic-store engine').toBe('ready');
    const env = { DOCKER_HOST: classic.host };
    const platforms = [native, foreign];
    const { code, report, out } = await verify(`oci-archive:${tmp}/hello.tar`, [...EXPECT, '--platform', platforms.join(',')], env);
    expect(code, out).toBe(0);
    expect(report.host.imageStore).toBe('classic');
    expectAllPass(report, platforms);
    expect(await loadedImages(env)).toEqual([]);
    // Nothing of the session is left on that engine either.
    const left = (await execa('docker', ['ps', '-aq', '--filter', `label=${SESSION_LABEL}`], { env })).stdout.trim();
    expect(left).toBe('');
  });
});
