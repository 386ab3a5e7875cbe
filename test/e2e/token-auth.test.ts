// Bearer-token auth for real (issue 24, item 6): `registry:2` configured with `auth: token:` (its
// realm a token service in this test's process on 127.0.0.1, issuing JWTs signed with a key whose
// self-signed certificate the registry gets as rootcertbundle), plain HTTP on 127.0.0.1, holding a
// byte-for-byte copy of the alpine stand-in pushed with a token the test issues itself. `verify`
// passes with credentials from a temporary DOCKER_CONFIG (the harness and the engine's pull each get
// a token from the realm with them), and a wrong password is one sentence (exit 2). No output,
// report or leftover file holds the password or a token; nothing of the run is left on the engine.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SESSION_LABEL, Session } from '../../harness/session/session.ts';
import type { SessionReport } from '../../harness/result/model.ts';
import { CLI, ROOT } from './helpers.ts';
import { engineNative, foreignPlatform } from './support/host-facts.ts';
import { copyImage, findSecrets, readTree, removeContainer, request, secretForms, type CopiedImage } from './support/tls-registry.ts';
import {
  issueToken,
  makeTokenSigner,
  startTokenRegistry,
  startTokenService,
  type TokenRegistry,
  type TokenService,
  type TokenSigner,
} from './support/token-registry.ts';

/** The engine's Docker Hub mirror (plain HTTP, loopback): where the alpine stand-in is copied from. */
const MIRROR = '127.0.0.1:5001';
const USER = 'mah-e2e-token';
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
const WRONG_PASSWORD = `wrong-${randomBytes(12).toString('hex')}`;
const SERVICE = 'mah-e2e-registry';
const ISSUER = 'mah-e2e-token-issuer';
const REPOSITORY = 'alpine';

const ctx = new Session();
let work: string;
let signer: TokenSigner;
let tokens: TokenService;
let registry: TokenRegistry;
let copied: CopiedImage;
let image: string;
/** The host's own platform and one under QEMU: both paths of the pull, at the cost of two runs. */
let platforms: string[];
const dockerConfig = { right: '', wrong: '' };

interface Run {
  label: string;
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  report: SessionReport | undefined;
  scanned: Record<string, string>;
}

function baseEnv(): Record<string, string> {
  const drop = new Set([
    'MULTIARCH_REGISTRY_USERNAME',
    'MULTIARCH_REGISTRY_PASSWORD',
    'DOCKER_CONFIG',
    'GITHUB_STEP_SUMMARY',
    'MULTIARCH_DEBUG',
  ]);
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !drop.has(e[0])));
}

async function verify(label: string, env: Record<string, string>): Promise<Run> {
  const dir = join(work, 'runs', label);
  const tmp = join(dir, 'tmp');
  await mkdir(tmp, { recursive: true });
  const args = [
    'verify',
    image,
    '--platform',
    platforms.join(','),
    '--expect-uname',
    '--command',
    'uname',
    '--command=-m',
    '--json',
    join(dir, 'reports', 'report.json'),
    '--quiet',
  ];
  const r = await execa('node', [CLI, ...args], {
    cwd: ROOT,
    reject: false,
    extendEnv: false,
    env: { ...baseEnv(), GITHUB_STEP_SUMMARY: '', TMPDIR: tmp, ...env },
    timeout: 30 * 60_000,
  });
  const files = await readTree(dir);
  const json = files[join(dir, 'reports', 'report.json')];
  return {
    label,
    exitCode: r.exitCode,
    stdout: r.stdout,
    stderr: r.stderr,
    report: json ? (JSON.parse(json) as SessionReport) : undefined,
    scanned: { [`${label} stdout`]: r.stdout, [`${label} stderr`]: r.stderr, ...files },
  };
}

function tail(run: Run): string {
  return `${run.label}: exit ${run.exitCode}\n${run.stderr.split('\n').slice(-8).join('\n')}`;
}

