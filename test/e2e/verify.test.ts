// `verify` against images built here into a real registry: a correct 9-platform image passes all
// four checks; an arm64 entry holding an amd64 binary, a missing platform, and GOARM=7 code in an
// arm/v6 entry each fail, naming the platform and the check.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { buildAndPush } from '../../harness/engine/build.ts';
import { startRegistry, type LocalRegistry } from '../../harness/registry/local-registry.ts';
import { parsePlatformList } from '../../harness/platform/platform.ts';
import type { RunReport } from '../../harness/result/model.ts';
import { Session } from '../../harness/engine/session.ts';
import { execa } from 'execa';
import { RUN_LABEL } from '../../harness/engine/session.ts';
import { cli, ROOT } from './helpers.ts';

const NINE = 'linux/amd64,linux/386,linux/arm/v6,linux/arm/v7,linux/arm64,linux/ppc64le,linux/riscv64,linux/s390x,linux/mips64le';
const ctx = new Session();
let registry: LocalRegistry;
const images: Record<string, string> = {};

async function build(name: string, dockerfile: string, platforms: string): Promise<string> {
  const tag = `${registry.address}/${name}:test`;
  await buildAndPush({ context: `${ROOT}samples/hello-go`, dockerfile, platforms: parsePlatformList(platforms), tag, labels: ctx.labels, timeoutMs: 30 * 60_000 });
  ctx.trackImage(tag);
  return tag;
}

async function verify(ref: string, ...args: string[]): Promise<{ code: number | undefined; report: RunReport; stdout: string }> {
  const file = `${ROOT}reports/e2e-verify-${Math.random().toString(36).slice(2, 8)}.json`;
  const r = await cli(['verify', ref, '--quiet', '--reporter', `json=${file}`, ...args]);
  return { code: r.exitCode, report: JSON.parse(await readFile(file, 'utf8')) as RunReport, stdout: r.stdout };
}

