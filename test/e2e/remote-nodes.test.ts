// Remote nodes over the two transports the README promises, tcp with TLS and ssh, against the
// loopback-only fixtures setup/prepare-host.sh makes (setup/loopback-nodes.sh): the classic-store
// engine also listening on tcp://127.0.0.1:2376 with tlsverify, and an sshd on 127.0.0.1:2222 whose
// one key reaches the main engine. A verify places platforms on them (a TLS node named by a docker
// context holding its certificates, and by its URL with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH), a
// build builds on them; each platform runs where its result says, the engines' own events agree,
// and neither engine keeps anything, nor is a tunnel left. TLS without the client certificate, or
// without TLS, is one sentence and exit 2.
//
// Which image a platform's container starts from is the engine's store's business
// (harness/checks/run-reference.ts): the platform's manifest by digest on a classic store, the index
// by digest with --platform on a containerd one (the engine then runs the entry the index lists once
// for it, the manifest the report names). Either pins the manifest the report states was verified;
// the index is read here from the registry, not through the harness.
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SESSION_LABEL } from '../../harness/session/session.ts';
import type { SessionReport } from '../../harness/result/model.ts';
import { cli, harnessLeftovers, ROOT, runImages } from './helpers.ts';
import {
  CLASSIC_HOST,
  SSH_HOST,
  TLS_HOST,
  clientCertDir,
  createContext,
  createTlsContext,
  engineEnv,
  engineState,
  harnessContainers,
  mainEngineHost,
  registryIndex,
  removeContext,
  repositoryImages,
  requireLoopbackNodes,
  tunnelsLeft,
  type CreatedContainer,
} from './support/loopback-nodes.ts';

const REGISTRY = '127.0.0.1:5001';
const REPOSITORY = `${REGISTRY}/library/alpine`;
const ALPINE = `${REPOSITORY}:latest`;
/**
 * The TLS node by a docker context with its CA, certificate and key; the same without the certificate
 * and key; the main engine by a context. Not named mah-...: buildx lists every docker context as a
 * builder, and a builder named so is what a run would have left (harnessLeftovers).
 */
const TLS_CONTEXT = `e2e-remote-tls-${process.pid}`;
const NO_CERT_CONTEXT = `e2e-remote-tls-nocert-${process.pid}`;
const MAIN_CONTEXT = `e2e-remote-main-${process.pid}`;
const UNAME = ['--expect-uname', '--command', 'uname', '--command=-m'];

async function json(file: string): Promise<SessionReport> {
  return JSON.parse(await readFile(file, 'utf8')) as SessionReport;
}

/**
 * What either engine holds that a run could leave: the classic one whole; of the main one (shared
 * with whatever else runs here), the images of the tested repository and alpine (a node's probe
 * reads its handlers through an alpine container), those of a run's registry, and (after) the
 * harness's labelled things.
 */
async function mainImages(): Promise<string[]> {
  return [...(await repositoryImages([REPOSITORY, 'alpine'])), ...(await runImages())];
}

/**
 * The references a platform's container may start from, read from the registry's own index: the
 * platform's manifest by digest, or the index by digest when it lists that manifest's platform once.
 */
async function runReferences(digest: string): Promise<string[]> {
  const index = await registryIndex(REGISTRY, 'library/alpine', 'latest');
  const entry = index.entries.find((e) => e.digest === digest);
  expect(entry, `the registry's index of ${ALPINE} lists ${digest}`).toBeDefined();
  const once = index.entries.filter((e) => e.platform === entry!.platform).length === 1;
  return [`${REPOSITORY}@${digest}`, ...(once ? [`${REPOSITORY}@${index.digest}`] : [])];
}

/** A session's run containers of one platform (named <session>-run-<os>-<arch>[-<variant>]-<suffix>). */
function runsOf(containers: readonly CreatedContainer[], platform: string): CreatedContainer[] {
  return containers.filter((c) => c.name.startsWith(`${c.run}-run-${platform.replaceAll('/', '-')}-`));
}

async function snapshot() {
  return { classic: await engineState(CLASSIC_HOST), main: await mainImages() };
}

