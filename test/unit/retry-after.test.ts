/**
 * A registry's Retry-After (registry/client.ts): a 429 or 5xx answer that says when to ask again is
 * asked again then, not after the harness's own doubling delay; in seconds or as an HTTP-date; a
 * pause longer than the harness waits for a registry (RETRY_AFTER_MAX_MS, all pauses of one request
 * together) is one sentence at once. A node:http registry on 127.0.0.1; the pauses and the clock are
 * fake (the time that passed is the fake clock's, exactly), the sockets real.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { EnvironmentError } from '../../harness/base/errors.ts';
import { RegistryClient, RETRY_AFTER_MAX_MS, retryAfterMs } from '../../harness/registry/client.ts';
import { settle, startLoopbackServer, type LoopbackServer } from '../support/loopback-server.ts';

const INDEX = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] });
/** A whole second, so that an HTTP-date (whole seconds) names exactly the pause meant. */
const NOW = new Date('2030-01-01T00:00:00.000Z');

/** What each repository answers, in order (the last one again once they ran out); and the requests it got. */
const script = new Map<string, Array<{ status: number; retryAfter?: () => string }>>();
const asked = new Map<string, number>();

function route(req: IncomingMessage, res: ServerResponse): void {
  const repository = /^\/v2\/([^/]+)\//.exec(req.url ?? '')?.[1] ?? '';
  const n = asked.get(repository) ?? 0;
  asked.set(repository, n + 1);
  const answers = script.get(repository) ?? [];
  const answer = answers[Math.min(n, answers.length - 1)];
  if (!answer) {
    res.writeHead(404).end('{}');
    return;
  }
  if (answer.status !== 200) {
    res
      .writeHead(answer.status, answer.retryAfter ? { 'Retry-After': answer.retryAfter() } : {})
      .end('{"errors":[{"code":"TOOMANYREQUESTS"}]}');
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.index.v1+json' }).end(INDEX);
}

let server: LoopbackServer;
let registry: string;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-retry-after-'));
  server = await startLoopbackServer(route);
  registry = server.address;
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  // No credentials of this machine's.
  vi.stubEnv('DOCKER_CONFIG', dir);
  vi.stubEnv('MULTIARCH_REGISTRY_USERNAME', '');
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

/** The manifest's read, and how long it took on the fake clock. */
async function timedManifest(repository: string): Promise<{ waitedMs: number; outcome: unknown }> {
  const started = Date.now();
  const outcome = await settle(new RegistryClient(registry, repository).manifest('latest')).catch((err: unknown) => err);
  return { waitedMs: Date.now() - started, outcome };
}

describe('Retry-After is honoured', () => {
  test('429 with Retry-After in seconds, then 200: asked again exactly when the registry said', async () => {
    script.set('seconds', [{ status: 429, retryAfter: () => '7' }, { status: 200 }]);
    const { waitedMs, outcome } = await timedManifest('seconds');
    expect(outcome).toMatchObject({ body: { manifests: [] } });
    expect(asked.get('seconds')).toBe(2);
    // Not the harness's own first delay (0.5 s): the registry's 7 s.
    expect(waitedMs).toBe(7000);
  });

  test('503 with Retry-After as an HTTP-date, then 200: asked again at that date', async () => {
    script.set('date', [{ status: 503, retryAfter: () => new Date(Date.now() + 12_000).toUTCString() }, { status: 200 }]);
    const { waitedMs, outcome } = await timedManifest('date');
    expect(outcome).toMatchObject({ body: { manifests: [] } });
    expect(asked.get('date')).toBe(2);
    expect(waitedMs).toBe(12_000);
  });

  test('without Retry-After (or one that is neither form), the doubling delay: 0.5 s, 1 s', async () => {
    script.set('plain', [{ status: 429 }, { status: 429, retryAfter: () => 'soon' }, { status: 200 }]);
    const { waitedMs, outcome } = await timedManifest('plain');
    expect(outcome).toMatchObject({ body: { manifests: [] } });
    expect(asked.get('plain')).toBe(3);
    expect(waitedMs).toBe(1500);
  });

  test('a pause longer than the harness waits for a registry: one sentence at once, not asked again', async () => {
    script.set('too-long', [{ status: 429, retryAfter: () => '120' }, { status: 200 }]);
    const { waitedMs, outcome } = await timedManifest('too-long');
    expect(outcome).toBeInstanceOf(EnvironmentError);
    expect((outcome as Error).message).toBe(
      `The registry ${registry} answered 429 (Too Many Requests) to GET http://${registry}/v2/too-long/manifests/latest and asked to be asked again in 120 s (Retry-After), more than the 60 s the harness waits for a registry.`,
    );
    expect(asked.get('too-long')).toBe(1);
    expect(waitedMs).toBe(0);
  });

  test('pauses add up: a second Retry-After that would pass the bound is one sentence, after the first pause only', async () => {
    script.set('adds-up', [{ status: 503, retryAfter: () => '40' }, { status: 503, retryAfter: () => '40' }, { status: 200 }]);
    const { waitedMs, outcome } = await timedManifest('adds-up');
    expect((outcome as Error).message).toBe(
      `The registry ${registry} answered 503 (Service Unavailable) to GET http://${registry}/v2/adds-up/manifests/latest and asked to be asked again in 40 s (Retry-After), more than the 60 s the harness waits for a registry, after 40 s of pauses already.`,
    );
    expect(asked.get('adds-up')).toBe(2);
    expect(waitedMs).toBe(40_000);
  });

  test('still busy after every attempt: the last answer, in one sentence, after the pauses asked for', async () => {
    script.set('busy', [{ status: 429, retryAfter: () => '2' }]);
    const { waitedMs, outcome } = await timedManifest('busy');
    expect((outcome as Error).message).toBe(
      `The registry ${registry} answered 429 (Too Many Requests) to GET http://${registry}/v2/busy/manifests/latest.`,
    );
    expect(asked.get('busy')).toBe(4);
    expect(waitedMs).toBe(3 * 2000);
  });
});

describe('retryAfterMs', () => {
  const now = NOW.getTime();
  test('delay-seconds, and the three forms of an HTTP-date (asctime is GMT too)', () => {
    expect(retryAfterMs('0', now)).toBe(0);
    expect(retryAfterMs(' 30 ', now)).toBe(30_000);
    expect(retryAfterMs('Tue, 01 Jan 2030 00:00:09 GMT', now)).toBe(9000);
    expect(retryAfterMs('Tuesday, 01-Jan-30 00:00:09 GMT', now)).toBe(9000);
    expect(retryAfterMs('Tue Jan  1 00:00:09 2030', now)).toBe(9000);
    expect(retryAfterMs(['5', '6'], now)).toBe(5000);
  });

  test('a date past is no pause; anything else is no Retry-After', () => {
    expect(retryAfterMs('Mon, 31 Dec 2029 23:59:00 GMT', now)).toBe(0);
    for (const v of [undefined, '', 'soon', '-5', '1.5', '1 2', 'Tue, 01 Jan 2030 00:00:09 UTC'])
      expect(retryAfterMs(v, now), String(v)).toBeUndefined();
  });

  test('the cap is 60 s, the bound the README gives a registry', () => {
    expect(RETRY_AFTER_MAX_MS).toBe(60_000);
  });
});
