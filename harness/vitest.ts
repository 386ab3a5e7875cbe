/**
 * Vitest helpers, so a user's own suite gets one test per platform:
 *
 *   import { describeScenario, describeImage } from 'multiarch-harness/vitest';
 *   describeScenario(helloScenario);                       // describe per scenario, test per platform
 *   describeImage('ghcr.io/me/app:1.2', { platforms: ['linux/amd64', 'linux/arm64'], expect: { kind: 'uname' } });
 *   describeImage('oci-archive:out/app.tar', { platforms: ['linux/arm64'] });  // a local image: oci:, oci-archive:, docker-archive:
 *
 * The scenario runs once (beforeAll); each platform's test then asserts its result, with the
 * failing checks as the message.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { type Expectation, formatPlatform, parsePlatform, type Platform } from './platform/index.ts';
import type { SessionReport } from './result/index.ts';
import { runScenario, type SessionOptions, type Scenario, type VerifyScenario } from './scenario/index.ts';

export interface DescribeOptions extends SessionOptions {
  /** Time the whole scenario may take (build included). Default 45 minutes. */
  timeoutMs?: number;
}

export function describeScenario(scenario: Scenario, options: DescribeOptions = {}): void {
  // A bake's targets and their platforms are known only once buildx resolved its file: one test for them all (below).
  const platforms =
    scenario.kind === 'bake' ? [] : ((options.platforms ?? scenario.platforms?.map(parsePlatform))?.map(formatPlatform) ?? []);
  if (!platforms.length && scenario.kind !== 'steps' && scenario.kind !== 'bake') {
    throw new Error(`describeScenario(${scenario.name}) needs the platforms up front: give the scenario or the options a platform list.`);
  }
  describe(scenario.title, () => {
    let report: SessionReport | undefined;
    beforeAll(
      async () => {
        report = await runScenario(scenario, options);
      },
      options.timeoutMs ?? 45 * 60_000,
    );
    for (const platform of platforms) {
      test(platform, (ctx) => {
        const r = report?.platforms.find((p) => p.platform === platform);
        expect(r, `${platform} has no result`).toBeDefined();
        // A platform that cannot run here, or an expected failure, is a skipped test with the reason, never a pass.
        if (r!.status === 'skip') ctx.skip(`${platform}: ${r!.message ?? 'skipped'}`);
        if (r!.status === 'xfail') ctx.skip(`${platform}: ${r!.message ?? 'expected failure'}`);
        expect(['pass', 'xpass'], `${platform} (${r!.mode}): ${r!.message ?? ''}`).toContain(r!.status);
      });
    }
    // A bake's targets are known only once it ran: one test that fails with every failed platform of every target.
    if (scenario.kind === 'bake') {
      test('targets', () => {
        expect(report?.platforms.length, 'the bake verified no platform').toBeGreaterThan(0);
        const failed = (report?.platforms ?? []).filter((p) => p.status === 'fail');
        expect(failed.map((p) => `${p.target} ${p.platform} (${p.mode}): ${p.message ?? 'failed'}`)).toEqual([]);
      });
    }
    // A steps scenario's steps are known only once it ran: one test that fails with every failed step.
    if (scenario.kind === 'steps') {
      test('steps', () => {
        const failed = (report?.steps ?? []).filter((st) => st.status === 'fail');
        expect(failed.map((st) => `${st.section} ${st.title}: ${st.failures.join('; ')}`)).toEqual([]);
      });
    }
  });
}

export function describeImage(
  image: string,
  options: Omit<DescribeOptions, 'platforms'> & { platforms: ReadonlyArray<string | Platform>; expect?: Expectation; command?: string[] },
): void {
  const platforms = options.platforms.map((p) => (typeof p === 'string' ? parsePlatform(p) : p));
  const scenario: VerifyScenario = {
    kind: 'verify',
    name: `verify-${image}`,
    title: `${image}`,
    image,
    platforms: platforms.map(formatPlatform),
    ...(options.expect ? { expect: options.expect } : {}),
    ...(options.command ? { command: options.command } : {}),
  };
  describeScenario(scenario, { ...options, platforms });
}