async function expectNothingLeft(before: Awaited<ReturnType<typeof snapshot>>) {
  expect(await tunnelsLeft(), 'no docker system dial-stdio and no ssh session outlives the run').toEqual([]);
  expect(await engineState(CLASSIC_HOST), 'the classic-store engine (the TLS node) holds what it held before').toBe(before.classic);
  expect(await mainImages(), 'the main engine (the ssh node) holds the alpine and run-registry images it held before').toEqual(before.main);
  expect((await execa('docker', ['ps', '-aq', '--filter', `label=${SESSION_LABEL}`], { env: engineEnv(CLASSIC_HOST) })).stdout).toBe('');
  expect(await harnessLeftovers()).toEqual([]);
}

beforeAll(async () => {
  // The fixtures the set-up makes, each the engine it stands for; a clear failure otherwise (never a skip).
  await requireLoopbackNodes();
  for (const name of [TLS_CONTEXT, NO_CERT_CONTEXT, MAIN_CONTEXT]) await removeContext(name);
  await createTlsContext(TLS_CONTEXT, { clientCertificate: true });
  await createTlsContext(NO_CERT_CONTEXT, { clientCertificate: false });
  await createContext(MAIN_CONTEXT, mainEngineHost());
});

afterAll(async () => {
  for (const name of [TLS_CONTEXT, NO_CERT_CONTEXT, MAIN_CONTEXT]) await removeContext(name);
});

