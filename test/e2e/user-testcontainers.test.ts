// A user's vitest file that runs a build scenario and then its own testcontainers test (issue 26,
// part 3). The user's settings for their own containers are in place before anything starts, as a
// suite's environment is: loopback, no reaper. The harness's registry must leave them as they are,
// and the user's container afterwards must run with them. (testcontainers keeps one engine client
// per process, made at its first start: this file is a process of its own.)
import { runScenario } from 'multiarch-harness';
import { GenericContainer, Wait } from 'testcontainers';
import { expect, test } from 'vitest';
import echoAmd64 from './fixtures/echo-amd64.ts';
import { harnessLeftovers } from './helpers.ts';

const USER = { TESTCONTAINERS_HOST_OVERRIDE: '127.0.0.1', TESTCONTAINERS_RYUK_DISABLED: 'true' };
Object.assign(process.env, USER);

const testcontainersEnv = () =>
  Object.fromEntries(
    Object.keys(process.env)
      .filter((k) => k.startsWith('TESTCONTAINERS_'))
      .sort()
      .map((k) => [k, process.env[k]]),
  );

test("a build scenario, then the user's own testcontainers test with the user's own settings", async () => {
  const before = testcontainersEnv();
  expect(before).toMatchObject(USER);
  const report = await runScenario(echoAmd64);
  expect(report.platforms.map((p) => p.status)).toEqual(['pass']);
  expect(testcontainersEnv()).toEqual(before);
  const container = await new GenericContainer('registry:2').withExposedPorts(5000).withWaitStrategy(Wait.forHttp('/v2/', 5000)).start();
  try {
    expect(container.getHost()).toBe('127.0.0.1');
    expect((await fetch(`http://127.0.0.1:${container.getMappedPort(5000)}/v2/`)).status).toBe(200);
  } finally {
    await container.stop();
  }
  expect(testcontainersEnv()).toEqual(before);
  expect(await harnessLeftovers()).toEqual([]);
});
