/**
 * The soak's expectations (bench/support/soak-judge.ts): one ending per run, decided from what was
 * done to it and where the run was (its progress lines), never a set of codes; a fault of the
 * registry or the engine is never expected to be exit 1; the suite fails on any problem unless
 * lenient; MULTIARCH_SOAK_BREAK=exit-codes makes an expectation wrong.
 */
import { describe, expect, test } from 'vitest';
import { registryUpLine } from '../../harness/session/index.ts';
import {
  brokenOnPurpose,
  engineRestartExpectation,
  fakeRegistryExpectation,
  hasSpoken,
  isEnding,
  judgeEnding,
  normal,
  oneSentenceProblem,
  parseBreak,
  REGISTRY_UP,
  registryKillExpectation,
  runPhase,
  signalExpectation,
  signalOutputProblems,
  stackTraceIn,
  suiteExitCode,
  summaryLine,
  type Expectation,
  type Kind,
  type RunPhase,
  type SuiteCounts,
} from '../../bench/support/soak-judge.ts';

/** A build's stderr as the harness prints it when stderr is not a terminal (harness/cli/progress.ts), cut after a line. */
const BUILD = [
  `[echo-platform 1.4s] ${registryUpLine({ address: '127.0.0.1:32771', image: 'registry:2' })}`,
  '[echo-platform 1.6s] building linux/amd64 with the builder default',
  '[echo-platform 2.0s]   [linux/amd64 1/2] FROM 127.0.0.1:5001/library/alpine:latest',
  '[echo-platform 2.3s]   [linux/amd64 2/2] RUN echo running linux/amd64 (native) > /out',
  '[echo-platform 2.9s]   exporting to image',
  '[echo-platform 4.1s] running linux/amd64 (native)',
  '[echo-platform 4.9s] PASS linux/amd64 (native) linux/amd64',
];
const upTo = (end: string) => `${BUILD.slice(0, BUILD.findIndex((l) => l.endsWith(end)) + 1).join('\n')}\n`;

const KINDS: Kind[] = ['verify-ok', 'verify-fail', 'build'];
const PHASES: RunPhase[] = ['before-verify', 'verifying', 'verdict'];
const code = (e: Expectation | undefined) => (e && 'code' in e ? e.code : undefined);

describe('where a run is, from its progress lines', () => {
  test('building and pushing is before the verify, even where a build step prints "running"', () => {
    expect(runPhase('')).toBe('before-verify');
    expect(runPhase(upTo('is up'))).toBe('before-verify');
    expect(runPhase(upTo('exporting to image'))).toBe('before-verify');
  });

  test('a platform at its run is verifying; the verdicts end it', () => {
    expect(runPhase(upTo('] running linux/amd64 (native)'))).toBe('verifying');
    expect(runPhase(upTo('PASS linux/amd64 (native) linux/amd64'))).toBe('verdict');
    expect(
      runPhase(
        '[verify 127.0.0.1:5001/library/alpine:latest 3.0s] running linux/arm64 (qemu)\n[verify 127.0.0.1:5001/library/alpine:latest 5.2s] FAIL linux/arm64 (qemu): the run printed "aarch64"\n',
      ),
    ).toBe('verdict');
  });

  test('the registry line gives its address', () => {
    expect(REGISTRY_UP.exec(upTo('is up'))?.[1]).toBe('127.0.0.1:32771');
    expect(REGISTRY_UP.exec('[x 1.0s] registry 127.0.0.1:1 is upstream')).toBeNull();
    // The line as a run with --registry-image prints it: the address is still what is found.
    expect(REGISTRY_UP.exec(`[x 1.0s] ${registryUpLine({ address: '127.0.0.1:1', image: 'example.test/distribution:3.0' })}`)?.[1]).toBe(
      '127.0.0.1:1',
    );
  });

  test('the harness has spoken once main() printed anything of its own, not a warning of Node', () => {
    expect(hasSpoken('')).toBe(false);
    expect(hasSpoken('(node:123) ExperimentalWarning: something\n')).toBe(false);
    expect(hasSpoken(upTo('is up'))).toBe(true);
    expect(hasSpoken('::group::alpine\n')).toBe(true);
    expect(hasSpoken('multiarch-harness: The registry 127.0.0.1:1 cannot be reached (ECONNREFUSED).\n')).toBe(true);
  });

  test('it is finishing once its matrix is printed or its sentence said, not at a cleanup line', () => {
    expect(isEnding('', upTo('PASS linux/amd64 (native) linux/amd64'))).toBe(false);
    expect(isEnding('alpine  linux/amd64  PASS\n', '')).toBe(true);
    expect(isEnding('', 'multiarch-harness: 127.0.0.1:5001/library/alpine has no manifest soak-sweep-1 (404).\n')).toBe(true);
    expect(isEnding('', 'multiarch-harness: SIGINT: cleaning up 1 session(s)\n')).toBe(false);
  });
});