describe('remote nodes: tcp with TLS, and ssh', () => {
  test('verify: arm64 on the TLS node (a docker context with its certificates), s390x through ssh: each passes where its result says, and nothing stays', async () => {
    const before = await snapshot();
    const started = Date.now();
    const file = `${ROOT}reports/e2e-remote-nodes-verify.json`;
    const r = await cli([
      'verify',
      ALPINE,
      '--platform',
      'linux/amd64,linux/arm64,linux/s390x',
      '--node',
      `linux/arm64=${TLS_CONTEXT}`,
      '--node',
      `linux/s390x=${SSH_HOST}`,
      ...UNAME,
      '--reporter',
      `json=${file}`,
      '--quiet',
    ]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const report = await json(file);
    expect(report.platforms.map((p) => [p.platform, p.node, p.status, p.output])).toEqual([
      ['linux/amd64', 'default', 'pass', 'x86_64'],
      ['linux/arm64', TLS_CONTEXT, 'pass', 'aarch64'],
      ['linux/s390x', SSH_HOST, 'pass', 's390x'],
    ]);
    // The engines' own word: the arm64 container was made on the classic-store engine (the TLS node),
    // the s390x one (and the amd64 one) on the main engine, each from a reference pinning the manifest the report names.
    const digest = (platform: string) => report.platforms.find((p) => p.platform === platform)!.digest!;
    const refs = Object.fromEntries(
      await Promise.all(['linux/amd64', 'linux/arm64', 'linux/s390x'].map(async (p) => [p, await runReferences(digest(p))] as const)),
    );
    const onClassic = await harnessContainers(CLASSIC_HOST, started);
    const onMain = await harnessContainers(mainEngineHost(), started);
    const seen = (cs: readonly CreatedContainer[]) => cs.map((c) => `${c.name} ${c.image}`).join('\n');
    // This run's session: the one whose arm64 run the classic-store engine made (other sessions may work on these engines meanwhile).
    const arm64 = runsOf(onClassic, 'linux/arm64');
    expect(arm64.length, seen(onClassic)).toBeGreaterThan(0);
    const session = arm64[0]!.run;
    const mine = (cs: readonly CreatedContainer[]) => cs.filter((c) => c.run === session);
    expect(
      runsOf(mine(onClassic), 'linux/arm64').map((c) => refs['linux/arm64']!.includes(c.image)),
      seen(onClassic),
    ).toEqual([true]);
    expect(
      [...runsOf(mine(onClassic), 'linux/s390x'), ...runsOf(mine(onClassic), 'linux/amd64')],
      'no other platform ran on the TLS node',
    ).toEqual([]);
    expect(
      runsOf(mine(onMain), 'linux/s390x').map((c) => refs['linux/s390x']!.includes(c.image)),
      seen(mine(onMain)),
    ).toEqual([true]);
    expect(
      runsOf(mine(onMain), 'linux/amd64').map((c) => refs['linux/amd64']!.includes(c.image)),
      seen(mine(onMain)),
    ).toEqual([true]);
    expect(runsOf(mine(onMain), 'linux/arm64'), 'arm64 did not run on the main engine').toEqual([]);
    await expectNothingLeft(before);
  });

  test('verify: the TLS node by its URL, with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, beside a default engine named by a context (which those variables do not touch)', async () => {
    const before = await snapshot();
    const file = `${ROOT}reports/e2e-remote-nodes-url.json`;
    // The docker CLI applies DOCKER_TLS_VERIFY to whatever DOCKER_HOST or its default names, and TLS over the main engine's unix socket fails: the default engine is named by a context instead.
    const env = { DOCKER_HOST: '', DOCKER_CONTEXT: MAIN_CONTEXT, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: clientCertDir() };
    const r = await cli(
      [
        'verify',
        ALPINE,
        '--platform',
        'linux/amd64,linux/arm64,linux/s390x',
        '--node',
        `linux/arm64=${TLS_HOST}`,
        '--node',
        `linux/s390x=${SSH_HOST}`,
        ...UNAME,
        '--reporter',
        `json=${file}`,
        '--quiet',
      ],
      env,
    );
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const report = await json(file);
    expect(report.platforms.map((p) => [p.platform, p.node, p.status, p.output])).toEqual([
      ['linux/amd64', `context ${MAIN_CONTEXT}`, 'pass', 'x86_64'],
      ['linux/arm64', TLS_HOST, 'pass', 'aarch64'],
      ['linux/s390x', SSH_HOST, 'pass', 's390x'],
    ]);
    await expectNothingLeft(before);
  });

  test('build: a builder with a node on the TLS engine and one through ssh builds each platform there, runs it there, and is removed from both', async () => {
    const before = await snapshot();
    const file = `${ROOT}reports/e2e-remote-nodes-build.json`;
    const r = await cli([
      'run',
      'test/e2e/fixtures/echo-platform.ts',
      '--platform',
      'linux/amd64,linux/arm64,linux/s390x',
      '--node',
      `linux/arm64=${TLS_CONTEXT}`,
      '--node',
      `linux/s390x=${SSH_HOST}`,
      '--reporter',
      `json=${file}`,
      '--quiet',
    ]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const report = await json(file);
    const builder =
      /builder of 3 member\(s\).*?: (mah-[0-9a-f]+-members)0 on default \(linux\/amd64\); \1 ?1 on (\S+) \(linux\/arm64\); \1 ?2 on (\S+) \(linux\/s390x\)/.exec(
        report.notes.join('\n'),
      );
    expect(builder, report.notes.join('\n')).not.toBeNull();
    expect([builder![2], builder![3]]).toEqual([TLS_CONTEXT, SSH_HOST]);
    const name = builder![1]!;
    expect(report.platforms.map((p) => [p.platform, p.node, p.builtOn, p.status])).toEqual([
      ['linux/amd64', 'default', `${name}0`, 'pass'],
      ['linux/arm64', TLS_CONTEXT, `${name}1`, 'pass'],
      ['linux/s390x', SSH_HOST, `${name}2`, 'pass'],
    ]);
    expect((await execa('docker', ['buildx', 'ls', '--format', '{{.Name}}'])).stdout).not.toContain(name);
    await expectNothingLeft(before);
  });

  test('TLS without the client certificate, and a TLS port spoken to without TLS, are one sentence and exit 2, leaving nothing', async () => {
    const before = await snapshot();
    const noCert = await cli([
      'verify',
      ALPINE,
      '--platform',
      'linux/arm64',
      '--node',
      `linux/arm64=${NO_CERT_CONTEXT}`,
      ...UNAME,
      '--quiet',
    ]);
    expect(noCert.exitCode, `${noCert.stdout}\n${noCert.stderr}`).toBe(2);
    expect(noCert.stderr.trim()).toMatch(
      new RegExp(`^multiarch-harness: The node ${NO_CERT_CONTEXT} \\(for linux/arm64\\) cannot be used: [^\\n]+$`),
    );
    expect(noCert.stderr).not.toMatch(/\n\s+at /);
    const plain = await cli(['verify', ALPINE, '--platform', 'linux/arm64', '--node', `linux/arm64=${TLS_HOST}`, ...UNAME, '--quiet'], {
      DOCKER_TLS_VERIFY: '',
      DOCKER_CERT_PATH: '',
      DOCKER_TLS: '',
    });
    expect(plain.exitCode, `${plain.stdout}\n${plain.stderr}`).toBe(2);
    expect(plain.stderr.trim()).toMatch(
      /^multiarch-harness: The node tcp:\/\/127\.0\.0\.1:2376 \(for linux\/arm64\) cannot be used: [^\n]*HTTPS[^\n]*$/,
    );
    expect(plain.stderr).not.toMatch(/\n\s+at /);
    await expectNothingLeft(before);
  });
});
