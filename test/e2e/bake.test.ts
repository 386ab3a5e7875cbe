// Issue 27.3 for real: the bake sample (samples/bake/docker-bake.hcl: the Go sample cross-compiled,
// echo-platform, and a greeting target a matrix expands over a build argument) built with one
// `docker buildx bake --push` to a testcontainers registry; every target's image, run pinned by its
// digest on each of its platforms, prints what its expectation says; every report groups the rows
// by target; nothing is left behind. A target or a bake file that is not there is one sentence.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { goTarget, parsePlatform } from '../../harness/platform/platform.ts';
import type { SessionReport } from '../../harness/result/model.ts';
import { allContainers, cli, harnessLeftovers, ROOT, runImages } from './helpers.ts';
import { engineNative, probeDirectly } from './support/host-facts.ts';

/** Each target of the sample, its platforms in the file's order, and what each platform must print (undefined: its uname). */
const TARGETS: Array<{ name: string; platforms: string[]; prints?: (platform: string) => string }> = [
  {
    name: 'hello',
    platforms: ['linux/amd64', 'linux/386', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm64', 'linux/ppc64le', 'linux/s390x'],
    prints: (p) => `Hello, linux/${goTarget(parsePlatform(p)).goarch}!`,
  },
  { name: 'echo', platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'] },
  { name: 'greeting-en', platforms: ['linux/amd64', 'linux/arm64'], prints: (p) => `Hello from ${p}!` },
  { name: 'greeting-fr', platforms: ['linux/amd64', 'linux/arm64'], prints: (p) => `Bonjour from ${p}!` },
];

/**
 * The targets in the order the buildx in front of us gives the default group's (its `bake --print`,
 * groups expanded): the file's order up to buildx 0.19, sorted by name since 0.20. The report keeps
 * buildx's order.
 */
async function targetsInBuildxOrder(): Promise<typeof TARGETS> {
  const r = await execa('docker', ['buildx', 'bake', '--print', '-f', `${ROOT}samples/bake/docker-bake.hcl`], {
    cwd: `${ROOT}samples/bake`,
  });
  const printed = JSON.parse(r.stdout) as { group?: Record<string, { targets?: string[] }>; target: Record<string, unknown> };
  const expand = (name: string): string[] =>
    printed.group?.[name]
      ? printed.group[name].targets!.flatMap(expand)
      : Object.keys(printed.target).filter((t) => t === name || t.startsWith(`${name}-`));
  const order = [...new Set(expand('default'))];
  expect(order.slice().sort()).toEqual(TARGETS.map((t) => t.name).sort());
  return order.map((name) => TARGETS.find((t) => t.name === name)!);
}

let dir: string;
let ordered: typeof TARGETS;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-bake-e2e-'));
  ordered = await targetsInBuildxOrder();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function oneSentence(stderr: string): void {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^multiarch-harness: /);
}

describe('bake scenario', () => {
  test('every target’s platforms pass, each in the mode this host runs it; the reports group rows by target; nothing is left behind', async () => {
    const before = await allContainers();
    // What an earlier process left (a machine stopped mid-run) is not this run's: compared with the store before it.
    const imagesBefore = await runImages();
    const json = join(dir, 'bake.json');
    const junit = join(dir, 'bake.junit.xml');
    const markdown = join(dir, 'bake.md');
    const r = await cli([
      'run',
      'scenarios/bake.ts',
      // Every step built again, so each target's and platform's build time measures real work.
      '--no-cache',
      '--quiet',
      '--reporter',
      `json=${json}`,
      '--reporter',
      `junit=${junit}`,
      '--reporter',
      `markdown=${markdown}`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.exitCode, r.stdout).toBe(0);
    const report = JSON.parse(await readFile(json, 'utf8')) as SessionReport;

    expect(report.schemaVersion).toBe(2);
    expect(report.kind).toBe('bake');
    // Each target once, in buildx's order (the matrix expanded), its image pushed to the session's registry.
    expect(report.targets?.map((t) => t.name)).toEqual(ordered.map((t) => t.name));
    for (const t of report.targets!) {
      expect(t.ref).toMatch(new RegExp(`^127\\.0\\.0\\.1:\\d+/mah-[0-9a-f]{8}/${t.name}:latest$`));
      expect(t.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
      expect(t.buildMs).toBeGreaterThan(0);
    }
    expect(new Set(report.targets!.map((t) => t.digest)).size).toBe(TARGETS.length);
    // The rows: grouped by target, each target's platforms in its order.
    expect(report.platforms.map((p) => `${p.target} ${p.platform}`)).toEqual(
      ordered.flatMap((t) => t.platforms.map((p) => `${t.name} ${p}`)),
    );

    // The mode each platform must have comes from running its probe directly on this host: taken by
    // a binfmt_misc handler, qemu; else the engine's own architecture is native, another one compat.
    const native = parsePlatform(await engineNative());
    for (const p of report.platforms) {
      const platform = parsePlatform(p.platform);
      const direct = await probeDirectly(platform);
      expect(direct.ran, `${p.platform} runs on this host`).toBe(true);
      const mode = direct.handler ? 'qemu' : platform.architecture === native.architecture ? 'native' : 'compat';
      expect(p.status, `${p.target} ${p.platform}: ${p.message}`).toBe('pass');
      expect(p.mode, `${p.target} ${p.platform}`).toBe(mode);
      const prints = TARGETS.find((t) => t.name === p.target)!.prints;
      // echo-platform prints the uname -a its RUN saw on that platform: its machine field is the uname -m this mode gives.
      if (prints) expect(p.output).toBe(prints(p.platform));
      else expect(p.output.trim().split(/\s+/)).toContain(direct.machine);
      expect(p.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
      expect(p.buildMs, `${p.target} ${p.platform}`).toBeGreaterThan(0);
    }

    // The terminal matrix, JUnit and Markdown: a group per target, in order.
    const headings = [...r.stdout.matchAll(/^target (\S+) 127\.0\.0\.1:\d+\/\S+@sha256:[a-f0-9]{64}$/gm)].map((m) => m[1]);
    expect(headings).toEqual(ordered.map((t) => t.name));
    const xml = await readFile(junit, 'utf8');
    expect([...xml.matchAll(/<testsuite name="([^"]+)"/g)].map((m) => m[1])).toEqual(ordered.map((t) => `bake.${t.name}`));
    const valid = await execa('xmllint', ['--noout', '--schema', `${ROOT}schemas/junit.xsd`, junit], { reject: false });
    expect(valid.exitCode, valid.stderr).toBe(0);
    const md = await readFile(markdown, 'utf8');
    expect([...md.matchAll(/^#### target `([^`]+)`/gm)].map((m) => m[1])).toEqual(ordered.map((t) => t.name));

    expect(await harnessLeftovers()).toEqual([]);
    expect(await allContainers()).toEqual(before);
    expect(await runImages()).toEqual(imagesBefore);
  });

  test('a target that is not in the bake file, and a bake file that does not exist: one sentence each, exit 2, nothing created', async () => {
    const before = await allContainers();
    const target = await cli(['run', 'test/e2e/fixtures/bake-no-such-target.ts']);
    expect(target.exitCode).toBe(2);
    oneSentence(target.stderr);
    expect(target.stderr).toMatch(/The bake file .*samples\/bake\/docker-bake\.hcl has no target or group named nosuch\./);
    const file = await cli(['run', 'test/e2e/fixtures/bake-missing-file.ts']);
    expect(file.exitCode).toBe(2);
    oneSentence(file.stderr);
    expect(file.stderr).toMatch(/There is no bake file at .*test\/e2e\/fixtures\/docker-bake\.missing\.hcl\./);
    expect(await harnessLeftovers()).toEqual([]);
    expect(await allContainers()).toEqual(before);
  });
});
