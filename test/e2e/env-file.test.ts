// container-structure-test's containerRunOptions.envFile is read by the harness (structure/command-
// tests.ts: envFileLines) and sent through the engine's API; the docker CLI, which nobody here wrote,
// reads the same file with `docker run --env-file`. Both containers print their environment: the same
// variables, with the same values, come out of each.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Engine } from '../../harness/engine/client.ts';
import { runContainer } from '../../harness/engine/containers.ts';
import { envFileLines } from '../../harness/structure/command-tests.ts';

const IMAGE = 'alpine:latest';
const FILE_TEXT = [
  '# a comment, then a blank line',
  '',
  'PLAIN=1',
  '  LEADING_SPACE=kept after the name',
  'SPACES=two words  and trailing  ',
  'EMPTY=',
  'EQUALS=a=b=c',
  'FROM_HOST',
  'UNSET_ON_HOST',
  'QUOTED="not unquoted"',
].join('\n');
const HOST_ENV = { FROM_HOST: 'the host value' };

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-env-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A container's environment, the variables the runtime sets itself left out. */
const variables = (env: string) =>
  env
    .split('\n')
    .filter((l) => l && !/^(HOSTNAME|HOME|PATH)=/.test(l))
    .sort();

test('an env file gives the same variables through the engine API as through docker run --env-file', async () => {
  const file = join(dir, 'vars.env');
  await writeFile(file, FILE_TEXT);
  const cli = await execa('docker', ['run', '--rm', '--env-file', file, IMAGE, 'env'], { env: HOST_ENV });
  const ours = await runContainer(
    {
      name: `mah-env-file-${process.pid}`,
      platform: '',
      image: IMAGE,
      cmd: ['env'],
      env: envFileLines(FILE_TEXT, HOST_ENV),
      labels: {},
      timeoutMs: 60_000,
    },
    Engine.current(),
  );
  expect(ours.exitCode, ours.stderr).toBe(0);
  expect(variables(ours.stdout)).toEqual(variables(cli.stdout));
  // What the CLI made of it, so the comparison is about something.
  expect(variables(cli.stdout)).toEqual(
    expect.arrayContaining(['PLAIN=1', 'EMPTY=', 'EQUALS=a=b=c', 'FROM_HOST=the host value', 'QUOTED="not unquoted"']),
  );
});

test('a line the CLI refuses, the harness refuses too', async () => {
  const file = join(dir, 'bad.env');
  await writeFile(file, 'OK=1\n=no name\n');
  const cli = await execa('docker', ['run', '--rm', '--env-file', file, IMAGE, 'true'], { reject: false });
  expect(cli.exitCode).not.toBe(0);
  expect(() => envFileLines('OK=1\n=no name\n')).toThrow(/no variable name/);
});
