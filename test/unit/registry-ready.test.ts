/**
 * The run registry's readiness (session/registry-ready.ts): GET /v2/ must answer 200; anything
 * else, or nothing listening, is asked again until the start-up timeout, which is one error. The
 * pauses between questions and the timeout run on a fake clock; the questions are real requests.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { RegistryReady, registryAnswers } from '../../harness/session/registry-ready.ts';
import { settle, startLoopbackServer, type LoopbackServer } from '../support/loopback-server.ts';

let server: LoopbackServer;
let port: number;
let asked = 0;
beforeAll(async () => {
  // Not ready for its first two questions (a registry still starting answers 503), then the API's 200.
  server = await startLoopbackServer((req, res) => {
    asked++;
    res.writeHead(req.url === '/v2/' && asked > 2 ? 200 : 503).end('{}');
  });
  port = server.port;
});
afterAll(() => server.close());

beforeEach(() => {
  // Only the clock and the pauses: the sockets' own I/O stays real.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

const bound = (p: number) => ({ getBinding: (containerPort: number) => (containerPort === 5000 ? p : -1) });

describe('the run registry is ready', () => {
  test('when /v2/ answers 200, asked again (every 200 ms) until it does', async () => {
    const started = Date.now();
    await settle(new RegistryReady(5000, '127.0.0.1').waitUntilReady(undefined, bound(port)));
    expect(asked).toBe(3);
    expect(Date.now() - started).toBe(400);
    expect(await registryAnswers('127.0.0.1', port)).toBe(true);
  });

  test('nothing listening is not ready, and the start-up timeout is one error', async () => {
    const closed = await startLoopbackServer();
    const gone = closed.port;
    await closed.close();
    expect(await registryAnswers('127.0.0.1', gone)).toBe(false);
    const wait = new RegistryReady(5000, '127.0.0.1').withStartupTimeout(500);
    expect(wait.isStartupTimeoutSet()).toBe(true);
    const started = Date.now();
    await expect(settle(wait.waitUntilReady(undefined, bound(gone)))).rejects.toThrow(
      /did not answer GET \/v2\/ with 200 on 127\.0\.0\.1:\d+ within 0\.5 s/,
    );
    // Asked at 0, 200 and 400 ms, and once more at 600, past the deadline: then the error.
    expect(Date.now() - started).toBe(600);
  });
});
