// An authenticated registry for real, not only parsed (issue 11, item 5): `registry:2` with htpasswd
// basic auth and TLS from a CA this test makes, published on 127.0.0.1 only, holding a byte-for-byte
// copy of the 8-platform alpine stand-in. `verify --ca-file` passes for every platform with
// credentials from the environment, from a docker config's `auths`, and from a credential helper
// (issue 24, item 6: `credHelpers` for this registry over a `credsStore` with a wrong password; the
// helpers are sh scripts first on PATH); a wrong password, a failing helper and a missing --ca-file
// are one sentence each (exit 2); and no output, report or file any run leaves holds the password
// or its base64 forms.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SESSION_LABEL, Session } from '../../harness/session/session.ts';
import type { SessionReport } from '../../harness/result/model.ts';
import { CLI, ROOT } from './helpers.ts';
import {
  copyImage,
  findSecrets,
  makeCertificates,
  readTree,
  removeContainer,
  request,
  secretForms,
  startTlsRegistry,
  type Certificates,
  type CopiedImage,
  type TlsRegistry,
} from './support/tls-registry.ts';

/** The engine's Docker Hub mirror (plain HTTP, loopback): where the alpine stand-in is copied from. */
const MIRROR = '127.0.0.1:5001';
const USER = 'mah-e2e';
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
const WRONG_PASSWORD = `wrong-${randomBytes(12).toString('hex')}`;
/** Neither the right nor the wrong password may appear anywhere, in any form. */
const SECRETS = { ...secretForms(USER, PASSWORD, 'password'), ...secretForms(USER, WRONG_PASSWORD, 'wrong password') };

const ctx = new Session();
let work: string;
let certs: Certificates;
let registry: TlsRegistry;
let copied: CopiedImage;
let image: string;
/** DOCKER_CONFIG folders: one with nothing in it, one with the right `auths`, one with a wrong password; two naming credential helpers. */
const dockerConfig = { empty: '', auths: '', wrong: '', helper: '', brokenHelper: '' };
/** The credential helpers' folder (put first on PATH) and the log of what they were asked. */
let helperBin: string;
let helperLog: string;

interface Run {
  label: string;
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  report: SessionReport | undefined;
  /** What was searched for credentials: stdout, stderr, and every file under the run's folder. */
  scanned: Record<string, string>;
}
const runs: Run[] = [];

/** The test's own environment, without any credential or docker config of the machine's. */
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

/**
 * A `docker-credential-<name>` helper as an sh script: it logs `<name> <server>` for each `get` and
 * answers the user with `password` (the file is in the test's own 0700 folder, outside every run's);
 * `password` undefined: it fails as a locked keychain does.
 */
async function writeHelper(name: string, password: string | undefined): Promise<void> {
  const answer =
    password === undefined
      ? ['echo "error: the keychain is locked" >&2', 'exit 1']
      : [`printf '{"ServerURL":"%s","Username":"${USER}","Secret":"%s"}\\n' "$server" '${password}'`];
  const file = join(helperBin, `docker-credential-${name}`);
  await writeFile(
    file,
    [
      '#!/bin/sh',
      'server=""',
      'read -r server || true',
      `echo "${name} $server" >> '${helperLog}'`,
      '[ "$1" = get ] || exit 1',
      ...answer,
      '',
    ].join('\n'),
    { mode: 0o700 },
  );
  await chmod(file, 0o700);
}

/** PATH with the helpers' folder first. */
function helperPath(): string {
  return `${helperBin}${delimiter}${process.env.PATH ?? ''}`;
}

function authConfig(password: string): string {
  return JSON.stringify({ auths: { [registry.address]: { auth: Buffer.from(`${USER}:${password}`).toString('base64') } } }, null, 2);
}

/**
 * `verify` of the registry's image with every file reporter (json, junit, html, markdown) into the
 * run's own folder and TMPDIR pointed into that folder too, so that whatever the run writes or leaves
 * behind is searched for credentials.
 */