/** The password (right and wrong, in every form a client sends or a config stores) and every token issued. */
function secrets(): Record<string, string> {
  return {
    ...secretForms(USER, PASSWORD, 'password'),
    ...secretForms(USER, WRONG_PASSWORD, 'wrong password'),
    ...Object.fromEntries(tokens.issued.map((t, i) => [`token ${i}`, t])),
  };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'mah-token-auth-'));
  const native = await engineNative();
  platforms = [native, foreignPlatform(native)];
  signer = await makeTokenSigner(join(work, 'signer'));
  tokens = await startTokenService({
    signer,
    issuer: ISSUER,
    service: SERVICE,
    user: USER,
    password: PASSWORD,
    repositories: [REPOSITORY],
  });
  registry = await startTokenRegistry({
    dir: join(work, 'registry'),
    signer,
    realm: tokens.realm,
    service: SERVICE,
    issuer: ISSUER,
    labels: ctx.labels,
    onCreate: (name) => ctx.defer(`removing the token registry ${name}`, () => removeContainer(name)),
  });
  // Pushed with a token the test issues itself (pull and push on the repository), not through the realm.
  const push = issueToken(signer, {
    issuer: ISSUER,
    service: SERVICE,
    subject: USER,
    access: [{ type: 'repository', name: REPOSITORY, actions: ['pull', 'push'] }],
  });
  tokens.issued.push(push);
  copied = await copyImage(
    { address: MIRROR, scheme: 'http', repository: 'library/alpine', reference: 'latest' },
    { address: registry.address, scheme: 'http', token: push, repository: REPOSITORY, tag: 'latest' },
  );
  for (const p of platforms)
    expect(
      copied.entries.map((e) => e.platform),
      `the alpine stand-in lists ${p}`,
    ).toContain(p);
  image = `${registry.address}/${REPOSITORY}:latest`;
  for (const [kind, password] of [
    ['right', PASSWORD],
    ['wrong', WRONG_PASSWORD],
  ] as const) {
    const dir = join(work, `docker-config-${kind}`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ auths: { [registry.address]: { auth: Buffer.from(`${USER}:${password}`).toString('base64') } } }),
      { mode: 0o600 },
    );
    dockerConfig[kind] = dir;
  }
}, 5 * 60_000);

afterAll(async () => {
  const problems = await ctx.cleanup();
  await tokens?.close();
  if (work) await rm(work, { recursive: true, force: true });
  const left = await execa('docker', ['ps', '-aq', '--filter', `label=${SESSION_LABEL}=${ctx.id}`], { reject: false });
  if (problems.length > 0 || left.stdout.trim())
    throw new Error(`the token registry was not removed: ${[...problems, left.stdout.trim()].filter(Boolean).join('; ')}`);
});

