// Distribution 3's rules (registry:3, issue 27 item 4), for real over the network, though NOT against
// registry:3 itself: no package of distribution v3 is reachable here, so the registry is the registry:2
// stand-in (distribution 2.8, started with testcontainers as the run's registry is) behind
// test/e2e/support/v3-rules-proxy.ts, a proxy on 127.0.0.1 that applies three of v3's rules itself: a
// GET or HEAD of an OCI index without its type in Accept is 404 MANIFEST_UNKNOWN, an index PUT before
// its children is 400 MANIFEST_BLOB_UNKNOWN, and there is no referrers API (404).
// (a) An index pushed before its children is refused; children first, it is accepted.
// (b) `verify` through the proxy passes all four checks on every platform of the alpine stand-in
//     (copied in through the proxy, children first): the harness's reads and the engine's pulls send
//     the OCI index type in Accept, or the proxy would have refused them.
// (c) An in-toto attestation of the native platform's manifest, listed under the referrers tag schema's
//     tag (sha256-<hex>): the index check lists it, read through that fallback, and still passes.
// (d) `run` of a small build scenario with --registry-image naming the stand-in by another name passes,
//     and the report names that image.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parsePlatform } from '../../harness/platform/platform.ts';
import type { SessionReport } from '../../harness/result/model.ts';
import { startRegistry, type LocalRegistry } from '../../harness/session/local-registry.ts';
import { Session } from '../../harness/session/session.ts';
import { cli } from './helpers.ts';
import { engineNative } from './support/host-facts.ts';
import { makeImage, pushMade, pushReferrer, sendManifest, tarLayer } from './support/oci-push.ts';
import { copyImage, request, type CopiedImage } from './support/tls-registry.ts';
import { startV3RulesProxy, type V3RulesProxy } from './support/v3-rules-proxy.ts';

/** The engine's Docker Hub mirror (plain HTTP, loopback): the alpine stand-in, and the registry:2 stand-in under its own name. */
const MIRROR = '127.0.0.1:5001';
/** The registry:2 stand-in, named as the mirror serves it: --registry-image's value in (d), another name than the default. */
const REGISTRY_STANDIN = `${MIRROR}/library/registry:2`;
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_TYPES = 'application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json';
const IN_TOTO = 'application/vnd.in-toto+json';

const ctx = new Session();
let backend: LocalRegistry;
let proxy: V3RulesProxy;
let work: string;
let native: string;
let alpine: CopiedImage;
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

async function verify(ref: string, ...args: string[]): Promise<{ code: number | undefined; report: SessionReport; out: string }> {
  const file = join(work, `verify-${randomBytes(4).toString('hex')}.json`);
  const r = await cli(['verify', ref, '--quiet', '--json', file, ...args]);
  const out = `${r.stdout}\n${r.stderr}`;
  return { code: r.exitCode, report: JSON.parse(await readFile(file, 'utf8').catch(() => 'null')) as SessionReport, out };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'mah-v3-rules-'));
  native = await engineNative();
  backend = await startRegistry(ctx);
  proxy = await startV3RulesProxy(backend.address);
  ctx.defer('closing the v3-rules proxy', () => proxy.close());
  // Through the proxy, children first (copyImage puts every blob and child manifest before the index).
  alpine = await copyImage(
    { address: MIRROR, scheme: 'http', repository: 'library/alpine', reference: 'latest' },
    { address: proxy.address, scheme: 'http', repository: 'v3/alpine', tag: 'latest' },
  );
  expect(alpine.entries.length).toBeGreaterThan(1);
  expect(alpine.entries.map((e) => e.platform)).toContain(native);
}, 5 * 60_000);

