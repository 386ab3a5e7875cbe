// The library in a user's own process (issue 26, part 3): a build scenario run through runScenario,
// which starts the session's registry with testcontainers, leaves every TESTCONTAINERS_* variable as
// it found it, set or unset: before, while the scenario runs (looked at every few milliseconds, as
// the user's concurrent code would) and after. The user's testcontainers tests later in the same
// worker see their own environment.
import { runScenario } from 'multiarch-harness';
import { describe, expect, test } from 'vitest';
import echoAmd64 from './fixtures/echo-amd64.ts';
import { harnessLeftovers } from './helpers.ts';

const NAMES = ['TESTCONTAINERS_HOST_OVERRIDE', 'TESTCONTAINERS_RYUK_DISABLED', 'TESTCONTAINERS_REUSE_ENABLE'];

/** Every TESTCONTAINERS_* variable, an unset one as a key with no value. */
function testcontainersEnv(): Record<string, string | undefined> {
  const names = new Set([...NAMES, ...Object.keys(process.env).filter((k) => k.startsWith('TESTCONTAINERS_'))]);
  return Object.fromEntries([...names].sort().map((k) => [k, process.env[k]]));
}

describe("the user's process", () => {
  test('a build scenario leaves every TESTCONTAINERS_* variable as it was', async () => {
    const before = testcontainersEnv();
    const seen = new Set<string>();
    const watch = setInterval(() => seen.add(JSON.stringify(testcontainersEnv())), 5);
    const report = await runScenario(echoAmd64).finally(() => clearInterval(watch));
    expect(report.platforms.map((p) => [p.platform, p.status])).toEqual([['linux/amd64', 'pass']]);
    expect(testcontainersEnv()).toEqual(before);
    expect([...seen].map((s) => JSON.parse(s) as unknown)).toEqual([JSON.parse(JSON.stringify(before))]);
    expect(await harnessLeftovers()).toEqual([]);
  });
});