async function verify(label: string, o: { env: Record<string, string>; caFile: boolean; quiet?: boolean }): Promise<Run> {
  const dir = join(work, 'runs', label);
  const tmp = join(dir, 'tmp');
  const reports = join(dir, 'reports');
  await mkdir(tmp, { recursive: true });
  const args = [
    'verify',
    image,
    ...(o.caFile ? ['--ca-file', certs.caFile] : []),
    '--expect-uname',
    '--command',
    'uname',
    '--command=-m',
    '--json',
    join(reports, 'report.json'),
    '--reporter',
    `junit=${join(reports, 'report.junit.xml')}`,
    '--reporter',
    `html=${join(reports, 'report.html')}`,
    '--reporter',
    `markdown=${join(reports, 'report.md')}`,
    ...(o.quiet ? ['--quiet'] : []),
  ];
  const r = await execa('node', [CLI, ...args], {
    cwd: ROOT,
    reject: false,
    extendEnv: false,
    env: { ...baseEnv(), GITHUB_STEP_SUMMARY: '', TMPDIR: tmp, ...o.env },
    timeout: 30 * 60_000,
  });
  const files = await readTree(dir);
  const json = files[join(reports, 'report.json')];
  const run: Run = {
    label,
    exitCode: r.exitCode,
    stdout: r.stdout,
    stderr: r.stderr,
    report: json ? (JSON.parse(json) as SessionReport) : undefined,
    scanned: { [`${label} stdout`]: r.stdout, [`${label} stderr`]: r.stderr, ...files },
  };
  runs.push(run);
  return run;
}

/** For a failing expectation: the end of what the run printed. */
function tail(run: Run): string {
  return `${run.label}: exit ${run.exitCode}\n${run.stderr.split('\n').slice(-8).join('\n')}`;
}

function expectNoSecrets(run: Run): void {
  expect(findSecrets(run.scanned, SECRETS), `${run.label} leaked a credential`).toEqual([]);
}

/** Exit 2 with one line on stderr, `multiarch-harness: <sentence>`, and no stack trace. */
function expectOneSentence(run: Run): string {
  expect(run.exitCode, tail(run)).toBe(2);
  const lines = run.stderr.trim().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^multiarch-harness: \S.*[.!]$/);
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.stderr).not.toMatch(/internal error/);
  expect(run.report).toBeUndefined();
  return lines[0]!;
}

function expectEveryPlatformPasses(run: Run): void {
  expect(run.exitCode, tail(run)).toBe(0);
  const report = run.report!;
  expect(report.kind).toBe('verify');
  expect(report.platforms.map((p) => p.platform).sort()).toEqual(copied.entries.map((e) => e.platform).sort());
  for (const p of report.platforms) {
    expect(p.status, `${p.platform}: ${p.message}`).toBe('pass');
    expect(
      Object.values(p.checks).map((c) => c.status),
      `${p.platform}: ${JSON.stringify(p.checks)}`,
    ).toEqual(['pass', 'pass', 'pass', 'pass']);
    // The run was pinned to the manifest the registry lists for that platform.
    expect(p.digest).toBe(copied.entries.find((e) => e.platform === p.platform)!.digest);
  }
  expect(report.summary).toMatchObject({ passed: copied.entries.length, failed: 0 });
  for (const file of ['report.json', 'report.junit.xml', 'report.html', 'report.md']) {
    expect(
      Object.keys(run.scanned).some((k) => k.endsWith(`/reports/${file}`)),
      `${run.label} wrote ${file}`,
    ).toBe(true);
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'mah-auth-registry-'));
  certs = await makeCertificates(join(work, 'ca'), join(work, 'ca', 'server'));
  registry = await startTlsRegistry({
    dir: join(work, 'registry'),
    certificates: certs,
    user: USER,
    password: PASSWORD,
    labels: ctx.labels,
    onCreate: (name) => ctx.defer(`removing the TLS registry ${name}`, () => removeContainer(name)),
  });
  copied = await copyImage(
    { address: MIRROR, scheme: 'http', repository: 'library/alpine', reference: 'latest' },
    { address: registry.address, scheme: 'https', ca: certs.ca, user: USER, password: PASSWORD, repository: 'alpine', tag: 'latest' },
  );
  expect(copied.entries.length).toBeGreaterThan(1);
  image = `${registry.address}/alpine:latest`;
  helperBin = join(work, 'helper-bin');
  helperLog = join(work, 'helpers-asked.log');
  await mkdir(helperBin, { recursive: true, mode: 0o700 });
  await writeHelper('mah-e2e', PASSWORD);
  await writeHelper('mah-e2e-wrong', WRONG_PASSWORD);
  await writeHelper('mah-e2e-broken', undefined);
  // credHelpers names the right helper for this registry; credsStore, for every registry, a wrong one: credHelpers must win.
  const helperConfig = JSON.stringify({ credsStore: 'mah-e2e-wrong', credHelpers: { [registry.address]: 'mah-e2e' } }, null, 2);
  const brokenConfig = JSON.stringify({ credHelpers: { [registry.address]: 'mah-e2e-broken' } }, null, 2);
  for (const [kind, content] of [
    ['empty', undefined],
    ['auths', authConfig(PASSWORD)],
    ['wrong', authConfig(WRONG_PASSWORD)],
    ['helper', helperConfig],
    ['brokenHelper', brokenConfig],
  ] as const) {
    const dir = join(work, `docker-config-${kind}`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (content) await writeFile(join(dir, 'config.json'), content, { mode: 0o600 });
    dockerConfig[kind] = dir;
  }
}, 5 * 60_000);

