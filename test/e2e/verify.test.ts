// `verify` against images built here into a real registry: a correct 9-platform image passes all
// four checks; a foreign entry holding a binary of this host (arm64 holding amd64 on an amd64 host), a
// missing platform, and GOARM=7 code in an
// arm/v6 entry each fail, naming the platform and the check.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { buildAndPush } from '../../harness/build/build.ts';
import { startRegistry, type LocalRegistry } from '../../harness/session/local-registry.ts';
import { elfFacts, goTarget, parsePlatform, parsePlatformList, qemuHandlerName } from '../../harness/platform/platform.ts';
import type { SessionReport } from '../../harness/result/model.ts';
import { Session } from '../../harness/session/session.ts';
import { execa } from 'execa';
import { SESSION_LABEL } from '../../harness/session/session.ts';
import { cli, ROOT } from './helpers.ts';
import { engineNative } from './support/host-facts.ts';

const NINE = 'linux/amd64,linux/386,linux/arm/v6,linux/arm/v7,linux/arm64,linux/ppc64le,linux/riscv64,linux/s390x,linux/mips64le';
const ctx = new Session();
let registry: LocalRegistry;
const images: Record<string, string> = {};
/** The build platform (this host's), and a foreign platform whose entry the wrong-arch build fills with the host's binary. */
let native: string;
let foreign: string;
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const goarch = (p: string) => goTarget(parsePlatform(p)).goarch;

async function build(name: string, dockerfile: string, platforms: string): Promise<string> {
  const tag = `${registry.address}/${name}:test`;
  await buildAndPush({
    context: `${ROOT}samples/hello-go`,
    dockerfile,
    platforms: parsePlatformList(platforms),
    tag,
    labels: ctx.labels,
    timeoutMs: 30 * 60_000,
  });
  ctx.trackImage(tag);
  return tag;
}

async function verify(ref: string, ...args: string[]): Promise<{ code: number | undefined; report: SessionReport; stdout: string }> {
  const file = `${ROOT}reports/e2e-verify-${Math.random().toString(36).slice(2, 8)}.json`;
  const r = await cli(['verify', ref, '--quiet', '--reporter', `json=${file}`, ...args]);
  return { code: r.exitCode, report: JSON.parse(await readFile(file, 'utf8')) as SessionReport, stdout: r.stdout };
}

beforeAll(async () => {
  native = await engineNative();
  foreign = native === 'linux/arm64' ? 'linux/amd64' : 'linux/arm64';
  registry = await startRegistry(ctx);
  images.good = await build('hello-nine', `${ROOT}samples/hello-go/Dockerfile.cross-scratch`, NINE);
  images.wrongArch = await build('hello-wrong-arch', `${ROOT}test/e2e/fixtures/dockerfiles/wrong-arch`, `${native},${foreign}`);
  images.armv6 = await build(
    'hello-article-cross',
    `${ROOT}test/e2e/fixtures/dockerfiles/article-cross-scratch`,
    'linux/arm/v6,linux/arm/v7',
  );
}, 30 * 60_000);

afterAll(async () => {
  await ctx.cleanup();
});