describe('verify against a registry with token auth (a JWT realm on 127.0.0.1, the registry checking tokens against a certificate)', () => {
  test("the setup is what it claims: a Bearer challenge naming the realm, service and scope; the realm's tokens taken, a token of another key refused", async () => {
    const anonymous = await request('GET', `http://${registry.address}/v2/${REPOSITORY}/manifests/latest`);
    expect(anonymous.status).toBe(401);
    expect(String(anonymous.headers['www-authenticate'])).toBe(
      `Bearer realm="${tokens.realm}",service="${SERVICE}",scope="repository:${REPOSITORY}:pull"`,
    );
    const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    const got = await request('GET', `${tokens.realm}?service=${SERVICE}&scope=repository:${REPOSITORY}:pull`, {
      headers: { Authorization: basic },
    });
    expect(got.status).toBe(200);
    const token = (JSON.parse(got.body.toString('utf8')) as { token: string }).token;
    const accept = { Accept: 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json' };
    expect(
      (
        await request('GET', `http://${registry.address}/v2/${REPOSITORY}/manifests/latest`, {
          headers: { ...accept, Authorization: `Bearer ${token}` },
        })
      ).status,
    ).toBe(200);
    // The same claims signed by a key the registry does not trust: refused, so the signature is what it checks.
    const stranger = await makeTokenSigner(join(work, 'stranger'));
    const forged = issueToken(
      { ...stranger, kid: signer.kid },
      { issuer: ISSUER, service: SERVICE, subject: USER, access: [{ type: 'repository', name: REPOSITORY, actions: ['pull'] }] },
    );
    expect(
      (
        await request('GET', `http://${registry.address}/v2/${REPOSITORY}/manifests/latest`, {
          headers: { ...accept, Authorization: `Bearer ${forged}` },
        })
      ).status,
    ).toBe(401);
    // And the realm refuses a wrong password.
    const wrong = `Basic ${Buffer.from(`${USER}:${WRONG_PASSWORD}`).toString('base64')}`;
    expect(
      (
        await request('GET', `${tokens.realm}?service=${SERVICE}&scope=repository:${REPOSITORY}:pull`, {
          headers: { Authorization: wrong },
        })
      ).status,
    ).toBe(401);
    tokens.issued.push(token);
    tokens.requests.length = 0;
  });

  test('credentials from a DOCKER_CONFIG: every platform passes all four checks; the harness and the engine each took a token from the realm', async () => {
    const run = await verify('right-credentials', { DOCKER_CONFIG: dockerConfig.right });
    expect(run.exitCode, tail(run)).toBe(0);
    const report = run.report!;
    expect(report.platforms.map((p) => p.platform).sort()).toEqual([...platforms].sort());
    for (const p of report.platforms) {
      expect(p.status, `${p.platform}: ${p.message}`).toBe('pass');
      expect(
        Object.values(p.checks).map((c) => c.status),
        `${p.platform}: ${JSON.stringify(p.checks)}`,
      ).toEqual(['pass', 'pass', 'pass', 'pass']);
      expect(p.digest).toBe(copied.entries.find((e) => e.platform === p.platform)!.digest);
    }
    // Every token request had the right credentials, for this service, and asked to pull this repository.
    expect(tokens.requests.length).toBeGreaterThan(0);
    for (const r of tokens.requests) {
      expect(r, JSON.stringify(r)).toMatchObject({ credentials: 'right', user: USER, service: SERVICE, status: 200 });
      expect(r.scopes.length, JSON.stringify(r)).toBeGreaterThan(0);
      expect(
        r.scopes.filter((scope) => scope !== `repository:${REPOSITORY}:pull`),
        JSON.stringify(r),
      ).toEqual([]);
    }
    // The harness's own reads (node:http sends no User-Agent) and the engine's pulls (dockerd's "docker/..." or, on a containerd image store, containerd's).
    expect(
      tokens.requests.some((r) => r.userAgent === ''),
      JSON.stringify(tokens.requests),
    ).toBe(true);
    expect(
      tokens.requests.some((r) => /^(docker|containerd)\//.test(r.userAgent)),
      JSON.stringify(tokens.requests),
    ).toBe(true);
    expect(findSecrets(run.scanned, secrets()), 'a credential or token was printed or written').toEqual([]);
  });

  test('a wrong password: one sentence (exit 2) that says the registry refused and what to do, and no credential', async () => {
    tokens.requests.length = 0;
    const run = await verify('wrong-credentials', { DOCKER_CONFIG: dockerConfig.wrong });
    expect(run.exitCode, tail(run)).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toBe(
      `multiarch-harness: ${registry.address} refused manifest latest (401): log in with \`docker login ${registry.address}\` or set MULTIARCH_REGISTRY_USERNAME and MULTIARCH_REGISTRY_PASSWORD.`,
    );
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(run.report).toBeUndefined();
    // The realm was asked, with the wrong password, and refused it.
    expect(tokens.requests).toMatchObject([{ credentials: 'wrong', user: USER, status: 401 }]);
    expect(findSecrets(run.scanned, secrets())).toEqual([]);
  });

  test("verify leaves nothing of its own behind: no container but this test's registry, no image pulled from it", async () => {
    const labelled = await execa('docker', ['ps', '-a', '--filter', `label=${SESSION_LABEL}`, '--format', `{{.Label "${SESSION_LABEL}"}}`]);
    expect(labelled.stdout.split('\n').filter(Boolean)).toEqual([ctx.id]);
    const images = await execa('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}@{{.Digest}}']);
    expect(images.stdout.split('\n').filter((n) => n.startsWith(`${registry.address}/`))).toEqual([]);
  });
});