afterAll(async () => {
  await ctx.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("registry:3's rules, applied by a proxy in front of the registry:2 stand-in (not registry:3 itself)", () => {
  test('(a) an index pushed before its children is refused, 400 MANIFEST_BLOB_UNKNOWN; children first, it is accepted and read back with the OCI type in Accept only', async () => {
    const made = makeImage([{ platform: parsePlatform(native), layers: [await tarLayer([{ path: '/hello.txt', content: 'hello' }])] }]);
    const early = await sendManifest(proxy.address, 'v3/early', 'latest', OCI_INDEX, made.index);
    expect(early.status, early.text).toBe(400);
    expect(JSON.parse(early.text)).toMatchObject({ errors: [{ code: 'MANIFEST_BLOB_UNKNOWN' }] });
    expect(proxy.answered.at(-1)).toMatchObject({ method: 'PUT', path: '/v2/v3/early/manifests/latest', status: 400 });

    expect(await pushMade(proxy.address, 'v3/early', 'latest', made)).toBe(made.digest);
    const url = `http://${proxy.address}/v2/v3/early/manifests/latest`;
    const withoutType = await request('GET', url, { headers: { Accept: `${OCI_MANIFEST}, ${DOCKER_TYPES}` } });
    expect(withoutType.status).toBe(404);
    expect(withoutType.body.toString('utf8')).toContain('MANIFEST_UNKNOWN');
    const withType = await request('GET', url, { headers: { Accept: `${OCI_INDEX}, ${OCI_MANIFEST}` } });
    expect(withType.status).toBe(200);
    expect(withType.headers['docker-content-digest']).toBe(made.digest);
    expect((await request('GET', `http://${proxy.address}/v2/v3/early/referrers/${made.digest}`)).status).toBe(404);
  });

  test('(b) verify through the proxy passes all four checks on every platform: no read and no pull was refused', async () => {
    const before = proxy.answered.length;
    const { code, report, out } = await verify(`${proxy.address}/v3/alpine:latest`, '--expect-uname', '--command', 'uname', '--command=-m');
    expect(code, out).toBe(0);
    expect(report.platforms.map((p) => p.platform).sort()).toEqual(alpine.entries.map((e) => e.platform).sort());
    for (const p of report.platforms) {
      expect(
        Object.values(p.checks).map((c) => c.status),
        `${p.platform}: ${JSON.stringify(p.checks)}`,
      ).toEqual(['pass', 'pass', 'pass', 'pass']);
      expect(p.digest).toBe(alpine.entries.find((e) => e.platform === p.platform)!.digest);
      expect(p.referrers).toBeUndefined();
    }
    const refused = proxy.answered.slice(before);
    // Only the referrers API was answered by the proxy (the harness asked it, and fell back): no manifest was refused.
    expect(refused.filter((a) => a.code !== 'page not found')).toEqual([]);
    expect(refused.some((a) => /^\/v2\/v3\/alpine\/referrers\/sha256:/.test(a.path))).toBe(true);
  });

  test('(c) an attestation under the referrers tag schema: the index check lists it through the fallback, and passes', async () => {
    const entry = alpine.entries.find((e) => e.platform === native)!;
    const head = await request('HEAD', `http://${proxy.address}/v2/v3/alpine/manifests/${entry.digest}`, {
      headers: { Accept: `${OCI_INDEX}, ${OCI_MANIFEST}, ${DOCKER_TYPES}` },
    });
    expect(head.status).toBe(200);
    const subject = { mediaType: String(head.headers['content-type']), digest: entry.digest, size: Number(head.headers['content-length']) };
    const statement = Buffer.from(
      JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { sha256: entry.digest.slice(7) } }] }),
    );
    // Children first through the proxy: its blobs and manifest, then the tag schema's index.
    const attestation = await pushReferrer(proxy.address, 'v3/alpine', subject, IN_TOTO, statement);
    const before = proxy.answered.length;
    const { code, report, out } = await verify(
      `${proxy.address}/v3/alpine:latest`,
      '--platform',
      native,
      '--expect-uname',
      '--command',
      'uname',
      '--command=-m',
    );
    expect(code, out).toBe(0);
    const p = report.platforms.find((r) => r.platform === native)!;
    expect(p.checks.index.status).toBe('pass');
    expect(p.checks.index.message).toMatch(new RegExp(`; referrers: 1 \\(${re(IN_TOTO)}, through the referrers tag schema\\)$`));
    expect(p.referrers).toEqual([{ subject: 'manifest', artifactType: IN_TOTO, digest: attestation, from: 'tag' }]);
    // The referrers API was asked first, and answered 404 by the proxy: the tag was the fallback.
    expect(proxy.answered.slice(before)).toContainEqual(
      expect.objectContaining({ method: 'GET', path: `/v2/v3/alpine/referrers/${entry.digest}`, status: 404 }),
    );
  });

  test('(d) run with --registry-image naming the registry:2 stand-in by its mirror name passes, and the report names that image', async () => {
    const file = join(work, 'run.json');
    const r = await cli([
      'run',
      'scenarios/hello-go-cross.ts',
      '--platform',
      native,
      '--registry-image',
      REGISTRY_STANDIN,
      '--json',
      file,
      '--quiet',
    ]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const report = JSON.parse(await readFile(file, 'utf8')) as SessionReport;
    expect(report.registryImage).toBe(REGISTRY_STANDIN);
    expect(report.platforms.map((p) => [p.platform, p.status])).toEqual([[native, 'pass']]);
    expect(r.stdout).toContain(`, registry ${REGISTRY_STANDIN}`);
  });
});
