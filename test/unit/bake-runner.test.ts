/**
 * The bake scenario's runner, its decisions that need no engine (harness/scenario/bake-runner.ts):
 * which expectation a target gets, a map of expectations naming a target the bake does not build,
 * each target's repository on the session's registry, and why a platform of a failed bake was not built.
 */
import { describe, expect, test } from 'vitest';
import { BakeFailedError } from '../../harness/bake/bake.ts';
import type { BakeTarget } from '../../harness/bake/bake-file.ts';
import { EngineError } from '../../harness/engine/engine-error.ts';
import { checkExpectations, expectationOf, repositoryNames, whyNotBuilt } from '../../harness/scenario/bake-runner.ts';
import type { BakeScenario } from '../../harness/scenario/define.ts';

const scenario = (expect?: BakeScenario['expect']): BakeScenario => ({
  kind: 'bake',
  name: 'bake-sample',
  title: 't',
  file: '/w/docker-bake.hcl',
  ...(expect ? { expect } : {}),
});
const target = (name: string): BakeTarget => ({ name, platforms: [], tags: [], args: {}, contexts: {}, outputs: [] });
const result = { command: 'docker buildx bake', exitCode: 1, stdout: '', stderr: '', durationMs: 1, timedOut: false, signal: undefined };

describe('the bake runner', () => {
  test('one expectation for every target, or one per target by name (a target not named: a clean exit)', () => {
    expect(expectationOf(scenario({ kind: 'uname' }), 'hello')).toEqual({ kind: 'uname' });
    const each = scenario({ hello: { kind: 'output', template: 'Hello' }, echo: { kind: 'uname' } });
    expect(expectationOf(each, 'hello')).toEqual({ kind: 'output', template: 'Hello' });
    expect(expectationOf(each, 'echo')).toEqual({ kind: 'uname' });
    expect(expectationOf(each, 'greeting-en')).toBeUndefined();
    expect(expectationOf(scenario(), 'hello')).toBeUndefined();
    // A target named "kind" is a target: its value is an expectation, not a string.
    expect(expectationOf(scenario({ kind: { kind: 'uname' } } as BakeScenario['expect']), 'kind')).toEqual({ kind: 'uname' });
  });

  test('expectations for a target the bake does not build: one sentence before anything is built', () => {
    const targets = [target('hello'), target('echo')];
    expect(() => checkExpectations(scenario({ kind: 'uname' }), targets, ['/w/docker-bake.hcl'])).not.toThrow();
    expect(() =>
      checkExpectations(scenario({ hello: { kind: 'uname' }, greeting: { kind: 'uname' } }), targets, ['/w/docker-bake.hcl']),
    ).toThrow(
      'The scenario bake-sample expects output of the target greeting, which the bake file /w/docker-bake.hcl does not build (it builds hello, echo).',
    );
  });

  test('each target’s repository: its name in lower case, valid, and unique', () => {
    expect([...repositoryNames(['hello', 'Greeting_EN', 'greeting_en', '--x--', '+++']).entries()]).toEqual([
      ['hello', 'hello'],
      ['Greeting_EN', 'greeting_en'],
      ['greeting_en', 'greeting_en-2'],
      ['--x--', 'x'],
      ['+++', 'target'],
    ]);
  });

  test('why a platform of a failed bake was not built: the failing step for its own platform, the others stopped by it', () => {
    const failed = new BakeFailedError(
      {
        target: 'echo',
        cause: { platform: 'linux/arm64', step: '[linux/arm64 2/2] RUN uname -a > /os.txt', error: 'exit code: 139', cancelled: [] },
      },
      result,
      'ERROR: failed to solve',
    );
    expect(whyNotBuilt(failed, 'echo', 'linux/arm64')).toBe(
      'the bake of echo failed for linux/arm64 at [linux/arm64 2/2] RUN uname -a > /os.txt: exit code: 139',
    );
    expect(whyNotBuilt(failed, 'echo', 'linux/amd64')).toBe(
      'not built: BuildKit stopped it because the bake of echo for linux/arm64 failed first (at [linux/arm64 2/2] RUN uname -a > /os.txt: exit code: 139)',
    );
    expect(whyNotBuilt(failed, 'hello', 'linux/arm64')).toMatch(
      /^not built: BuildKit stopped it because the bake of echo for linux\/arm64/,
    );
    expect(whyNotBuilt(new BakeFailedError(undefined, result, 'ERROR: no builder'), 'hello', 'linux/amd64')).toBe(
      'the bake failed: ERROR: no builder',
    );
    expect(whyNotBuilt(new EngineError('the bake did not finish within 2700 s.', { result }), 'hello', 'linux/amd64')).toBe(
      'the bake failed: the bake did not finish within 2700 s.',
    );
  });
});
