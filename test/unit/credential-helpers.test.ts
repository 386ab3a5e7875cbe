/**
 * Credential helpers (registry/credentials.ts), as the docker CLI uses them: `credsStore` for every
 * registry, `credHelpers` for one (first), each a `docker-credential-<name>` program on PATH asked
 * `get` with the server on stdin, answering JSON. Here the helpers are tiny sh scripts in a temporary
 * folder put first on PATH, the docker config a temporary DOCKER_CONFIG; the harness must get what
 * they return (and use it against a registry on 127.0.0.1), take "credentials not found" as none, and
 * say in one sentence when a helper is missing or fails: where the registry refuses for want of
 * credentials (a registry that needs none is read without, as `docker pull` does).
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { EnvironmentError } from '../../harness/base/errors.ts';
import { RegistryClient } from '../../harness/registry/client.ts';
import { findCredentials } from '../../harness/registry/credentials.ts';
import { startLoopbackServer, type LoopbackServer } from '../support/loopback-server.ts';

let dir: string;
let bin: string;
let log: string;
let config: string;

/**
 * A helper that logs each question (`<name> <action> <server>`) and answers from its table:
 * server -> [user, secret]; other servers get the protocol's "credentials not found".
 */
function helperScript(name: string, table: Record<string, [string, string]>): string {
  const cases = Object.entries(table).map(
    ([server, [user, secret]]) => `  '${server}') printf '{"ServerURL":"%s","Username":"${user}","Secret":"${secret}"}\\n' "$server" ;;`,
  );
  return [
    '#!/bin/sh',
    'server=""',
    'read -r server || true',
    `echo "${name} $1 $server" >> '${log}'`,
    '[ "$1" = get ] || exit 1',
    'case "$server" in',
    ...cases,
    '  *) echo "credentials not found in native keychain"; exit 1 ;;',
    'esac',
    '',
  ].join('\n');
}

async function writeHelper(name: string, text: string): Promise<void> {
  const file = join(bin, `docker-credential-${name}`);
  await writeFile(file, text);
  await chmod(file, 0o755);
}

async function useConfig(content: object): Promise<void> {
  await writeFile(join(config, 'config.json'), JSON.stringify(content));
}

async function asked(): Promise<string[]> {
  return (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

/** A registry on 127.0.0.1 with Basic auth: it takes only the special helper's credentials; `public` needs none. */
let registry: LoopbackServer;
let address: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-cred-helpers-'));
  bin = join(dir, 'bin');
  config = join(dir, 'docker-config');
  log = join(dir, 'asked.log');
  await mkdir(bin);
  await mkdir(config);
  registry = await startLoopbackServer((req, res) => {
    const want = `Basic ${Buffer.from('special-user:special-secret').toString('base64')}`;
    if (req.headers.authorization !== want && !req.url?.startsWith('/v2/public/')) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="mah unit"' }).end('{}');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.index.v1+json' }).end('{"schemaVersion":2,"manifests":[]}');
  });
  address = registry.address;
  await writeHelper(
    'mah-store',
    helperScript('mah-store', {
      '127.0.0.1:5000': ['store-user', 'store-secret'],
      'https://index.docker.io/v1/': ['hub-user', 'hub-secret'],
      [address]: ['store-user', 'store-secret'],
    }),
  );
  await writeHelper(
    'mah-special',
    helperScript('mah-special', { [address]: ['special-user', 'special-secret'], '127.0.0.1:6000': ['special-user', 'special-secret'] }),
  );
  await writeHelper('mah-empty', helperScript('mah-empty', {}));
  await writeHelper('mah-broken', '#!/bin/sh\ncat >/dev/null\necho "error: the keychain is locked." >&2\nexit 3\n');
  await writeHelper('mah-not-json', '#!/bin/sh\ncat >/dev/null\necho hello\n');
});
afterAll(async () => {
  await registry.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  await rm(log, { force: true });
  vi.stubEnv('PATH', `${bin}${delimiter}${process.env.PATH ?? ''}`);
  vi.stubEnv('DOCKER_CONFIG', config);
  vi.stubEnv('MULTIARCH_REGISTRY_USERNAME', '');
  vi.stubEnv('MULTIARCH_REGISTRY_PASSWORD', '');
});
afterEach(() => {
  vi.unstubAllEnvs();
});

async function sentence(work: Promise<unknown>): Promise<string> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EnvironmentError);
  const message = (err as Error).message;
  expect(message).not.toMatch(/\n/);
  expect(message).toMatch(/^\S.*[.?]$/);
  return message;
}

