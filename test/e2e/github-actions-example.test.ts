// The GitHub Actions example (examples/github-actions.yml), read as GitHub reads it and run here as far
// as it runs without GitHub.
//
// Read: every job has least-privilege permissions (read scopes only; packages: read exactly where an
// image on ghcr.io is pulled, after a login to ghcr.io with the job's token), and every action is at
// the major version the file's header names.
//
// Run: the verify-published job's steps, in its order, on this host, in a new user's project (the
// packed package installed as a devDependency, so `npm ci` installs what the lock file names). Its
// `run:` steps run as GitHub runs them (bash -eo pipefail, GitHub's variables set to local files), with
// the job's `${{ ... }}` expressions replaced by local equivalents: the matrix entry whose runner is
// of this host's architecture, and instead of ghcr.io/<repository>:latest the mirror's 8-platform alpine
// on 127.0.0.1:5001. A `uses:` step needs GitHub's runner; each is skipped, and the test prints which and
// what stands in for it here (this project for the checkout, this Node for setup-node, this host's
// handlers for setup-qemu-action: the job's own `doctor --require` proves them; no login, as the local
// image needs none).
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { harnessLeftovers, ROOT } from './helpers.ts';
import { engineNative } from './support/host-facts.ts';

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  if?: string;
}
interface Job {
  'runs-on': string;
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  strategy?: { matrix?: { include?: Array<Record<string, string>> } };
  steps: Step[];
}
interface Workflow {
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const FILE = join(ROOT, 'examples/github-actions.yml');
const text = await readFile(FILE, 'utf8');
const workflow = parse(text) as Workflow;

/** The majors chosen (the file's header says why); a `uses:` at any other version fails. */
const MAJORS: Record<string, string> = {
  'actions/checkout': 'v7',
  'actions/setup-node': 'v7',
  'actions/upload-artifact': 'v7',
  'actions/download-artifact': 'v8',
  'docker/setup-qemu-action': 'v4',
  'docker/setup-buildx-action': 'v4',
  'docker/login-action': 'v4',
};

/** What stands in here for each action, which only GitHub's runner can run. */
const STAND_INS: Record<string, string> = {
  'actions/checkout': 'the new project folder stands in for the checked-out repository',
  'actions/setup-node': `this Node (${process.version}) stands in`,
  'docker/setup-qemu-action': "this host's binfmt_misc handlers (its set-up's) stand in; the job's `doctor --require` proves them",
  'docker/login-action': 'no GitHub token here, and the local image needs no login',
  'docker/setup-buildx-action': "this engine's buildx stands in",
  'actions/upload-artifact': 'the report is read from the project folder instead',
  'actions/download-artifact': 'no other job ran to download from',
};

/** GitHub's runner labels, by the architecture of their machines. */
const RUNNER_PLATFORM: Record<string, string> = { 'ubuntu-24.04': 'linux/amd64', 'ubuntu-24.04-arm': 'linux/arm64' };

/** Instead of ghcr.io/<repository>:latest: the mirror's alpine, published for 8 platforms (all the matrix names). */
const LOCAL_IMAGE = '127.0.0.1:5001/library/alpine:latest';

const actionOf = (uses: string) => uses.split('@')[0]!;
/** Whether a job pulls from ghcr.io: its image (env) or a command names it. */
const mentionsGhcr = (job: Job) => JSON.stringify({ env: job.env, run: job.steps.map((s) => s.run ?? '') }).includes('ghcr.io');

describe('the GitHub Actions example, as GitHub reads it', () => {
  test('the workflow grants nothing by default, and every job asks for read scopes only', () => {
    expect(workflow.permissions).toEqual({});
    for (const [name, job] of Object.entries(workflow.jobs)) {
      expect(job.permissions, `${name} has no permissions`).toBeDefined();
      const wanted: Record<string, string> = { contents: 'read', ...(mentionsGhcr(job) ? { packages: 'read' } : {}) };
      expect(job.permissions, name).toEqual(wanted);
    }
  });

  test('a job that verifies an image on ghcr.io logs in to it with its own token, before the verify', () => {
    const ghcrJobs = Object.entries(workflow.jobs).filter(([, job]) => mentionsGhcr(job));
    expect(ghcrJobs.map(([name]) => name)).toEqual(['verify-published']);
    for (const [name, job] of ghcrJobs) {
      const login = job.steps.findIndex((s) => s.uses && actionOf(s.uses) === 'docker/login-action');
      expect(login, `${name} has no docker/login-action step`).toBeGreaterThanOrEqual(0);
      expect(job.steps[login]!.with).toEqual({
        registry: 'ghcr.io',
        username: '${{ github.actor }}',
        password: '${{ secrets.GITHUB_TOKEN }}',
      });
      const verify = job.steps.findIndex((s) => s.run?.includes('multiarch-harness verify'));
      expect(verify, `${name} verifies nothing`).toBeGreaterThan(login);
    }
  });

  test("every action is at the major the file's header names", () => {
    const uses = Object.values(workflow.jobs).flatMap((job) => job.steps.flatMap((s) => (s.uses ? [s.uses] : [])));
    expect(uses.length).toBeGreaterThan(0);
    for (const u of uses) {
      const [action, version] = u.split('@');
      expect(Object.keys(MAJORS), `${u}: an action the test does not know`).toContain(action);
      expect(version, u).toBe(MAJORS[action!]);
    }
    const header = text.slice(0, text.indexOf('\nname:'));
    for (const [action, major] of Object.entries(MAJORS))
      expect(header, `the header names ${action}@${major}`).toContain(`${action}@${major}`);
  });
});

// ---------------------------------------------------------------------------------------------------
// The verify job, run here.

/** The environment of a user's shell: without what npm and vitest put into this process (as package.test.ts). */
const userEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|vitest|init_cwd$)/i.test(k))) as Record<
  string,
  string
