// The check contract (harness/checks/check.ts): every check is one `Check` over a platform's context,
// whose inputs (checks/context.ts) are each computed once and shared. The checks' own judgements are
// tested in checks.test.ts; here, how they are composed and what each reads from its context.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { binaryCheck } from '../../harness/checks/binary-verdict.ts';
import type { Check, CheckOutcome } from '../../harness/checks/check.ts';
import { configCheck } from '../../harness/checks/config-check.ts';
import { platformContext } from '../../harness/checks/context.ts';
import { indexCheck } from '../../harness/checks/index-check.ts';
import { runCheck } from '../../harness/run-check/run-check.ts';
import { structureTestsCheck } from '../../harness/structure/structure-tests-check.ts';
import { CHECKS } from '../../harness/verify/verify.ts';
import { probeProgram } from '../../harness/host/probe-program.ts';
import type { PlatformExecution } from '../../harness/platform/execution-mode.ts';
import { parsePlatform } from '../../harness/platform/platform.ts';
import type { IndexView } from '../../harness/registry/client.ts';
import { CHECK_NAMES, type PlatformResult } from '../../harness/result/model.ts';
import type { StructureTestFile } from '../../harness/structure-file/test-file.ts';
import { CountingSource, entryFor, fakePlatformContext, fakeProbe, fakeRequest, fakeSession } from '../support/platform-context.ts';

const arm64 = parsePlatform('linux/arm64');
const amd64 = parsePlatform('linux/amd64');
const native = (p = amd64): PlatformExecution => ({ platform: p, mode: 'native', timeoutFactor: 1, observed: true });
const unavailable = (p = arm64): PlatformExecution => ({
  platform: p,
  mode: 'unavailable',
  timeoutFactor: 1,
  observed: true,
  reason: 'no emulator for arm64',
});
const noTests: StructureTestFile = {
  file: 'tests.yaml',
  globalEnvVars: [],
  commandTests: [],
  fileExistenceTests: [],
  fileContentTests: [],
  metadataTests: [],
  licenseTests: [],
};

describe('the list of checks', () => {
  test('every entry implements Check, and every check of the report is in it once', () => {
    const names = CHECKS.map((c: Check) => c.name);
    for (const c of CHECKS) {
      expect([...CHECK_NAMES, 'structure-tests']).toContain(c.name);
      expect(typeof c.check).toBe('function');
      if (c.conclude) expect(typeof c.conclude).toBe('function');
    }
    for (const n of CHECK_NAMES) expect(names.filter((x) => x === n)).toHaveLength(1);
    expect(names).toEqual(['index', 'config', 'binary', 'structure-tests', 'run']);
  });

  test('a platform the index does not list: the index fails, every other check is not reached, no input is read', async () => {
    const ctx = fakePlatformContext({ exec: native(), request: { structureTests: noTests } });
    const outcomes = await Promise.all(CHECKS.map((c) => c.check(ctx)));
    expect(outcomes[0]!.result).toMatchObject({ status: 'fail', message: expect.stringMatching(/has no entry for linux\/amd64/) });
    expect(outcomes.slice(1)).toEqual([
      { result: { status: 'skip', message: 'not reached' } },
      { result: { status: 'skip', message: 'not reached' } },
      {},
      { result: { status: 'skip', message: 'not reached' } },
    ]);
    expect(ctx.asked).toMatchObject({ manifestAndConfig: 0, filesystem: 0, binaryVerdict: 0, runImage: 0 });
  });
});

