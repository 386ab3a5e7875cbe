/**
 * Bearer-token auth (registry/client.ts), offline: a node:http registry on 127.0.0.1 that answers
 * 401 with `WWW-Authenticate: Bearer realm=...,service=...,scope=...` and a token service (same
 * server, /token) that checks Basic credentials, the service and the scope before it issues a
 * token, which the registry then takes as `Authorization: Bearer <token>` for that repository only.
 * The harness must go through the challenge with the credentials it finds (given, the environment,
 * a docker config's `auths`), ask for a new token when one is refused, try a busy token service
 * again, and say in one sentence, without the credentials, when it is refused.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { RegistryClient } from '../../harness/registry/client.ts';
import { sentence as oneSentence, settle, startLoopbackServer, type LoopbackServer } from '../support/loopback-server.ts';

const USER = 'mah-unit';
const PASSWORD = `pw-${randomBytes(8).toString('hex')}`;
const SERVICE = 'mah-unit-registry';
const INDEX = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] });

/** Tokens issued: what each grants, and how many more requests the registry takes it for. */
const tokens = new Map<string, { scope: string; uses: number }>();
/** What the token service was asked (never the password itself). */
interface TokenRequest {
  method: string;
  basicUser: string | undefined;
  basicRight: boolean;
  service: string | null;
  scope: string | null;
}
let tokenRequests: TokenRequest[] = [];
/** What the registry saw: the Authorization scheme of each request to a repository. */
let registrySaw: string[] = [];
/** Answers the token service gives before it works again (a busy one). */
let tokenServiceBusy: number[] = [];
/** How many requests a token is good for (1: it "expires" after one). */
let tokenUses = 100;

let server: LoopbackServer;
let registry: string;
let dir: string;

function challenge(res: ServerResponse, repository: string, error?: string): void {
  const realm = `http://${registry}/token`;
  res
    .writeHead(401, {
      'WWW-Authenticate': `Bearer realm="${realm}",service="${SERVICE}",scope="repository:${repository}:pull"${error ? `,error="${error}"` : ''}`,
      'Content-Type': 'application/json',
    })
    .end('{"errors":[{"code":"UNAUTHORIZED"}]}');
}

function tokenService(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', `http://${registry}`);
  const auth = req.headers.authorization ?? '';
  const basic = /^Basic (.+)$/.exec(auth)?.[1];
  const decoded = basic ? Buffer.from(basic, 'base64').toString('utf8') : undefined;
  const [user, password] = decoded
    ? [decoded.slice(0, decoded.indexOf(':')), decoded.slice(decoded.indexOf(':') + 1)]
    : [undefined, undefined];
  const right = user === USER && password === PASSWORD;
  tokenRequests.push({
    method: req.method ?? '',
    basicUser: user,
    basicRight: right,
    service: url.searchParams.get('service'),
    scope: url.searchParams.get('scope'),
  });
  const busy = tokenServiceBusy.shift();
  if (busy) {
    res.writeHead(busy, { 'Retry-After': '1' }).end('{}');
    return;
  }
  if (!right) {
    res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"details":"incorrect username or password"}');
    return;
  }
  const scope = url.searchParams.get('scope') ?? '';
  if (url.searchParams.get('service') !== SERVICE || !/^repository:[a-z0-9/-]+:pull$/.test(scope)) {
    res.writeHead(400, { 'Content-Type': 'application/json' }).end('{"details":"unknown service or scope"}');
    return;
  }
  const token = randomBytes(16).toString('hex');
  tokens.set(token, { scope, uses: tokenUses });
  res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
}

function route(req: IncomingMessage, res: ServerResponse): void {
  if (req.url?.startsWith('/token')) {
    tokenService(req, res);
    return;
  }
  const repository = /^\/v2\/(.+)\/manifests\//.exec(req.url ?? '')?.[1];
  if (!repository) {
    res.writeHead(404).end('{}');
    return;
  }
  const auth = req.headers.authorization ?? '';
  registrySaw.push(auth.split(' ')[0] || 'none');
  const token = /^Bearer (.+)$/.exec(auth)?.[1];
  const grant = token ? tokens.get(token) : undefined;
  if (!token) return challenge(res, repository);
  if (!grant || grant.uses <= 0) return challenge(res, repository, 'invalid_token');
  if (grant.scope !== `repository:${repository}:pull`) return challenge(res, repository, 'insufficient_scope');
  grant.uses--;
  res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.index.v1+json' }).end(INDEX);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-token-auth-'));
  server = await startLoopbackServer(route);
  registry = server.address;
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  tokenRequests = [];
  registrySaw = [];
  tokenServiceBusy = [];
  tokenUses = 100;
  // No credentials of this machine's: an empty docker config folder, no variables.
  vi.stubEnv('DOCKER_CONFIG', join(dir, 'none'));
  vi.stubEnv('MULTIARCH_REGISTRY_USERNAME', '');
  vi.stubEnv('MULTIARCH_REGISTRY_PASSWORD', '');
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