>;

let tmp = '';
let project = '';

/** A step's text with each `${{ expr }}` replaced from `values`; an expression with no local equivalent fails the test. */
function substitute(s: string, values: Record<string, string>): string {
  return s.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expr: string) => {
    const v = values[expr];
    if (v === undefined) throw new Error(`${FILE}: no local equivalent for \${{ ${expr} }}: add one to the test`);
    return v;
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mah-gha-'));
  project = join(tmp, 'project');
  const packed = await execa('npm', ['pack', '--pack-destination', tmp], {
    cwd: ROOT,
    env: userEnv,
    extendEnv: false,
    reject: false,
    all: true,
  });
  expect(packed.exitCode, packed.all).toBe(0);
  const tarball = (await readdir(tmp)).find((f) => f.endsWith('.tgz'));
  expect(tarball).toBeDefined();
  // The repository the workflow is copied into: multiarch-harness a devDependency, with a lock file.
  await mkdir(project);
  await writeFile(join(project, 'package.json'), `${JSON.stringify({ name: 'mah-gha-user', private: true, type: 'module' }, null, 2)}\n`);
  const installed = await execa('npm', ['install', '--save-dev', join(tmp, tarball!), '--no-audit', '--no-fund'], {
    cwd: project,
    env: userEnv,
    extendEnv: false,
    reject: false,
    all: true,
  });
  expect(installed.exitCode, installed.all).toBe(0);
  await rm(join(project, 'node_modules'), { recursive: true, force: true }); // npm ci puts it back, from the lock file
}, 10 * 60_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
  expect(await harnessLeftovers()).toEqual([]);
});