describe('credential helpers', () => {
  test('credsStore: the credentials the helper returns, asked `get` with the server on stdin', async () => {
    await useConfig({ credsStore: 'mah-store' });
    expect(await findCredentials('127.0.0.1:5000')).toEqual({ username: 'store-user', password: 'store-secret' });
    expect(await asked()).toEqual(['mah-store get 127.0.0.1:5000']);
    // Docker Hub's credentials live under its old index address.
    expect(await findCredentials('docker.io')).toEqual({ username: 'hub-user', password: 'hub-secret' });
  });

  test('credHelpers comes first for its registry; credsStore serves the others', async () => {
    await useConfig({ credsStore: 'mah-store', credHelpers: { '127.0.0.1:6000': 'mah-special' } });
    expect(await findCredentials('127.0.0.1:6000')).toEqual({ username: 'special-user', password: 'special-secret' });
    expect(await findCredentials('127.0.0.1:5000')).toEqual({ username: 'store-user', password: 'store-secret' });
    expect(await asked()).toEqual(['mah-special get 127.0.0.1:6000', 'mah-store get 127.0.0.1:5000']);
  });

  test('the registry client authenticates with what the helper returned (credHelpers over credsStore)', async () => {
    await useConfig({ credsStore: 'mah-store', credHelpers: { [address]: 'mah-special' } });
    const index = await new RegistryClient(address, 'app').manifest('latest');
    expect(index.body).toEqual({ schemaVersion: 2, manifests: [] });
    expect(await asked()).toEqual([`mah-special get ${address}`]);
  });

  test('"credentials not found" is none: every key is asked, then the config\'s own `auths`', async () => {
    await useConfig({
      credsStore: 'mah-empty',
      auths: { 'https://127.0.0.1:5000': { auth: Buffer.from('auths-user:auths-secret').toString('base64') } },
    });
    expect(await findCredentials('127.0.0.1:5000')).toEqual({ username: 'auths-user', password: 'auths-secret' });
    expect(await asked()).toEqual([
      'mah-empty get 127.0.0.1:5000',
      'mah-empty get https://127.0.0.1:5000',
      'mah-empty get http://127.0.0.1:5000',
    ]);
    await useConfig({ credsStore: 'mah-empty' });
    expect(await findCredentials('127.0.0.1:5000')).toBeUndefined();
  });

  test('a helper that fails is one sentence: which helper, where it is named, and its own words', async () => {
    await useConfig({ credHelpers: { '127.0.0.1:5000': 'mah-broken' } });
    expect(await sentence(findCredentials('127.0.0.1:5000'))).toBe(
      `The credential helper docker-credential-mah-broken (credHelpers["127.0.0.1:5000"] in ${join(config, 'config.json')}) failed (exit code 3) for 127.0.0.1:5000: error: the keychain is locked.`,
    );
  });

  test('through the registry client: the refusal says why there were no credentials; a registry that needs none is read without', async () => {
    await useConfig({ credHelpers: { [address]: 'mah-broken' } });
    expect(await sentence(new RegistryClient(address, 'app').manifest('latest'))).toBe(
      `${address} refused manifest latest (401), and the harness has no credentials for it: the credential helper docker-credential-mah-broken (credHelpers["${address}"] in ${join(config, 'config.json')}) failed (exit code 3) for ${address}: error: the keychain is locked.`,
    );
    await useConfig({ credsStore: 'mah-missing' });
    expect((await new RegistryClient(address, 'public').manifest('latest')).body).toEqual({ schemaVersion: 2, manifests: [] });
    expect(await sentence(new RegistryClient(address, 'app').manifest('latest'))).toMatch(
      /^127\.0\.0\.1:\d+ refused manifest latest \(401\), and the harness has no credentials for it: the credential helper docker-credential-mah-missing \(credsStore in .*\) cannot be started: is it installed and on PATH\?$/,
    );
  });

  test('a helper that is not installed, and one that answers something that is not JSON', async () => {
    await useConfig({ credsStore: 'mah-missing' });
    expect(await sentence(findCredentials('127.0.0.1:5000'))).toBe(
      `The credential helper docker-credential-mah-missing (credsStore in ${join(config, 'config.json')}) cannot be started: is it installed and on PATH?`,
    );
    await useConfig({ credsStore: 'mah-not-json' });
    expect(await sentence(findCredentials('127.0.0.1:5000'))).toBe(
      `The credential helper docker-credential-mah-not-json (credsStore in ${join(config, 'config.json')}) answered something that is not JSON for 127.0.0.1:5000.`,
    );
  });

  test('MULTIARCH_REGISTRY_USERNAME/PASSWORD come before any helper (none is asked)', async () => {
    await useConfig({ credsStore: 'mah-broken' });
    vi.stubEnv('MULTIARCH_REGISTRY_USERNAME', 'env-user');
    vi.stubEnv('MULTIARCH_REGISTRY_PASSWORD', 'env-secret');
    expect(await findCredentials('127.0.0.1:5000')).toEqual({ username: 'env-user', password: 'env-secret' });
  });
});
