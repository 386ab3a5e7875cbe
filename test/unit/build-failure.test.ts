import { describe, expect, test } from 'vitest';
import type { BuildFailureCause } from '../../harness/build/build-progress.ts';
import { BuildFailedError, cancelledBecause, describeBuildFailure, failedStep, type BuildResult } from '../../harness/build/build.ts';
import type { CommandResult } from '../../harness/base/exec.ts';
import { EngineError } from '../../harness/engine/engine-error.ts';
import { formatPlatform, parsePlatform, type Platform } from '../../harness/platform/platform.ts';
import { buildLeavingOut, leftOutNote, notBuilt } from '../../harness/build/build-attempts.ts';

const killed = 'process "/bin/sh -c go build -o hello ." did not complete successfully: exit code: 137';
const result: CommandResult = {
  command: 'docker buildx build',
  exitCode: 1,
  stdout: '',
  stderr: '',
  durationMs: 1,
  timedOut: false,
  signal: undefined,
};
const cause386: BuildFailureCause = {
  platform: 'linux/386',
  step: '[linux/386 builder 4/4] RUN go build -o hello .',
  error: killed,
  cancelled: ['linux/amd64', 'linux/arm64'],
};

describe('BuildFailedError', () => {
  test('names the platform whose step failed first, its error, and what BuildKit cancelled because of it', () => {
    const err = new BuildFailedError(cause386, result);
    expect(err).toBeInstanceOf(EngineError);
    expect(err.name).toBe('BuildFailedError');
    expect(err.failure).toBe(cause386);
    expect(err.message).toBe(
      `the build of linux/386 failed at [linux/386 builder 4/4] RUN go build -o hello .: ${killed}; BuildKit cancelled linux/amd64, linux/arm64 because of it`,
    );
    expect(describeBuildFailure({ ...cause386, cancelled: [] })).toBe(
      `the build of linux/386 failed at [linux/386 builder 4/4] RUN go build -o hello .: ${killed}`,
    );
  });

  test('without a failing step: the last error line of stderr, or the exit code', () => {
    expect(new BuildFailedError(undefined, result, 'ERROR: failed to solve: no builder "x" found').message).toBe(
      'the build failed: ERROR: failed to solve: no builder "x" found',
    );
    expect(new BuildFailedError(undefined, result).message).toBe('the build failed: exit code 1');
  });

  test('messages for the failing platform and for the ones it stopped', () => {
    expect(failedStep(cause386)).toBe(`the build of linux/386 failed at [linux/386 builder 4/4] RUN go build -o hello .: ${killed}`);
    expect(cancelledBecause(cause386)).toBe(
      `not built: BuildKit cancelled it because the build of linux/386 failed first (at [linux/386 builder 4/4] RUN go build -o hello .: ${killed})`,
    );
    const internal = { step: '[internal] load metadata for docker.io/library/golang:9', error: 'not found', cancelled: [] };
    expect(failedStep(internal)).toBe('the build failed at [internal] load metadata for docker.io/library/golang:9: not found');
  });
});

