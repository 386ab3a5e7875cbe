// container-structure-test files: the parser against container-structure-test's own test files and
// against mistakes (each one sentence naming the line), and the file, metadata and license tests
// against layers and configs made here.
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { beforeAll, describe, expect, test } from 'vitest';
import { ImageFilesystem } from '../../harness/image/filesystem.ts';
import { parsePlatform } from '../../harness/platform/platform.ts';
import { containerOptions, envFileLines } from '../../harness/structure/command-tests.ts';
import { compileExpectation, matches } from '../../harness/structure-file/patterns.ts';
import {
  expandEnv,
  goModeString,
  patternProblems,
  runFileContentTest,
  runFileExistenceTest,
  runLicenseTest,
  runMetadataTest,
} from '../../harness/structure/static-tests.ts';
import { mergeStructureTests, parseStructureTests } from '../../harness/structure-file/test-file.ts';

const FIXTURES = new URL('../fixtures/container-structure-test/', import.meta.url);
const arm64 = parsePlatform('linux/arm64');
const armv7 = parsePlatform('linux/arm/v7');

function parseError(text: string): string {
  try {
    parseStructureTests(text, 'tests.yaml');
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('parsed without an error');
}

describe("container-structure-test's own files", () => {
  test('every schemaVersion 2.0.0 file of its test suite is read, with its tests', async () => {
    const names = (await readdir(FIXTURES)).filter((f) => f.endsWith('.yaml') && !f.includes('failure'));
    expect(names.length).toBeGreaterThanOrEqual(5);
    for (const name of names) {
      const file = parseStructureTests(await readFile(new URL(name, FIXTURES), 'utf8'), name);
      const count =
        file.commandTests.length +
        file.fileExistenceTests.length +
        file.fileContentTests.length +
        file.metadataTests.length +
        file.licenseTests.length;
      expect(count, name).toBeGreaterThan(0);
    }
    const main = parseStructureTests(await readFile(new URL('ubuntu_22_04_test.yaml', FIXTURES), 'utf8'), 'ubuntu_22_04_test.yaml');
    expect(main.commandTests.map((t) => t.name)).toEqual(['apt-get', 'apt-config', 'path']);
    expect(main.fileExistenceTests.find((t) => t.name === 'Root')).toEqual({ name: 'Root', path: '/', shouldExist: true, uid: 0, gid: 0 });
    // shouldExist defaults to true, uid and gid to "not checked", as in container-structure-test.
    expect(main.fileExistenceTests.find((t) => t.name === 'Machine ID')).toEqual({
      name: 'Machine ID',
      path: '/etc/machine-id',
      shouldExist: true,
    });
    expect(main.licenseTests).toEqual([
      { debian: false, files: ['/usr/share/doc/ubuntu-keyring/copyright', '/usr/share/doc/dash/copyright'] },
    ]);
    const opts = parseStructureTests(await readFile(new URL('ubuntu_22_04_containeropts_test.yaml', FIXTURES), 'utf8'), 'x');
    expect(containerOptions(opts.containerRunOptions)).toEqual({
      privileged: true,
      capAdd: ['sys_admin'],
      binds: ['/tmp/test:/tmp/test'],
      env: [],
    });
  });

  test('an env file is read as docker run --env-file reads it', () => {
    const text = '# a comment\n\nA=1\n  B=two words\nFROM_HOST\nUNSET_HERE\nC=\n';
    expect(envFileLines(text, { FROM_HOST: 'h' })).toEqual(['A=1', 'B=two words', 'FROM_HOST=h', 'C=']);
    expect(() => envFileLines('=x\n')).toThrow(/a line with no variable name/);
    expect(() => envFileLines('MY VAR=1\n')).toThrow(/has white space in it/);
  });

  test('its schemaVersion 1.0.0 file is refused in one sentence naming the line', async () => {
    const text = await readFile(new URL('ubuntu_22_04_failure_test.yaml', FIXTURES), 'utf8');
    expect(() => parseStructureTests(text, 'failure.yaml')).toThrow(
      /^failure\.yaml line 1: schemaVersion must be "2\.0\.0" .*not "1\.0\.0"\.$/,
    );
  });
});

describe('mistakes in a file', () => {
  test('an unknown field names its line and the field it probably meant', () => {
    const msg = parseError("schemaVersion: '2.0.0'\ncommandTests:\n  - name: hello\n    command: /hello\n    expectedOuput: ['Hello']\n");
    expect(msg).toBe(
      'tests.yaml line 5: unknown field "expectedOuput" in commandTests[0] (did you mean "expectedOutput"?); known: name, setup, teardown, envVars, exitCode, command, args, expectedOutput, excludedOutput, expectedError, excludedError.',
    );
  });

  test('wrong types, missing names and commands, bad regular expressions, bad YAML', () => {
    expect(parseError("schemaVersion: '2.0.0'\ncommandTests:\n  - name: a\n    command: x\n    exitCode: one\n")).toMatch(
      /^tests\.yaml line 5: command test "a": exitCode must be a whole number\.$/,
    );
    expect(parseError("schemaVersion: '2.0.0'\ncommandTests:\n  - command: x\n")).toMatch(
      /^tests\.yaml line 3: commandTests\[0\] needs a name\.$/,
    );
    expect(parseError("schemaVersion: '2.0.0'\ncommandTests:\n  - name: a\n")).toMatch(/line 3: command test "a" needs a command/);
    expect(
      parseError("schemaVersion: '2.0.0'\nfileContentTests:\n  - name: a\n    path: /x\n    expectedContents: ['(unclosed']\n"),
    ).toMatch(/line 5: file content test "a": expectedContents\[0\] is not a regular expression/);
    expect(parseError("schemaVersion: '2.0.0'\nfileExistenceTests:\n  - name: a\n    path: /x\n    permissions: '0755'\n")).toMatch(
      /line 5: .*permissions must be written as Go prints a file mode/,
    );
    expect(parseError("schemaVersion: '2.0.0'\nfileExistenceTests:\n  - name: a\n    path: /x\n    isExecutableBy: everyone\n")).toMatch(
      /line 5: .*isExecutableBy must be any, owner, group or other/,
    );
    expect(parseError("schemaVersion: '2.0.0'\ncommandTests: [\n  {name: a, command: x\n")).toMatch(
      /^tests\.yaml line \d+: not valid YAML/,
    );
    expect(parseError("schemaVersion: '2.0.0'\ncommandTests:\n  - name: a\n    command: x\n  - name: a\n    command: y\n")).toMatch(
      /the test name "a" is used twice/,
    );
    expect(parseError("schemaVersion: '2.0.0'\n")).toMatch(/has no tests/);
    expect(
      parseError("schemaVersion: '2.0.0'\ncontainerRunOptions:\n  allocateTty: true\ncommandTests:\n  - name: a\n    command: x\n"),
    ).toMatch(/line 3: containerRunOptions\.allocateTty is not supported/);
    expect(parseError('')).toMatch(/is empty/);
    // YAML 1.1 as go-yaml v2 reads it: "no" is false.
    expect(
      parseStructureTests("schemaVersion: '2.0.0'\nfileExistenceTests:\n  - {name: a, path: /x, shouldExist: no}\n", 'x')
        .fileExistenceTests[0]!.shouldExist,
    ).toBe(false);
  });

  test('files given together: names unique across them, one metadata test each', () => {
    const a = parseStructureTests(
      "schemaVersion: '2.0.0'\ncommandTests:\n  - {name: a, command: x}\nmetadataTest:\n  workdir: /\n",
      'a.yaml',
    );
    const b = parseStructureTests("schemaVersion: '2.0.0'\nmetadataTest:\n  user: root\n", 'b.yaml');
    expect(mergeStructureTests([a, b]).metadataTests.map((m) => m.name)).toEqual(['metadata (a.yaml)', 'metadata (b.yaml)']);
    expect(() => mergeStructureTests([a, a])).toThrow(/"a" is used in a\.yaml and a\.yaml/);
  });
});

describe('patterns', () => {
  test("Go's leading flags and named groups; the platform's values filled in", () => {
    expect(matches('(?i)hello', 'HELLO', arm64)).toBe(true);
    expect(matches('(?P<who>linux)/{arch}', 'linux/arm64', arm64)).toBe(true);
    expect(matches('Hello, {platform}!', 'Hello, linux/arm/v7!', armv7)).toBe(true);
    expect(matches('Hello, {platform}!', 'Hello, linux/arm64!', armv7)).toBe(false);
    expect(matches('a{2}', 'aa', arm64)).toBe(true);
    expect(compileExpectation('(?U)a+').problem).toMatch(/ungreedy/);
    expect(patternProblems('stdout', 'Hello, linux/amd64!', arm64, ['Hello, {os}/{arch}!'], ['amd64'])).toEqual([
      'expected /Hello, {os}/{arch}!/ in stdout, got "Hello, linux/amd64!"',
      'excluded /amd64/ found in stdout "Hello, linux/amd64!"',
    ]);
  });

  test('$NAME and ${NAME} from the image environment, unknown names empty (Go os.Expand)', () => {
    expect(expandEnv('$HOME/x:${PATH}:$NOPE.', { HOME: '/root', PATH: '/bin' })).toBe('/root/x:/bin:.');
  });
});

describe('file, metadata and license tests from layers', () => {
  let fs: ImageFilesystem;
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mah-cst-'));
    const pack = tar.pack();
    const entry = (name: string, o: Partial<tar.Header>, data = '') => pack.entry({ name, mode: 0o644, uid: 0, gid: 0, ...o }, data);
    entry('bin/', { type: 'directory', mode: 0o755 });
    entry('bin/app', { mode: 0o755, uid: 1000, gid: 1000 }, 'Hello, linux/arm64!\n');
    entry('bin/suid', { mode: 0o4755 });
    entry('tmp/', { type: 'directory', mode: 0o1777 });
    entry('bin/link', { type: 'symlink', linkname: 'app', mode: 0o777 });
    entry('etc/', { type: 'directory', mode: 0o755 });
    entry('etc/secret', { mode: 0o600 }, 'token');
    entry('usr/share/doc/good/', { type: 'directory', mode: 0o755 });
    entry('usr/share/doc/good/copyright', {}, 'MIT License');
    entry('usr/share/doc/bad/', { type: 'directory', mode: 0o755 });
    entry('usr/share/doc/bad/copyright', {}, 'GNU Affero General Public License (agpl-3.0)');
    pack.finalize();
    const file = join(dir, 'layer.tar');
    await pipeline(pack, createWriteStream(file));
    fs = await ImageFilesystem.fromLayerFiles([file]);
    return () => rm(dir, { recursive: true, force: true });
  });

  test('modes as Go prints them', () => {
    expect(goModeString({ mode: 0o755, tarType: 'file' })).toBe('-rwxr-xr-x');
    expect(goModeString({ mode: 0o755, tarType: 'directory' })).toBe('drwxr-xr-x');
    expect(goModeString({ mode: 0o1777, tarType: 'directory' })).toBe('dtrwxrwxrwx');
    expect(goModeString({ mode: 0o4755, tarType: 'file' })).toBe('urwxr-xr-x');
    expect(goModeString({ mode: 0o777, tarType: 'symlink' })).toBe('Lrwxrwxrwx');
  });

  test('existence, permissions, owner, executable bits; a symlink is itself; $VARS expanded', () => {
    const run = (t: object) => runFileExistenceTest(fs, { name: 't', path: '/', shouldExist: true, ...t }, { BIN: '/bin' });
    expect(run({ path: '$BIN/app', permissions: '-rwxr-xr-x', uid: 1000, gid: 1000, isExecutableBy: 'other' })).toMatchObject({
      status: 'pass',
    });
    expect(run({ path: '/bin/link', permissions: 'Lrwxrwxrwx' })).toMatchObject({ status: 'pass' });
    expect(run({ path: '/', uid: 0, gid: 0 })).toMatchObject({ status: 'pass' });
    expect(run({ path: '/etc/secret', isExecutableBy: 'owner', uid: 1 })).toMatchObject({
      status: 'fail',
      message: '/etc/secret: not executable by owner (-rw-------); owner uid 0, expected 1',
    });
    expect(run({ path: '/etc/nope' })).toMatchObject({ status: 'fail', message: '/etc/nope should exist but does not' });
    expect(run({ path: '/etc/secret', shouldExist: false })).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/should not exist but does/),
    });
    expect(run({ path: '/etc/nope', shouldExist: false })).toMatchObject({ status: 'pass' });
  });

  test('content with platform templates, following symlinks', async () => {
    expect(
      await runFileContentTest(
        fs,
        { name: 'c', path: '/bin/link', expectedContents: ['^Hello, {platform}!$|Hello, {os}/{arch}!'], excludedContents: [] },
        arm64,
      ),
    ).toMatchObject({ status: 'pass' });
    expect(
      await runFileContentTest(fs, { name: 'c', path: '/bin/app', expectedContents: ['Hello, {platform}!'], excludedContents: [] }, armv7),
    ).toMatchObject({ status: 'fail' });
    expect(await runFileContentTest(fs, { name: 'c', path: '/nope', expectedContents: [], excludedContents: [] }, arm64)).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/cannot read \/nope/),
    });
  });

  test('metadata: env, labels (regex), entrypoint, cmd, ports (8080 or 8080/tcp), volumes, workdir, user', () => {
    const config = {
      config: {
        Env: ['PATH=/bin', 'A=x=y'],
        Labels: { version: '1.2.3' },
        Entrypoint: ['/bin/app'],
        Cmd: null,
        ExposedPorts: { '8080/tcp': {}, '53/udp': {} },
        Volumes: { '/data': {} },
        WorkingDir: '/srv',
        User: 'app',
      },
    };
    const ok = runMetadataTest(
      config,
      {
        envVars: [{ key: 'A', value: 'x=y', isRegex: false }],
        unboundEnvVars: [{ key: 'B', value: '', isRegex: false }],
        labels: [{ key: 'version', value: '^1\\.2', isRegex: true }],
        exposedPorts: ['8080', '53/udp'],
        unexposedPorts: ['80'],
        volumes: ['/data/'],
        unmountedVolumes: ['/root'],
        entrypoint: ['/bin/app'],
        cmd: [],
        workdir: '/srv',
        user: 'app',
      },
      arm64,
    );
    expect(ok).toMatchObject({ status: 'pass' });
    const bad = runMetadataTest(
      config,
      {
        envVars: [{ key: 'A', value: 'x', isRegex: false }],
        unboundEnvVars: [{ key: 'PATH', value: '', isRegex: false }],
        labels: [{ key: 'nope', value: '', isRegex: false }],
        exposedPorts: ['9090'],
        unexposedPorts: ['8080'],
        volumes: [],
        unmountedVolumes: ['/data'],
        entrypoint: ['/app'],
        user: 'root',
      },
      arm64,
    );
    expect(bad.status).toBe('fail');
    expect(bad.message).toBe(
      'env A="x=y", expected "x"; env PATH should not be set; label nope is not set; entrypoint ["/bin/app"], expected ["/app"]; user "app", expected "root"; port 9090 is not exposed; port 8080 should not be exposed; volume /data should not be declared',
    );
  });

  test("licenses: every package's copyright file, AGPL and WTFPL refused", async () => {
    expect(await runLicenseTest(fs, { debian: true, files: [] }, 'license')).toMatchObject({
      status: 'fail',
      message: '/usr/share/doc/bad/copyright names the AGPL license',
    });
    expect(await runLicenseTest(fs, { debian: false, files: ['/usr/share/doc/good/copyright'] }, 'license')).toMatchObject({
      status: 'pass',
    });
  });
});