describe('verify', () => {
  test('a correct image for 9 platforms passes all four checks on each', async () => {
    const { code, report } = await verify(images.good!, '--expect-output', 'Hello, {os}/{goarch}!');
    expect(code).toBe(0);
    expect(report.kind).toBe('verify');
    expect(report.platforms.map((p) => p.platform).sort()).toEqual(NINE.split(',').sort());
    for (const p of report.platforms) {
      expect(
        Object.values(p.checks!).map((c) => c.status),
        `${p.platform}: ${p.message}`,
      ).toEqual(['pass', 'pass', 'pass', 'pass']);
      expect(p.binary).toMatch(/^\/hello: ELF/);
    }
  });

  test("a foreign entry holding this host's binary fails the binary and run checks of that platform only", async () => {
    const { code, report, stdout } = await verify(images.wrongArch!, '--expect-output', 'Hello, {os}/{goarch}!');
    expect(code).toBe(1);
    const wrong = report.platforms.find((p) => p.platform === foreign)!;
    const machine = elfFacts(parsePlatform(native)).machine;
    expect(wrong.checks!.index.status).toBe('pass');
    expect(wrong.checks!.config.status).toBe('pass');
    expect(wrong.checks!.binary).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(new RegExp(`built for [^(]+ \\(e_machine ${machine}\\), not ${re(foreign)}`)),
    });
    expect(wrong.checks!.binary.message).toMatch(
      new RegExp(`runs natively on this ${re(native)} host, not under ${qemuHandlerName(parsePlatform(foreign))}`),
    );
    // The host's binary ran natively: the run check sees the wrong greeting.
    expect(wrong.checks!.run).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(
        new RegExp(`expected the line "Hello, linux/${goarch(foreign)}!", got "Hello, linux/${goarch(native)}!"`),
      ),
    });
    expect(report.platforms.find((p) => p.platform === native)!.status).toBe('pass');
    expect(stdout).toMatch(new RegExp(`${re(foreign)}: binary: .*e_machine ${machine}`));
  });

  test('a container-structure-test file with each kind of test passes on all 9 platforms, and fails on the mislabeled entry only', async () => {
    const config = `${ROOT}test/e2e/fixtures/structure-tests/hello.yaml`;
    const good = await verify(images.good!, '--config', config);
    expect(good.code, good.stdout).toBe(0);
    expect(good.report.platforms).toHaveLength(9);
    for (const p of good.report.platforms) {
      expect(
        p.structureTests!.map((t) => `${t.kind} ${t.status}`),
        `${p.platform}: ${p.message}`,
      ).toEqual(['command pass', 'file-existence pass', 'file-existence pass', 'file-content pass', 'metadata pass']);
    }
    expect(good.stdout).toMatch(/TEST +KIND +amd64 +386 +arm\/v6/);

    const junitDir = await mkdtemp(join(tmpdir(), 'mah-cst-'));
    onTestFinished(() => rm(junitDir, { recursive: true, force: true }));
    const junit = join(junitDir, 'junit.xml');
    const bad = await verify(images.wrongArch!, '--config', config, '--reporter', `junit=${junit}`);
    expect(bad.code).toBe(1);
    const byPlatform = Object.fromEntries(bad.report.platforms.map((p) => [p.platform, p]));
    expect(byPlatform[native]!.status).toBe('pass');
    const failed = byPlatform[foreign]!.structureTests!.filter((t) => t.status === 'fail').map((t) => t.name);
    // The host's program in the foreign entry greets as the host (it runs natively here) and its build info says the host's GOARCH.
    expect(failed).toEqual(['greets its own platform', 'built by Go for this platform']);
    expect(byPlatform[foreign]!.message).toMatch(
      new RegExp(
        `test "greets its own platform": expected /Hello, \\{os\\}/\\{goarch\\}!/ in stdout, got "Hello, linux/${goarch(native)}!"`,
      ),
    );
    const xml = await readFile(junit, 'utf8');
    expect(xml).toMatch(
      new RegExp(
        `<testcase classname="[^"]*${re(foreign)}" name="${re(foreign)} test greets its own platform" time="[\\d.]+">\\s*<failure`,
      ),
    );
    expect(xml).toMatch(
      new RegExp(
        `<testcase classname="[^"]*${re(native)}" name="${re(native)} test greets its own platform" time="[\\d.]+">\\s*</testcase>`,
      ),
    );
  });

  test('a claimed platform missing from the index fails its index check', async () => {
    const { code, report, stdout } = await verify(
      images.good!,
      '--platforms',
      'linux/amd64,linux/ppc64',
      '--expect-output',
      'Hello, {os}/{goarch}!',
    );
    expect(code).toBe(1);
    const ppc64 = report.platforms.find((p) => p.platform === 'linux/ppc64')!;
    expect(ppc64.checks!.index).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/the index has no entry for linux\/ppc64 \(it lists .*linux\/ppc64le/),
    });
    expect(ppc64.checks!.run.status).toBe('skip');
    expect(report.platforms.find((p) => p.platform === 'linux/amd64')!.status).toBe('pass');
    expect(stdout).toMatch(/linux\/ppc64: index: the index has no entry/);
  });

  test('GOARM=7 code in the arm/v6 entry fails check (c), though QEMU runs it', async () => {
    const { code, report } = await verify(images.armv6!, '--expect-output', 'Hello, {os}/{goarch}!');
    expect(code).toBe(1);
    const v6 = report.platforms.find((p) => p.platform === 'linux/arm/v6')!;
    expect(v6.checks!.binary).toMatchObject({ status: 'fail', message: expect.stringMatching(/GOARM=7, more than linux\/arm\/v6/) });
    expect(v6.checks!.run.status).toBe('pass');
    expect(report.platforms.find((p) => p.platform === 'linux/arm/v7')!.status).toBe('pass');
  });

  test('bad references and unreachable registries are usage or environment errors (exit 2)', async () => {
    const bad = await cli(['verify', 'Not A Ref']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/"Not A Ref" is neither an image reference .* nor a local image \(oci:DIR/);
    const closed = await cli(['verify', '127.0.0.1:9/nothing:latest']);
    expect(closed.exitCode).toBe(2);
    expect(closed.stderr).toMatch(/The registry 127\.0\.0\.1:9 cannot be reached/);
    expect(closed.stderr).not.toMatch(/^\s+at /m);
    const missing = await cli(['verify', `${registry.address}/hello-nine:nope`]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/has no manifest nope/);
  });

  test('reporters: JUnit valid against schemas/junit.xsd, Markdown appended to the step summary, HTML rendered by Chromium', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mah-reports-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const summary = join(dir, 'step-summary.md');
    await writeFile(summary, '# earlier step\n');
    const r = await cli(
      [
        'verify',
        images.wrongArch!,
        '--quiet',
        '--expect-output',
        'Hello, {os}/{goarch}!',
        '--reporter',
        `junit=${dir}/r.xml`,
        '--reporter',
        `html=${dir}/r.html`,
        '--reporter',
        'markdown',
      ],
      { GITHUB_STEP_SUMMARY: summary },
    );
    expect(r.exitCode).toBe(1);

    const junit = await execa('xmllint', ['--noout', '--schema', `${ROOT}schemas/junit.xsd`, `${dir}/r.xml`], { reject: false });
    expect(junit.stderr).toMatch(/validates/);
    expect(junit.exitCode).toBe(0);
    const xml = await readFile(`${dir}/r.xml`, 'utf8');
    expect(xml.match(/<testcase /g)).toHaveLength(2 * 4);
    expect(xml).toMatch(
      new RegExp(
        `<testcase classname="verify-hello-wrong-arch\\.${re(foreign)}" name="${re(foreign)} binary"[^>]*>\\s*<failure message="[^"]*e_machine ${elfFacts(parsePlatform(native)).machine}`,
      ),
    );
    // An invalid document must not validate: the check can fail.
    await writeFile(`${dir}/bad.xml`, xml.replace(/(<testcase [^>]*?) time="[^"]*"/, '$1'));
    expect(
      (await execa('xmllint', ['--noout', '--schema', `${ROOT}schemas/junit.xsd`, `${dir}/bad.xml`], { reject: false })).exitCode,
    ).not.toBe(0);

    const md = await readFile(summary, 'utf8');
    expect(md.startsWith('# earlier step\n')).toBe(true);
    expect(md).toMatch(new RegExp(`\\| \`${re(foreign)}\` \\| qemu[^|]*\\| ✅ \\| ✅ \\| ❌ \\| ❌ \\|`));

    const chromium = [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${dir}/chromium`,
      '--window-size=1100,700',
    ];
    const dom = await execa('chromium', [...chromium, '--dump-dom', `file://${dir}/r.html`]);
    expect(dom.stdout).toMatch(/<td class="fail"[^>]*>✗<\/td>/);
    expect(dom.stdout).toMatch(/<svg[^>]*aria-label="time per platform"/);
    await execa('chromium', [...chromium, `--screenshot=${dir}/r.png`, `file://${dir}/r.html`]);
    const png = await readFile(`${dir}/r.png`);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(10_000);
  });

  test("verify leaves nothing of its own behind (only this test's registry carries a run label)", async () => {
    const r = await execa('docker', ['ps', '-a', '--filter', `label=${SESSION_LABEL}`, '--format', `{{.Label "${SESSION_LABEL}"}}`]);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([ctx.id]);
  });
});