beforeAll(async () => {
  registry = await startRegistry(ctx);
  images.good = await build('hello-nine', `${ROOT}samples/hello-go/Dockerfile.cross-scratch`, NINE);
  images.wrongArch = await build('hello-wrong-arch', `${ROOT}test/e2e/fixtures/dockerfiles/wrong-arch`, 'linux/amd64,linux/arm64');
  images.armv6 = await build('hello-article-cross', `${ROOT}test/e2e/fixtures/dockerfiles/article-cross-scratch`, 'linux/arm/v6,linux/arm/v7');
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
      expect(Object.values(p.checks!).map((c) => c.status), `${p.platform}: ${p.message}`).toEqual(['pass', 'pass', 'pass', 'pass']);
      expect(p.binary).toMatch(/^\/hello: ELF/);
    }
  });

  test('an arm64 entry holding an amd64 binary fails the binary and run checks of linux/arm64 only', async () => {
    const { code, report, stdout } = await verify(images.wrongArch!, '--expect-output', 'Hello, {os}/{goarch}!');
    expect(code).toBe(1);
    const arm64 = report.platforms.find((p) => p.platform === 'linux/arm64')!;
    expect(arm64.checks!.index.status).toBe('pass');
    expect(arm64.checks!.config.status).toBe('pass');
    expect(arm64.checks!.binary).toMatchObject({ status: 'fail', message: expect.stringMatching(/built for x86-64 \(e_machine 62\), not linux\/arm64/) });
    expect(arm64.checks!.binary.message).toMatch(/runs natively on this linux\/amd64 host, not under qemu-aarch64/);
    // The x86-64 binary ran natively on this amd64 host: the run check sees the wrong greeting.
    expect(arm64.checks!.run).toMatchObject({ status: 'fail', message: expect.stringMatching(/expected the line "Hello, linux\/arm64!", got "Hello, linux\/amd64!"/) });
    expect(report.platforms.find((p) => p.platform === 'linux/amd64')!.status).toBe('pass');
    expect(stdout).toMatch(/linux\/arm64: binary: .*x86-64/);
  });

  test('a container-structure-test file with each kind of test passes on all 9 platforms, and fails on linux/arm64 only where that entry differs', async () => {
    const config = `${ROOT}test/e2e/fixtures/structure-tests/hello.yaml`;
    const good = await verify(images.good!, '--config', config);
    expect(good.code, good.stdout).toBe(0);
    expect(good.report.platforms).toHaveLength(9);
    for (const p of good.report.platforms) {
      expect(p.structureTests!.map((t) => `${t.kind} ${t.status}`), `${p.platform}: ${p.message}`).toEqual([
        'command pass', 'file-existence pass', 'file-existence pass', 'file-content pass', 'metadata pass',
      ]);
    }
    expect(good.stdout).toMatch(/TEST +KIND +amd64 +386 +arm\/v6/);

    const junitDir = await mkdtemp(join(tmpdir(), 'mah-cst-'));
    onTestFinished(() => rm(junitDir, { recursive: true, force: true }));
    const junit = join(junitDir, 'junit.xml');
    const bad = await verify(images.wrongArch!, '--config', config, '--reporter', `junit=${junit}`);
    expect(bad.code).toBe(1);
    const byPlatform = Object.fromEntries(bad.report.platforms.map((p) => [p.platform, p]));
    expect(byPlatform['linux/amd64']!.status).toBe('pass');
    const failed = byPlatform['linux/arm64']!.structureTests!.filter((t) => t.status === 'fail').map((t) => t.name);
    // The amd64 program in the arm64 entry greets as amd64 (it runs natively here) and its build info says GOARCH=amd64.
    expect(failed).toEqual(['greets its own platform', 'built by Go for this platform']);
    expect(byPlatform['linux/arm64']!.message).toMatch(/test "greets its own platform": expected \/Hello, \{os\}\/\{goarch\}!\/ in stdout, got "Hello, linux\/amd64!"/);
    const xml = await readFile(junit, 'utf8');
    expect(xml).toMatch(/<testcase classname="[^"]*linux\/arm64" name="linux\/arm64 test greets its own platform" time="[\d.]+">\s*<failure/);
    expect(xml).toMatch(/<testcase classname="[^"]*linux\/amd64" name="linux\/amd64 test greets its own platform" time="[\d.]+">\s*<\/testcase>/);
  });

  test('a claimed platform missing from the index fails its index check', async () => {
    const { code, report, stdout } = await verify(images.good!, '--platforms', 'linux/amd64,linux/ppc64', '--expect-output', 'Hello, {os}/{goarch}!');
    expect(code).toBe(1);
    const ppc64 = report.platforms.find((p) => p.platform === 'linux/ppc64')!;
    expect(ppc64.checks!.index).toMatchObject({ status: 'fail', message: expect.stringMatching(/the index has no entry for linux\/ppc64 \(it lists .*linux\/ppc64le/) });
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
    expect(bad.stderr).toMatch(/is not an image reference/);
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
    const r = await cli(['verify', images.wrongArch!, '--quiet', '--expect-output', 'Hello, {os}/{goarch}!',
      '--reporter', `junit=${dir}/r.xml`, '--reporter', `html=${dir}/r.html`, '--reporter', 'markdown'], { GITHUB_STEP_SUMMARY: summary });
    expect(r.exitCode).toBe(1);

    const junit = await execa('xmllint', ['--noout', '--schema', `${ROOT}schemas/junit.xsd`, `${dir}/r.xml`], { reject: false });
    expect(junit.stderr).toMatch(/validates/);
    expect(junit.exitCode).toBe(0);
    const xml = await readFile(`${dir}/r.xml`, 'utf8');
    expect(xml.match(/<testcase /g)).toHaveLength(2 * 4);
    expect(xml).toMatch(/<testcase classname="verify-hello-wrong-arch\.linux\/arm64" name="linux\/arm64 binary"[^>]*>\s*<failure message="[^"]*x86-64/);
    // An invalid document must not validate: the check can fail.
    await writeFile(`${dir}/bad.xml`, xml.replace(/(<testcase [^>]*?) time="[^"]*"/, '$1'));
    expect((await execa('xmllint', ['--noout', '--schema', `${ROOT}schemas/junit.xsd`, `${dir}/bad.xml`], { reject: false })).exitCode).not.toBe(0);

    const md = await readFile(summary, 'utf8');
    expect(md.startsWith('# earlier step\n')).toBe(true);
    expect(md).toMatch(/\| `linux\/arm64` \| qemu[^|]*\| ✅ \| ✅ \| ❌ \| ❌ \|/);

    const chromium = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${dir}/chromium`, '--window-size=1100,700'];
    const dom = await execa('chromium', [...chromium, '--dump-dom', `file://${dir}/r.html`]);
    expect(dom.stdout).toMatch(/<td class="fail"[^>]*>✗<\/td>/);
    expect(dom.stdout).toMatch(/<svg[^>]*aria-label="time per platform"/);
    await execa('chromium', [...chromium, `--screenshot=${dir}/r.png`, `file://${dir}/r.html`]);
    const png = await readFile(`${dir}/r.png`);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(10_000);
  });

  test('verify leaves nothing of its own behind (only this test\'s registry carries a run label)', async () => {
    const r = await execa('docker', ['ps', '-a', '--filter', `label=${RUN_LABEL}`, '--format', `{{.Label "${RUN_LABEL}"}}`]);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([ctx.id]);
  });
});