describe('building again without the platform that failed first', () => {
  const all = ['linux/amd64', 'linux/arm64', 'linux/386', 'linux/arm/v7'].map((p) => ({ platform: parsePlatform(p) }));
  const built = (platforms: Platform[]): BuildResult => ({
    digest: 'sha256:index',
    mediaType: 'application/vnd.oci.image.index.v1+json',
    totalMs: 1,
    perPlatformMs: Object.fromEntries(platforms.map((p) => [formatPlatform(p), 1])),
    retried: [],
  });
  /** A fake buildx: the first broken platform in the build fails, and BuildKit cancels the rest. */
  function fakeBuild(broken: string[], calls: string[][]) {
    return async (platforms: Platform[]): Promise<BuildResult> => {
      const names = platforms.map(formatPlatform);
      calls.push(names);
      const failing = names.find((n) => broken.includes(n));
      if (!failing) return built(platforms);
      const arch = failing.slice('linux/'.length);
      throw new BuildFailedError(
        {
          platform: failing,
          step: `[linux/amd64->${arch} builder 4/4] RUN go build`,
          error: `exit code: 1 (${arch})`,
          cancelled: names.filter((n) => n !== failing),
        },
        result,
      );
    };
  }
  const platformsOf = (list: Array<{ platform: Platform }>) => list.map((e) => formatPlatform(e.platform));

  test('without keepGoing: one build; the failing platform says its own error, the others that they were cancelled because of it', async () => {
    const calls: string[][] = [];
    const a = await buildLeavingOut(all, fakeBuild(['linux/386'], calls), false, () => undefined);
    expect(calls).toHaveLength(1);
    expect(a.build).toBeUndefined();
    const messages = Object.fromEntries(notBuilt(a).map(([e, m]) => [formatPlatform(e.platform), m]));
    expect(messages['linux/386']).toBe('the build of linux/386 failed at [linux/amd64->386 builder 4/4] RUN go build: exit code: 1 (386)');
    for (const p of ['linux/amd64', 'linux/arm64', 'linux/arm/v7']) {
      expect(messages[p]).toBe(
        'not built: BuildKit cancelled it because the build of linux/386 failed first (at [linux/amd64->386 builder 4/4] RUN go build: exit code: 1 (386))',
      );
    }
    expect(leftOutNote(a, false)).toBe(
      'The build of linux/386 failed first and stopped the others; with --keep-going (SessionOptions.keepGoing) they are built and verified without it.',
    );
  });

  test('with keepGoing: builds again without each failing platform until the rest build', async () => {
    const calls: string[][] = [];
    const progress: string[] = [];
    const a = await buildLeavingOut(all, fakeBuild(['linux/386', 'linux/arm/v7'], calls), true, (m) => progress.push(m));
    expect(calls).toEqual([
      ['linux/amd64', 'linux/arm64', 'linux/386', 'linux/arm/v7'],
      ['linux/amd64', 'linux/arm64', 'linux/arm/v7'],
      ['linux/amd64', 'linux/arm64'],
    ]);
    expect(a.build?.perPlatformMs).toEqual({ 'linux/amd64': 1, 'linux/arm64': 1 });
    expect(platformsOf(a.attempted)).toEqual(['linux/amd64', 'linux/arm64']);
    expect(notBuilt(a).map(([e, m]) => [formatPlatform(e.platform), m])).toEqual([
      ['linux/386', 'the build of linux/386 failed at [linux/amd64->386 builder 4/4] RUN go build: exit code: 1 (386)'],
      ['linux/arm/v7', 'the build of linux/arm/v7 failed at [linux/amd64->arm/v7 builder 4/4] RUN go build: exit code: 1 (arm/v7)'],
    ]);
    expect(progress[0]).toBe('the build of linux/386 failed first; building linux/amd64, linux/arm64, linux/arm/v7 again without it');
    expect(leftOutNote(a, true)).toBe(
      'Left out of the final build (keep going): linux/386, because the build of linux/386 failed at [linux/amd64->386 builder 4/4] RUN go build: exit code: 1 (386); ' +
        'linux/arm/v7, because the build of linux/arm/v7 failed at [linux/amd64->arm/v7 builder 4/4] RUN go build: exit code: 1 (arm/v7). The final build built linux/amd64, linux/arm64.',
    );
  });

  test('with keepGoing, every platform failing: at most one build per platform, each with its own error', async () => {
    const calls: string[][] = [];
    const a = await buildLeavingOut(
      all,
      fakeBuild(
        all.map((e) => formatPlatform(e.platform)),
        calls,
      ),
      true,
      () => undefined,
    );
    expect(calls).toHaveLength(all.length);
    expect(a.build).toBeUndefined();
    const messages = notBuilt(a).map(([, m]) => m);
    expect(messages).toHaveLength(all.length);
    for (const m of messages) expect(m).toMatch(/^the build of linux\/\S+ failed at /);
    expect(leftOutNote(a, true)).toMatch(/The final build of linux\/arm\/v7 failed too\.$/);
  });

  test('with keepGoing, a failure that names no platform, or a timeout, stops: every platform says the build failed', async () => {
    const noPlatform = async (): Promise<BuildResult> => {
      throw new BuildFailedError(
        { step: '[internal] load metadata for docker.io/library/golang:9', error: 'not found', cancelled: [] },
        result,
      );
    };
    const a = await buildLeavingOut(all, noPlatform, true, () => undefined);
    expect(notBuilt(a).map(([, m]) => m)).toEqual(
      all.map(() => 'the build failed at [internal] load metadata for docker.io/library/golang:9: not found'),
    );
    expect(leftOutNote(a, true)).toBeUndefined();
    const timeout = async (): Promise<BuildResult> => {
      throw new EngineError('the build did not finish within 2700 s.', { result: { ...result, timedOut: true } });
    };
    const b = await buildLeavingOut(all, timeout, true, () => undefined);
    expect(notBuilt(b).map(([, m]) => m)).toEqual(all.map(() => 'the build failed: the build did not finish within 2700 s.'));
  });

  test('anything but an EngineError is not a build failure', async () => {
    await expect(
      buildLeavingOut(
        all,
        async () => {
          throw new TypeError('bug');
        },
        true,
        () => undefined,
      ),
    ).rejects.toThrow('bug');
  });
});

describe('known issues', () => {
  test('a platform failing only by a declared known issue is an expected failure; one that passes despite it is an unexpected pass', async () => {
    const { applyKnownIssues } = await import('../../harness/scenario/known-issues.ts');
    const { fail, pass } = await import('../../harness/result/model.ts');
    const base = { platform: 'linux/arm/v6', mode: 'qemu' as const, expected: 'x', output: 'x', durationMs: 1 };
    const issue = { platform: 'linux/arm/v6', check: 'binary' as const, matches: /GOARM=7/, why: 'the article builds GOARM=7 for arm/v6' };
    const failing = {
      ...base,
      status: 'fail' as const,
      message: 'binary: GOARM=7',
      checks: { index: pass(), config: pass(), binary: fail('GOARM=7 in an arm/v6 entry'), run: pass('x') },
    };
    expect(applyKnownIssues(failing, [issue])).toMatchObject({
      status: 'xfail',
      knownIssues: ['binary: the article builds GOARM=7 for arm/v6'],
    });
    const passing = { ...base, status: 'pass' as const, checks: { index: pass(), config: pass(), binary: pass(), run: pass('x') } };
    expect(applyKnownIssues(passing, [issue])).toMatchObject({ status: 'xpass', message: expect.stringMatching(/out of date/) });
    const other = { ...failing, checks: { ...failing.checks, run: fail('crashed') } };
    expect(applyKnownIssues(other, [issue]).status).toBe('fail');
  });
});