describe('one ending per run', () => {
  test("nothing done: the kind's own code", () => {
    expect(KINDS.map((k) => code(normal(k)))).toEqual([0, 1, 0]);
  });

  test('signals: 130 and 143 after the handlers, SIGKILL kills', () => {
    expect(signalExpectation('SIGINT')).toMatchObject({ code: 130 });
    expect(signalExpectation('SIGTERM')).toMatchObject({ code: 143 });
    expect(signalExpectation('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });
    expect(judgeEnding(signalExpectation('SIGINT'), { code: 130 })).toBeUndefined();
    expect(judgeEnding(signalExpectation('SIGINT'), { signal: 'SIGINT' })).toMatch(/^killed by SIGINT, expected exit 130 \(/);
    expect(judgeEnding(signalExpectation('SIGKILL'), { signal: 'SIGKILL' })).toBeUndefined();
    expect(judgeEnding(signalExpectation('SIGKILL'), { code: 0 })).toMatch(/^exit 0, expected killed by SIGKILL/);
  });

  test("the run's registry killed while needed: 2; after the verdicts: the kind's code; while verifying: not decided, so not killed", () => {
    expect(code(registryKillExpectation('build', runPhase(upTo('exporting to image'))))).toBe(2);
    expect(registryKillExpectation('build', runPhase(upTo('] running linux/amd64 (native)')))).toBeUndefined();
    expect(code(registryKillExpectation('build', runPhase(upTo('PASS linux/amd64 (native) linux/amd64'))))).toBe(0);
    expect(judgeEnding(registryKillExpectation('build', 'before-verify')!, { code: 1 })).toMatch(
      /^exit 1, expected exit 2 \(.*would blame the image/,
    );
  });

  test("the engine restarted: 2 before the verdicts, the kind's code after", () => {
    for (const k of KINDS) {
      expect(code(engineRestartExpectation(k, 'before-verify'))).toBe(2);
      expect(code(engineRestartExpectation(k, 'verifying'))).toBe(2);
      expect(code(engineRestartExpectation(k, 'verdict'))).toBe(code(normal(k)));
    }
  });

  test('a registry answering 500/429: 2 when nothing got through, 0 when it recovered within the retries', () => {
    expect(code(fakeRegistryExpectation(4, 0))).toBe(2);
    expect(code(fakeRegistryExpectation(0, 0))).toBe(2);
    expect(code(fakeRegistryExpectation(6, 3))).toBe(0);
  });

  test('no fault of the registry or the engine is ever expected to be 1 on a passing kind', () => {
    for (const k of ['verify-ok', 'build'] as const) {
      for (const phase of PHASES) {
        expect(code(registryKillExpectation(k, phase))).not.toBe(1);
        expect(code(engineRestartExpectation(k, phase))).not.toBe(1);
      }
    }
    for (const [failed, passed] of [
      [4, 0],
      [8, 0],
      [4, 1],
      [0, 0],
    ] as const)
      expect(code(fakeRegistryExpectation(failed, passed))).not.toBe(1);
  });
});

describe('what the output must say', () => {
  test('after SIGINT: one "cleaning up" line, the last line a cleanup line', () => {
    const good = 'multiarch-harness: SIGINT: cleaning up 1 session(s)\nmultiarch-harness: SIGINT: cleaned up; exiting with 130\n';
    expect(signalOutputProblems('SIGINT', good)).toEqual([]);
    expect(signalOutputProblems('SIGINT', '')).toEqual(['0 "cleaning up" lines on stderr after SIGINT, not one']);
    expect(
      signalOutputProblems('SIGTERM', 'multiarch-harness: SIGTERM: cleaning up 1 session(s)\n[x 2.0s] PASS linux/amd64 (native)\n'),
    ).toEqual(['its stderr after SIGTERM ends with "[x 2.0s] PASS linux/amd64 (native)", not a cleanup line']);
  });

  test('exit 2 is one sentence; a stack trace is found', () => {
    expect(
      oneSentenceProblem('[x 1.0s] running linux/amd64 (native)\nmultiarch-harness: The registry cannot be reached.\n'),
    ).toBeUndefined();
    expect(oneSentenceProblem('')).toMatch(/0 lines/);
    expect(stackTraceIn('multiarch-harness: internal error: x\nError: x\n    at main (file:///a.js:1:1)\n')).toMatch(/at main/);
    expect(stackTraceIn('multiarch-harness: The registry cannot be reached.\n')).toBeUndefined();
  });
});

describe('the suite', () => {
  const counts = (over: Partial<SuiteCounts> = {}): SuiteCounts => ({
    runs: 12,
    signals: { SIGINT: 1, SIGTERM: 2, SIGKILL: 1 },
    failing: 3,
    faults: 2,
    hangs: 0,
    leaks: 0,
    stackTraces: 0,
    problems: 0,
    unknown: false,
    engineLost: false,
    ...over,
  });

  test('strict fails on any problem; lenient only on leaks, hangs, stack traces and what it cannot know', () => {
    expect(suiteExitCode(counts(), false)).toBe(0);
    expect(suiteExitCode(counts({ problems: 1 }), false)).toBe(1);
    expect(suiteExitCode(counts({ problems: 1 }), true)).toBe(0);
    for (const bad of [{ leaks: 1 }, { hangs: 1 }, { stackTraces: 1 }, { unknown: true }, { engineLost: true }]) {
      expect(suiteExitCode(counts({ ...bad, problems: 1 }), true)).toBe(1);
      expect(suiteExitCode(counts({ ...bad, problems: 1 }), false)).toBe(1);
    }
  });

  test('one line at the end, problems counted', () => {
    expect(summaryLine(counts({ problems: 2 }), false)).toBe(
      'soak: 12 runs, 4 interrupted (1 SIGINT, 2 SIGTERM, 1 SIGKILL), 3 failing, 2 faults, 0 hangs, 0 leaks, 2 problems',
    );
    expect(summaryLine(counts(), true)).toMatch(/, 0 problems \(lenient: /);
  });

  test('MULTIARCH_SOAK_BREAK=exit-codes makes an expectation wrong; anything else is refused', () => {
    expect(parseBreak(undefined)).toBeUndefined();
    expect(parseBreak('')).toBeUndefined();
    expect(parseBreak('exit-codes')).toBe('exit-codes');
    expect(() => parseBreak('exit-code')).toThrow(/MULTIARCH_SOAK_BREAK takes exit-codes, not "exit-code"/);
    for (const right of [{ code: 0, why: '' }, { code: 1, why: '' }, { code: 2, why: '' }, signalExpectation('SIGKILL')] as Expectation[]) {
      const wrong = brokenOnPurpose(right);
      for (const ending of [{ code: 0 }, { code: 1 }, { code: 2 }, { signal: 'SIGKILL' }]) {
        if (judgeEnding(right, ending) === undefined) expect(judgeEnding(wrong, ending)).toMatch(/wrong on purpose/);
      }
    }
  });
});