describe('each check over a fake context', () => {
  const entry = entryFor(arm64);

  test('index: the entry digest is a finding', async () => {
    const ctx = fakePlatformContext({ exec: native(arm64), entry });
    expect(await indexCheck.check(ctx)).toEqual({
      result: { status: 'pass', message: `entry ${entry.digest.slice(0, 19)}` },
      findings: { digest: entry.digest },
    });
  });

  test('config and binary: an unreadable manifest fails the config check; the binary check is not reached', async () => {
    const ctx = fakePlatformContext({
      exec: native(arm64),
      entry,
      manifestAndConfig: { problem: 'the manifest or config of linux/arm64 cannot be read: gone' },
    });
    expect((await configCheck.check(ctx)).result).toEqual({
      status: 'fail',
      message: 'the manifest or config of linux/arm64 cannot be read: gone',
    });
    expect(await binaryCheck.check(ctx)).toEqual({ result: { status: 'skip', message: 'not reached' } });
  });

  test('config: a config that declares another platform fails', async () => {
    const ctx = fakePlatformContext({
      exec: native(arm64),
      entry,
      manifestAndConfig: {
        manifest: { digest: entry.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', body: {} },
        config: { os: 'linux', architecture: 'amd64' },
      },
    });
    expect((await configCheck.check(ctx)).result).toEqual({
      status: 'fail',
      message: 'the image config says linux/amd64, the index says linux/arm64',
    });
  });

  test("binary: the context's verdict is the result, its summary the platform's binary", async () => {
    const ctx = fakePlatformContext({
      exec: native(arm64),
      entry,
      binaryVerdict: { result: { status: 'pass', message: 'fits' }, summary: '/probe: ELF 64-bit' },
    });
    expect(await binaryCheck.check(ctx)).toEqual({
      result: { status: 'pass', message: 'fits' },
      findings: { binary: '/probe: ELF 64-bit' },
    });
    expect(ctx.asked.binaryVerdict).toBe(1);
  });

  test('run: a platform that cannot run here fails (or is skipped with allowSkip), without an engine', async () => {
    const ctx = fakePlatformContext({ exec: unavailable(), entry });
    expect((await runCheck.check(ctx)).result).toEqual({ status: 'fail', message: 'linux/arm64 cannot run here: no emulator for arm64' });
    const skipping = fakePlatformContext({ exec: unavailable(), entry, request: { allowSkip: true } });
    expect((await runCheck.check(skipping)).result?.status).toBe('skip');
  });

  test('run: a structure-test file without an expectation runs the image instead; with an unreadable config, not reached', async () => {
    const read = {
      manifest: { digest: entry.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', body: {} },
      config: { os: 'linux', architecture: 'arm64' },
    };
    const ctx = fakePlatformContext({ exec: native(arm64), entry, request: { structureTests: noTests }, manifestAndConfig: read });
    expect((await runCheck.check(ctx)).result).toEqual({
      status: 'skip',
      message:
        "not run: the container-structure-test file has no command tests and no expectation was given (give --expect-output or --expect-uname to run the image's own command too)",
    });
    const unreadable = fakePlatformContext({
      exec: native(arm64),
      entry,
      request: { structureTests: noTests },
      manifestAndConfig: { problem: 'gone' },
    });
    expect(await runCheck.check(unreadable)).toEqual({ result: { status: 'skip', message: 'not reached' } });
  });

  test('run: uname twins are concluded after every platform, only for a uname expectation', () => {
    const arm = parsePlatform('linux/arm/v7');
    const arm6 = parsePlatform('linux/arm/v6');
    const listed: PlatformExecution[] = [
      { ...native(arm), expectedUname: 'armv7l' },
      { ...native(arm6), expectedUname: 'armv7l' },
    ];
    const result = (): PlatformResult =>
      ({ platform: 'linux/arm/v7', checks: { run: { status: 'pass', message: 'armv7l' } } }) as unknown as PlatformResult;
    const plain = [result()];
    runCheck.conclude!(plain, listed, fakeRequest({ expect: { kind: 'output', text: 'hi' } as never }));
    expect(plain[0]!.unameTwins).toBeUndefined();
    const uname = [result()];
    runCheck.conclude!(uname, listed, fakeRequest({ expect: { kind: 'uname' } as never }));
    expect(uname[0]!.unameTwins).toEqual(['linux/arm/v6']);
    expect(uname[0]!.checks.run.message).toMatch(/^armv7l; uname -m alone cannot tell linux\/arm\/v7 from linux\/arm\/v6/);
  });

  test('structure tests: without a file they fill nothing and read nothing', async () => {
    const ctx = fakePlatformContext({ exec: native(arm64), entry });
    expect(await structureTestsCheck.check(ctx)).toEqual({});
    expect(ctx.asked).toMatchObject({ manifestAndConfig: 0, filesystem: 0, binaryVerdict: 0 });
  });
});

describe("a platform's context (checks/context.ts)", () => {
  let tmp = '';
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'mah-context-'));
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));
  beforeEach(() => {
    process.env.MULTIARCH_CHECK_CACHE = 'off';
  });
  afterEach(() => {
    delete process.env.MULTIARCH_CHECK_CACHE;
  });

  // Each context's image a name of its own: its layer's digest is new to this process (whose scans keep what a digest held).
  let images = 0;
  async function contextOf(request = fakeRequest()) {
    const source = new CountingSource();
    const digest = await source.addImage(`one-${++images}`, arm64, probeProgram(arm64));
    const index: IndexView = {
      entries: [{ platform: arm64, digest, mediaType: 'application/vnd.oci.image.manifest.v1+json' }],
      problems: [],
      isIndex: true,
    };
    const states: string[] = [];
    const ctx = platformContext({
      session: fakeSession,
      engineName: 'default',
      probe: fakeProbe(),
      exec: {
        platform: arm64,
        mode: 'qemu',
        timeoutFactor: 20,
        observed: true,
        emulator: { handler: 'qemu-aarch64', interpreter: '/q', flags: 'PF' },
      },
      request,
      source,
      index,
      scratch: tmp,
      presence: new Map([[`registry.test/app@${digest}`, true]]),
      onProgress: (_message, p) => void states.push(p!.state),
    });
    return { ctx, source, states, digest };
  }

  test('each input is computed once, however many checks ask, and says its progress state once, in order', async () => {
    const { ctx, source, states, digest } = await contextOf();
    expect(ctx.entry()).toBe(ctx.entry());
    expect(ctx.runImage()).toBe(`registry.test/app@${digest}`);
    expect(ctx.imagePresent()).toBe(true);
    const [a, b] = await Promise.all([ctx.manifestAndConfig(), ctx.manifestAndConfig()]);
    expect(a).toBe(b);
    const [v1, v2] = await Promise.all([ctx.binaryVerdict(), ctx.binaryVerdict()]);
    expect(v1).toBe(v2);
    expect(v1?.result.status).toBe('pass');
    expect(await ctx.filesystem()).toBe(await ctx.filesystem());
    expect(source.reads).toEqual({ manifest: 1, blobJson: 1, blobToFile: 1 });
    expect(states).toEqual(['reading manifest and config', 'reading layers']);
  });

  test('the file system is let go once the binary verdict is in (no file tests): asked again, it is a new reading', async () => {
    const { ctx } = await contextOf();
    const first = await ctx.filesystem();
    await ctx.binaryVerdict();
    const again = await ctx.filesystem();
    expect(again).not.toBe(first);
    expect(await ctx.filesystem()).toBe(again);
  });

  test('the checks over one context read the manifest, config and layers once between them', async () => {
    const { ctx, source } = await contextOf(fakeRequest({ structureTests: noTests }));
    const outcomes: CheckOutcome[] = await Promise.all(
      [indexCheck, configCheck, binaryCheck, structureTestsCheck].map((c) => c.check(ctx)),
    );
    expect(outcomes.map((o) => o.result?.status)).toEqual(['pass', 'pass', 'pass', undefined]);
    expect(outcomes[3]).toEqual({ findings: { structureTests: [] } });
    expect(source.reads).toEqual({ manifest: 1, blobJson: 1, blobToFile: 1 });
  });
});