afterAll(async () => {
  const problems = await ctx.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
  const left = await execa('docker', ['ps', '-aq', '--filter', `label=${SESSION_LABEL}=${ctx.id}`], { reject: false });
  if (problems.length > 0 || left.stdout.trim())
    throw new Error(`the TLS registry was not removed: ${[...problems, left.stdout.trim()].filter(Boolean).join('; ')}`);
});

describe('verify against a registry with TLS from a private CA and htpasswd basic auth', () => {
  test('the registry refuses anonymous pulls and trusts nothing but its CA (the setup is what it claims)', async () => {
    const anonymous = await request('GET', `https://${registry.address}/v2/alpine/manifests/latest`, { ca: certs.ca });
    expect(anonymous.status).toBe(401);
    expect(String(anonymous.headers['www-authenticate'])).toMatch(/^Basic realm=/);
    await expect(request('GET', `https://${registry.address}/v2/`)).rejects.toThrow(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|CERT/);
    const plain = await request('GET', `http://${registry.address}/v2/`);
    expect(plain.status).toBe(400);
  });

  test('(a) --ca-file and credentials from the environment: every platform passes all four checks', async () => {
    const run = await verify('env-credentials', {
      caFile: true,
      env: { MULTIARCH_REGISTRY_USERNAME: USER, MULTIARCH_REGISTRY_PASSWORD: PASSWORD, DOCKER_CONFIG: dockerConfig.empty },
    });
    expectEveryPlatformPasses(run);
    expectNoSecrets(run);
  });

  test('(b) --ca-file and credentials from a DOCKER_CONFIG folder (`auths`, base64): every platform passes all four checks', async () => {
    const run = await verify('docker-config-credentials', { caFile: true, env: { DOCKER_CONFIG: dockerConfig.auths } });
    expectEveryPlatformPasses(run);
    expectNoSecrets(run);
  });

  test('(c) a wrong password, from the environment or a docker config, is one sentence: the registry refused, and what to do', async () => {
    for (const [label, env] of [
      [
        'wrong-password-env',
        { MULTIARCH_REGISTRY_USERNAME: USER, MULTIARCH_REGISTRY_PASSWORD: WRONG_PASSWORD, DOCKER_CONFIG: dockerConfig.empty },
      ],
      ['wrong-password-docker-config', { DOCKER_CONFIG: dockerConfig.wrong }],
    ] as const) {
      const run = await verify(label, { caFile: true, quiet: true, env });
      const sentence = expectOneSentence(run);
      expect(sentence).toContain(registry.address);
      expect(sentence).toMatch(/refused/i);
      expect(sentence).toMatch(/docker login|MULTIARCH_REGISTRY_(USERNAME|PASSWORD)/);
      expectNoSecrets(run);
    }
  });

  test('(d) without --ca-file: one sentence about the certificate, naming --ca-file', async () => {
    const run = await verify('no-ca-file', {
      caFile: false,
      quiet: true,
      env: { MULTIARCH_REGISTRY_USERNAME: USER, MULTIARCH_REGISTRY_PASSWORD: PASSWORD, DOCKER_CONFIG: dockerConfig.empty },
    });
    const sentence = expectOneSentence(run);
    expect(sentence).toContain(registry.address);
    expect(sentence).toMatch(/certificate/i);
    expect(sentence).toMatch(/--ca-file/);
    expectNoSecrets(run);
  });

  test('(e) with MULTIARCH_DEBUG=1 too, a refused run prints no credential', async () => {
    const run = await verify('wrong-password-debug', {
      caFile: true,
      env: {
        MULTIARCH_REGISTRY_USERNAME: USER,
        MULTIARCH_REGISTRY_PASSWORD: WRONG_PASSWORD,
        DOCKER_CONFIG: dockerConfig.empty,
        MULTIARCH_DEBUG: '1',
      },
    });
    expect(run.exitCode, tail(run)).toBe(2);
    expectNoSecrets(run);
  });

  test('(f) a credential helper: credHelpers for this registry comes before credsStore, and every platform passes all four checks', async () => {
    await rm(helperLog, { force: true });
    const run = await verify('credential-helper', { caFile: true, env: { DOCKER_CONFIG: dockerConfig.helper, PATH: helperPath() } });
    expectEveryPlatformPasses(run);
    expectNoSecrets(run);
    // Asked for this registry (by the harness's reads and for the engine's pulls); the credsStore's helper never.
    const asked = (await readFile(helperLog, 'utf8')).split('\n').filter(Boolean);
    expect(asked.length).toBeGreaterThan(0);
    expect(new Set(asked)).toEqual(new Set([`mah-e2e ${registry.address}`]));
  });

  test("(g) a credential helper that fails: one sentence, the registry's refusal and why there were no credentials (the helper, where it is named, its words)", async () => {
    const run = await verify('credential-helper-fails', {
      caFile: true,
      quiet: true,
      env: { DOCKER_CONFIG: dockerConfig.brokenHelper, PATH: helperPath() },
    });
    const sentence = expectOneSentence(run);
    expect(sentence).toBe(
      `multiarch-harness: ${registry.address} refused manifest latest (401), and the harness has no credentials for it: the credential helper docker-credential-mah-e2e-broken (credHelpers["${registry.address}"] in ${join(dockerConfig.brokenHelper, 'config.json')}) failed (exit code 1) for ${registry.address}: error: the keychain is locked.`,
    );
    expectNoSecrets(run);
  });

  test('(e) no stdout, stderr, report (json, junit, html, markdown) or leftover temporary file of any run holds a credential', () => {
    expect(runs.map((r) => r.label)).toEqual([
      'env-credentials',
      'docker-config-credentials',
      'wrong-password-env',
      'wrong-password-docker-config',
      'no-ca-file',
      'wrong-password-debug',
      'credential-helper',
      'credential-helper-fails',
    ]);
    const scanned = Object.assign({}, ...runs.map((r) => r.scanned)) as Record<string, string>;
    // The search can find what it looks for: the docker config the test wrote holds the base64 form.
    expect(findSecrets({ 'docker config': authConfig(PASSWORD) }, SECRETS)).toContain('docker config: password: base64(user:password)');
    expect(Object.keys(scanned).filter((k) => /\/reports\/report\.(json|junit\.xml|html|md)$/.test(k))).toHaveLength(3 * 4);
    expect(findSecrets(scanned, SECRETS)).toEqual([]);
  });

  test("verify leaves nothing of its own behind: no container but this test's registry, no image pulled from it", async () => {
    const labelled = await execa('docker', ['ps', '-a', '--filter', `label=${SESSION_LABEL}`, '--format', `{{.Label "${SESSION_LABEL}"}}`]);
    expect(labelled.stdout.split('\n').filter(Boolean)).toEqual([ctx.id]);
    const images = await execa('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}@{{.Digest}}']);
    expect(images.stdout.split('\n').filter((n) => n.startsWith(`${registry.address}/`))).toEqual([]);
  });
});