/** The one-sentence EnvironmentError the work fails with, checked to hold no credential. */
async function sentence(work: Promise<unknown>): Promise<string> {
  const message = await oneSentence(work);
  for (const secret of [PASSWORD, Buffer.from(`${USER}:${PASSWORD}`).toString('base64')]) expect(message).not.toContain(secret);
  return message;
}

const right = { username: USER, password: PASSWORD };

describe('bearer-token auth through the challenge', () => {
  test('401 with a Bearer challenge: a token from the realm with Basic credentials, for the service and scope asked; then the registry takes it', async () => {
    const m = await settle(new RegistryClient(registry, 'app', { credentials: right }).manifest('latest'));
    expect(m.body).toEqual(JSON.parse(INDEX));
    expect(tokenRequests).toEqual([{ method: 'GET', basicUser: USER, basicRight: true, service: SERVICE, scope: 'repository:app:pull' }]);
    // Anonymous first (the challenge), then with the token.
    expect(registrySaw).toEqual(['none', 'Bearer']);
  });

  test('the token is kept for the next request, and a refused one (expired) is replaced once', async () => {
    const client = new RegistryClient(registry, 'app', { credentials: right });
    await settle(client.manifest('latest'));
    await settle(client.manifest('latest'));
    expect(tokenRequests).toHaveLength(1);
    expect(registrySaw).toEqual(['none', 'Bearer', 'Bearer']);
    tokenUses = 1;
    const expiring = new RegistryClient(registry, 'app', { credentials: right });
    await settle(expiring.manifest('latest'));
    await settle(expiring.manifest('latest'));
    expect(tokenRequests).toHaveLength(3);
  });

  test('credentials from a docker config (`auths`) and from the environment reach the token service', async () => {
    const config = join(dir, 'auths');
    await mkdir(config, { recursive: true });
    await writeFile(
      join(config, 'config.json'),
      JSON.stringify({ auths: { [registry]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }),
    );
    vi.stubEnv('DOCKER_CONFIG', config);
    await settle(new RegistryClient(registry, 'app').manifest('latest'));
    vi.stubEnv('DOCKER_CONFIG', join(dir, 'none'));
    vi.stubEnv('MULTIARCH_REGISTRY_USERNAME', USER);
    vi.stubEnv('MULTIARCH_REGISTRY_PASSWORD', PASSWORD);
    await settle(new RegistryClient(registry, 'app').manifest('latest'));
    expect(tokenRequests.map((r) => r.basicRight)).toEqual([true, true]);
  });

  test('a token service that is busy for a moment (503, 429) is asked again', async () => {
    tokenServiceBusy = [503, 429];
    const m = await settle(new RegistryClient(registry, 'app', { credentials: right }).manifest('latest'));
    expect(m.body).toEqual(JSON.parse(INDEX));
    expect(tokenRequests).toHaveLength(3);
  });
});

describe('refused: one sentence, no credential in it', () => {
  test('wrong credentials: the token service refuses, and so the registry', async () => {
    const message = await sentence(
      new RegistryClient(registry, 'app', { credentials: { username: USER, password: 'wrong' } }).manifest('latest'),
    );
    expect(message).toBe(
      `${registry} refused manifest latest (401): log in with \`docker login ${registry}\` or set MULTIARCH_REGISTRY_USERNAME and MULTIARCH_REGISTRY_PASSWORD.`,
    );
    expect(tokenRequests).toMatchObject([{ basicUser: USER, basicRight: false }]);
    // Not asked again and again: one challenge answered once.
    expect(registrySaw).toEqual(['none']);
  });

  test('no credentials at all: the same sentence, the token service asked without any', async () => {
    const message = await sentence(new RegistryClient(registry, 'app').manifest('latest'));
    expect(message).toMatch(/refused manifest latest \(401\): log in with/);
    expect(tokenRequests).toMatchObject([{ basicUser: undefined }]);
  });

  test('a realm that is neither HTTPS nor on this machine gets no credentials', async () => {
    const elsewhere = await startLoopbackServer((_req, res) => {
      res
        .writeHead(401, {
          'WWW-Authenticate': `Bearer realm="http://auth.example.invalid/token",service="${SERVICE}",scope="repository:app:pull"`,
        })
        .end('{}');
    });
    const address = elsewhere.address;
    try {
      const message = await sentence(new RegistryClient(address, 'app', { credentials: right }).manifest('latest'));
      expect(message).toBe(
        `${address} asks for credentials at http://auth.example.invalid, which is not HTTPS: the harness does not send them there.`,
      );
    } finally {
      await elsewhere.close();
    }
  });
});
