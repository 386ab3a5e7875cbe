// Every way a user can get the input or the host wrong, enumerated: each ends with exit code 2 and
// one sentence that says what was wrong (never "internal error", never a stack trace), and leaves
// nothing behind. A new error path that slips through as an internal error fails here.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cli, harnessLeftovers } from './helpers.ts';

let tmp = '';
let html: Server;
let htmlRegistry = '';

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mah-errors-'));
  await writeFile(
    join(tmp, 'syntax.ts'),
    "import { defineScenario } from 'multiarch-harness';\nexport default defineScenario({ kind: 'verify', name: 'x', title: 'x', image: 'a' \n  oops here\n});\n",
  );
  await writeFile(join(tmp, 'throws.ts'), "throw new Error('the scenario refuses to load');\nexport default {};\n");
  await writeFile(join(tmp, 'no-default.ts'), 'export const x = 1;\n');
  await writeFile(join(tmp, 'package.json'), '{ "type": "module" }\n');
  await mkdir(join(tmp, 'commonjs'));
  await writeFile(join(tmp, 'commonjs', 'scenario.ts'), "export default { kind: 'verify', name: 'x', title: 'x', image: 'alpine' };\n");
  await writeFile(join(tmp, 'commonjs', 'package.json'), '{ "type": "commonjs" }\n');
  await writeFile(join(tmp, 'not-a-report.json'), '{"hello": 1}\n');
  await writeFile(join(tmp, 'not-json.json'), 'hello\n');
  await writeFile(join(tmp, 'a-file'), 'x');
  await mkdir(join(tmp, 'a-folder.json'));
  await mkdir(join(tmp, 'bad-docker-config'));
  await writeFile(join(tmp, 'bad-docker-config', 'config.json'), '{ not json');
  // A web server on loopback that answers every request with a web page: not a registry.
  html = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!DOCTYPE html><html><body>Welcome</body></html>');
  });
  await new Promise<void>((ok) => html.listen(0, '127.0.0.1', ok));
  htmlRegistry = `127.0.0.1:${(html.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((ok) => html.close(ok));
  await rm(tmp, { recursive: true, force: true });
  expect(await harnessLeftovers()).toEqual([]);
});

const verify = (...rest: string[]) => ['verify', '127.0.0.1:5001/library/alpine:latest', '--platforms', 'linux/amd64', ...rest];

/** [what, arguments, what the sentence must say, environment] */
const CASES: Array<[string, () => string[], RegExp, (() => Record<string, string>)?]> = [
  ['an unknown command', () => ['frobnicate'], /"frobnicate" is not a command/],
  [
    'an unknown option',
    () => ['run', 'scenarios/hello-go-qemu.ts', '--platfroms', 'linux/amd64'],
    /run: unknown option --platfroms; did you mean --platforms\?/,
  ],
  [
    'an unknown platform',
    () => ['verify', '127.0.0.1:5001/library/alpine:latest', '--platform', 'foo'],
    /"foo" is not a platform the harness knows/,
  ],
  ['a stray argument to doctor', () => ['doctor', 'extra'], /doctor: unexpected argument "extra"/],
  ['verify with a command both ways', () => verify('--command', 'uname', '--', 'uname'), /after -- or with --command, not both/],
  ['a malformed platform', () => ['run', 'scenarios/hello-go-qemu.ts', '--platforms', 'linux//v7'], /"linux\/\/v7" is not a platform/],
  ['a platform list with no platform', () => ['run', 'scenarios/hello-go-qemu.ts', '--platforms', ','], /names no platform/],
  ['a missing scenario file', () => ['run', 'scenarios/nope.ts'], /There is no scenario file at .*nope\.ts/],
  ['a scenario that does not compile', () => ['run', join(tmp, 'syntax.ts')], /syntax\.ts does not compile: .*syntax\.ts:3:\d+: /],
  [
    'a scenario that throws while it loads',
    () => ['run', join(tmp, 'throws.ts')],
    /throws\.ts failed while it was loaded: the scenario refuses to load/,
  ],
  ['a scenario with no default export', () => ['run', join(tmp, 'no-default.ts')], /does not export a scenario as its default export/],
  [
    'a scenario loaded as CommonJS',
    () => ['run', join(tmp, 'commonjs', 'scenario.ts')],
    /is loaded as CommonJS here: a scenario is an ES module/,
  ],
  ['a missing Dockerfile', () => ['run', 'test/e2e/fixtures/no-dockerfile.ts'], /There is no Dockerfile at/],
  [
    'a malformed image reference',
    () => ['verify', 'bad::ref'],
    /"bad::ref" is neither an image reference \(\[registry\/\]repository\[:tag\]\[@sha256:...\]\) nor a local image/,
  ],
  ['verify with no image', () => ['verify'], /verify takes one image, and none was given/],
  ['both expectations', () => verify('--expect-output', 'x', '--expect-uname'), /--expect-output or --expect-uname, not both/],
  ['an unreachable registry', () => ['verify', '127.0.0.1:1/app:1'], /The registry 127\.0\.0\.1:1 cannot be reached \(ECONNREFUSED\)/],
  [
    'a registry that is not one',
    () => ['verify', `${htmlRegistry}/app:1`],
    /answered the request for manifest 1 with text\/html \("<!DOCTYPE html>.*is it a container registry/,
  ],
  ['a missing CA file', () => verify('--ca-file', '/nonexistent/ca.pem'), /The CA file \/nonexistent\/ca\.pem cannot be read/],
  [
    'a docker config that is not JSON',
    () => ['verify', `${htmlRegistry}/app:1`],
    /config\.json is not JSON/,
    () => ({ DOCKER_CONFIG: join(tmp, 'bad-docker-config') }),
  ],
  ['an unknown reporter', () => verify('--reporter', 'pdf'), /"pdf" is not a reporter/],
  [
    'a report where a file stands in place of a folder',
    () => verify('--reporter', `json=${join(tmp, 'a-file', 'r.json')}`),
    /cannot be written: a file stands where a folder is needed/,
  ],
  ['a report path that is a folder', () => verify('--reporter', `json=${join(tmp, 'a-folder.json')}`), /cannot be written: it is a folder/],
  [
    'a report under /proc',
    () => verify('--reporter', 'json=/proc/self/mah-report.json'),
    /would be written into \/proc, a kernel or device file system/,
  ],
  ['report with no file', () => ['report'], /report takes one or more JSON report files/],
  ['report of a missing file', () => ['report', join(tmp, 'nope.json')], /cannot be read/],
  ['report of a file that is not JSON', () => ['report', join(tmp, 'not-json.json')], /is not JSON/],
  ['report of JSON that is not a report', () => ['report', join(tmp, 'not-a-report.json')], /is not a multiarch-harness report/],
  ['doctor --require with a malformed platform', () => ['doctor', '--require', 'linux/'], /is not a platform/],
  ['no engine', () => verify(), /No Docker engine answers/, () => ({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' })],
];

describe('every error path ends in one sentence and exit code 2', () => {
  test.each(CASES)('%s', async (_what, args, sentence, env) => {
    const r = await cli(args(), env?.() ?? {});
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^multiarch-harness: /);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(lines[0]).toMatch(sentence);
  });

  test('the command alone prints the usage and exits 2', async () => {
    const r = await cli([]);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toMatch(/^usage:/);
  });
});
