/**
 * A structure-test file's command tests on a platform whose image the engine fails to pull: the
 * pull goes through the engine's API, and the engine's refusal (an EngineError) fails those
 * tests with the engine's words, as the run check fails its platform; it does not escape as an
 * error of the whole run. The engine is a node:http server on a unix socket in a temporary folder
 * (DOCKER_HOST), with a DOCKER_CONFIG that holds no credentials: nothing leaves this process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import type { Session } from '../../harness/session/session.ts';
import type { PlatformExecution } from '../../harness/platform/execution-mode.ts';
import { parsePlatform } from '../../harness/platform/platform.ts';
import { runStructureTests } from '../../harness/structure/run-structure-tests.ts';
import { parseStructureTests } from '../../harness/structure-file/test-file.ts';

const IMAGE = `127.0.0.1:5999/app@sha256:${'0'.repeat(64)}`;
const TESTS = parseStructureTests(
  [
    'schemaVersion: 2.0.0',
    'commandTests:',
    '  - name: says hello',
    '    command: echo',
    '    args: [hello]',
    '    expectedOutput: [hello]',
    '  - name: says bye',
    '    command: echo',
    '    args: [bye]',
    '    expectedOutput: [bye]',
  ].join('\n'),
  'tests.yaml',
);
const native: PlatformExecution = { platform: parsePlatform('linux/amd64'), mode: 'native', timeoutFactor: 1, observed: true };

/** How the fake engine answers a pull (POST /images/create). */
let pullAnswer: (res: ServerResponse) => void;
let requests: string[] = [];
let dir: string;
let server: Server;

function engine(req: IncomingMessage, res: ServerResponse): void {
  requests.push(`${req.method} ${req.url}`);
  if (req.method === 'GET' && /^\/images\/.+\/json$/.test(req.url ?? '')) {
    res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ message: `No such image: ${IMAGE}` }));
  } else if (req.method === 'POST' && req.url?.startsWith('/images/create?')) {
    pullAnswer(res);
  } else {
    res
      .writeHead(500, { 'Content-Type': 'application/json' })
      .end(JSON.stringify({ message: `this test's engine does not answer ${req.method} ${req.url}` }));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-structure-pull-'));
  server = createServer(engine);
  await new Promise<void>((resolve) => server.listen(join(dir, 'docker.sock'), resolve));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  requests = [];
  vi.stubEnv('DOCKER_HOST', `unix://${join(dir, 'docker.sock')}`);
  vi.stubEnv('DOCKER_CONFIG', dir); // no config.json: no credentials, no helper started
  vi.stubEnv('DOCKER_CONTEXT', undefined);
  vi.stubEnv('MULTIARCH_REGISTRY_USERNAME', undefined);
  vi.stubEnv('MULTIARCH_ENGINE_TUNNEL', undefined);
});
afterEach(() => {
  vi.unstubAllEnvs();
});

/** What pullPinned asks of the session: whether it is closing, and the image it may pull. */
function session(): Session & { tracked: string[] } {
  const tracked: string[] = [];
  return { closing: false, tracked, trackImage: (image: string) => void tracked.push(image) } as unknown as Session & { tracked: string[] };
}

function run(ctx: Session) {
  return runStructureTests({
    ctx,
    file: TESTS,
    exec: native,
    config: {},
    fs: { problem: 'not read in this test' },
    image: IMAGE,
    allowSkip: false,
  });
}

describe('command tests whose image the engine cannot pull', () => {
  test("an error line in the pull's answer fails each command test with the engine's words", async () => {
    pullAnswer = (res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(`${JSON.stringify({ status: 'Pulling from app', id: 'sha256' })}\n`);
      res.end(
        `${JSON.stringify({ errorDetail: { message: 'manifest unknown' }, error: `manifest for ${IMAGE} not found: manifest unknown: manifest unknown` })}\n`,
      );
    };
    const ctx = session();
    const results = await run(ctx);
    expect(requests.filter((r) => r.startsWith('POST /images/create?'))).toHaveLength(1);
    expect(ctx.tracked).toEqual([IMAGE]);
    expect(results.map((r) => [r.name, r.kind, r.status])).toEqual([
      ['says hello', 'command', 'fail'],
      ['says bye', 'command', 'fail'],
    ]);
    for (const r of results) {
      expect(r.message).toBe(
        `the image of linux/amd64 could not be pulled: pulling ${IMAGE} for linux/amd64 failed: manifest for ${IMAGE} not found: manifest unknown: manifest unknown`,
      );
    }
  });

  test("a pull the engine refuses outright (a 4xx) fails each command test with the engine's words", async () => {
    pullAnswer = (res) => {
      res
        .writeHead(404, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ message: 'pull access denied for 127.0.0.1:5999/app, repository does not exist' }));
    };
    const results = await run(session());
    expect(results.map((r) => r.status)).toEqual(['fail', 'fail']);
    for (const r of results)
      expect(r.message).toMatch(
        /^the image of linux\/amd64 could not be pulled: pulling .* failed: pull access denied for 127\.0\.0\.1:5999\/app, repository does not exist$/,
      );
  });
});