describe('the GitHub Actions example, run here as far as it runs without GitHub', () => {
  test(
    "verify-published: its run steps, in its order, for the matrix entry of this host's architecture",
    async () => {
      const job = workflow.jobs['verify-published']!;
      const native = await engineNative();
      const include = job.strategy?.matrix?.include ?? [];
      const index = include.findIndex((m) => RUNNER_PLATFORM[m.runner!] === native);
      expect(index, `no matrix entry of verify-published runs on ${native}`).toBeGreaterThanOrEqual(0);
      const entry = include[index]!;
      const values: Record<string, string> = {
        'matrix.runner': entry.runner!,
        'matrix.platforms': entry.platforms!,
        'strategy.job-index': String(index),
        'github.repository': 'multiarch-harness/example',
        'github.actor': 'local',
      };
      const jobEnv = Object.fromEntries(Object.entries(job.env ?? {}).map(([k, v]) => [k, substitute(String(v), values)]));
      expect(jobEnv.IMAGE, 'the job verifies its IMAGE').toMatch(/^ghcr\.io\//);
      const notes = [`IMAGE: ${jobEnv.IMAGE} -> ${LOCAL_IMAGE} (this host's mirror; no ghcr.io here)`];
      jobEnv.IMAGE = LOCAL_IMAGE;

      // What GitHub gives every step: its variables, the files it reads back, the workspace.
      const github = join(tmp, 'github');
      await mkdir(github, { recursive: true });
      const summary = join(github, 'step-summary.md');
      const githubEnv = {
        CI: 'true',
        GITHUB_ACTIONS: 'true',
        GITHUB_WORKSPACE: project,
        GITHUB_STEP_SUMMARY: summary,
        GITHUB_ENV: join(github, 'env'),
        GITHUB_OUTPUT: join(github, 'output'),
        GITHUB_PATH: join(github, 'path'),
        RUNNER_TEMP: github,
        // A state folder of this run's own: doctor observes this host afresh, as on a new runner.
        MULTIARCH_STATE_DIR: join(tmp, 'state'),
      };
      for (const f of ['env', 'output', 'path']) await writeFile(join(github, f), '');
      await writeFile(summary, '');

      const ran: string[] = [];
      const skipped: string[] = [];
      for (const step of job.steps) {
        const label = step.name ?? step.uses ?? step.run!.split('\n')[0]!;
        if (step.uses) {
          const why = STAND_INS[actionOf(step.uses)];
          expect(why, `${step.uses}: the test does not say what stands in for it here`).toBeDefined();
          skipped.push(`${step.uses}: ${why}`);
          continue;
        }
        if (step.if) notes.push(`${label}: its condition (${step.if}) is taken as true`);
        const script = substitute(step.run!, values);
        const stepEnv = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, substitute(String(v), values)]));
        const r = await execa('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
          cwd: project,
          env: { ...userEnv, ...githubEnv, ...jobEnv, ...stepEnv },
          extendEnv: false,
          reject: false,
          all: true,
          timeout: 20 * 60_000,
        });
        console.log(`github-actions example: ran ${JSON.stringify(label)} (exit ${r.exitCode})\n${r.all}`);
        expect(r.exitCode, `${label}\n${script}\n${r.all}`).toBe(0);
        ran.push(label);
      }
      console.log(
        [
          `github-actions example: verify-published as on ${entry.runner} (${native}), platforms ${entry.platforms}`,
          ...notes.map((n) => `  instead: ${n}`),
          ...skipped.map((s) => `  skipped (needs GitHub's runner): ${s}`),
          "  not run: build-and-verify (its scenarios/my-image.ts is the user's) and merge (it needs the other runner's shard)",
        ].join('\n'),
      );
      // The steps GitHub would run, in its order: npm ci, then the verify.
      expect(ran).toEqual(['npm ci', "Verify this runner's platforms"]);
      expect(skipped.map((s) => s.split(':')[0])).toEqual([
        'actions/checkout@v7',
        'actions/setup-node@v7',
        'docker/setup-qemu-action@v4',
        'docker/login-action@v4',
        'actions/upload-artifact@v7',
      ]);

      // What the artifact would have held: every platform of the entry, each passing all four checks.
      const report = JSON.parse(await readFile(join(project, 'reports/shard.json'), 'utf8')) as {
        kind: string;
        title: string;
        platforms: Array<{ platform: string; status: string; checks: Record<string, { status: string }> }>;
      };
      expect(report.kind).toBe('verify');
      expect(report.title).toContain('127.0.0.1:5001/library/alpine');
      expect(report.platforms.map((p) => p.platform).sort()).toEqual(entry.platforms!.split(',').sort());
      for (const p of report.platforms) {
        expect(p.status, p.platform).toBe('pass');
        expect(
          Object.values(p.checks).map((c) => c.status),
          p.platform,
        ).toEqual(['pass', 'pass', 'pass', 'pass']);
      }
    },
    30 * 60_000,
  );
});
