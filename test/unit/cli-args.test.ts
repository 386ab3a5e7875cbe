// Every value on the command line is checked before any engine is contacted: the CLI's main() runs
// in-process with DOCKER_HOST at a socket that does not exist, so a value that slipped past the
// argument checks would end in "No Docker engine answers", not in its own sentence. runScenario is
// replaced by one that records the scenario and its options, so a command line that passes every
// check shows what it would run, and nothing runs.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { captureConsole } from '../support/console-capture.ts';

const ran = vi.hoisted(() => ({ calls: [] as Array<{ scenario: unknown; options: unknown }> }));
vi.mock('../../harness/scenario/index.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../harness/scenario/index.ts')>()),
  runScenario: (scenario: unknown, options: unknown) => {
    ran.calls.push({ scenario, options });
    throw new (class extends Error {})('the scenario would run now');
  },
}));

const { main } = await import('../../harness/cli/main.ts');
const { nearestOption, parse, registryImageOption } = await import('../../harness/cli/args.ts');

const { out, err } = captureConsole();
let dir = '';
let state = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-cli-args-'));
  state = await mkdtemp(join(tmpdir(), 'mah-cli-args-state-'));
  await writeFile(join(dir, 'ca.pem'), 'not checked here');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(state, { recursive: true, force: true });
});

beforeEach(() => {
  ran.calls = [];
  vi.stubEnv('DOCKER_HOST', 'unix:///nonexistent/multiarch-harness-test/docker.sock');
  vi.stubEnv('DOCKER_CONTEXT', '');
  vi.stubEnv('DOCKER_CONFIG', dir);
  vi.stubEnv('MULTIARCH_STATE_DIR', state);
});

/** Runs the command line; its one line on stderr (exit 2), nothing run. */
async function refused(argv: string[]): Promise<string> {
  expect(await main(argv)).toBe(2);
  expect(ran.calls).toEqual([]);
  expect(err).toHaveLength(1);
  expect(err[0]).not.toMatch(/No Docker engine answers|internal error/);
  expect(err[0]).not.toContain('\n');
  return err[0]!;
}

describe('an unknown or misspelt option: one sentence, with the option meant when one is close', () => {
  test.each([
    [['verify', 'alpine', '--platfrom', 'linux/arm64'], 'verify: unknown option --platfrom; did you mean --platform?'],
    [['run', 'x.ts', '--platfroms', 'linux/amd64'], 'run: unknown option --platfroms; did you mean --platforms?'],
    [['verify', 'alpine', '--expect-unmae'], 'verify: unknown option --expect-unmae; did you mean --expect-uname?'],
    [['verify', 'alpine', '--qiuet'], 'verify: unknown option --qiuet; did you mean --quiet?'],
    [['verify', 'alpine', '--conf', 'x.yaml'], 'verify: unknown option --conf; did you mean --config?'],
    [['verify', 'alpine', '--plat=linux/arm64'], 'verify: unknown option --plat; did you mean --platform?'],
    [['verify', 'alpine', '-platform', 'linux/arm64'], 'verify: unknown option -platform; did you mean --platform?'],
    [['doctor', '--jsno', '-'], 'doctor: unknown option --jsno; did you mean --json?'],
    [['report', 'a.json', '--reporters', 'html'], 'report: unknown option --reporters; did you mean --reporter?'],
    [['report', 'a.json', '--frobnicate'], 'report: unknown option --frobnicate'],
    [['verify', 'alpine', '-x'], 'verify: unknown option -x'],
    [['doctor', '--platform', 'linux/arm64'], 'doctor: unknown option --platform'],
  ])('%j', async (argv, sentence) => {
    const command = argv[0]!;
    expect(await refused(argv)).toBe(`multiarch-harness: ${sentence} (multiarch-harness ${command} --help lists them)`);
  });

  test('never Node’s parseArgs text (its quotes and its advice to use --)', async () => {
    const line = await refused(['verify', 'alpine', '--bogus']);
    expect(line).not.toMatch(/Unknown option|'--bogus'|place it at the end/);
  });

  test('the nearest name: Damerau-Levenshtein within 2, or a prefix; nothing when none is close', () => {
    const names = ['platform', 'platforms', 'json', 'quiet', 'concurrency', 'config', 'help'];
    expect(nearestOption('platfrom', names)).toBe('platform');
    expect(nearestOption('platfroms', names)).toBe('platforms');
    expect(nearestOption('jsn', names)).toBe('json');
    expect(nearestOption('hlep', names)).toBe('help');
    expect(nearestOption('concur', names)).toBe('concurrency');
    expect(nearestOption('x', names)).toBeUndefined();
    expect(nearestOption('output', names)).toBeUndefined();
    expect(nearestOption('', names)).toBeUndefined();
  });
});

describe('a missing value, a value given to a flag, an operand too many: one sentence each', () => {
  test.each([
    [['verify', 'alpine', '--platform'], /^multiarch-harness: verify: --platform needs a value, and nothing follows it \(/],
    [
      ['verify', 'alpine', '--platform', '--quiet'],
      /^multiarch-harness: verify: --platform needs a value, and --quiet follows it \(--platform=VALUE/,
    ],
    [['verify', 'alpine', '--quiet=yes'], /^multiarch-harness: verify: --quiet takes no value, yet --quiet=yes gives it one/],
    [['doctor', 'extra'], /^multiarch-harness: doctor: unexpected argument "extra"; doctor takes no operands/],
    [['setup', 'extra'], /^multiarch-harness: setup: unexpected argument "extra"; setup takes no operands/],
    [['setup', '--undoo'], /^multiarch-harness: setup: unknown option --undoo; did you mean --undo\?/],
    [['setup', '--emulators', 'qemu'], /^multiarch-harness: --emulators takes auto, host or image; got "qemu"\./],
    [['setup', '--undo', '--platform', 'linux/arm64'], /^multiarch-harness: setup --undo takes no other option/],
    [['doctor', '--json', 'out.json', 'extra'], /^multiarch-harness: doctor: unexpected argument "extra"/],
    [
      ['verify', 'alpine', 'uname'],
      /^multiarch-harness: verify: unexpected argument "uname"; verify takes one image, and the command to run after --/,
    ],
    [['run', 'a.ts', 'b.ts'], /^multiarch-harness: run: unexpected argument "b\.ts"; run takes one scenario file/],
    [['verify'], /^multiarch-harness: verify takes one image, and none was given/],
    [['report', 'merge'], /^multiarch-harness: report merge takes one or more JSON report files, and none was given/],
  ])('%j', async (argv, sentence) => {
    expect(await refused(argv)).toMatch(sentence);
  });
});

describe('--json FILE on every command, - for stdout', () => {
  test('doctor --json alone (its old form) is a missing FILE, and says how to print to stdout', async () => {
    expect(await refused(['doctor', '--json'])).toBe(
      "multiarch-harness: doctor: --json needs a value, and nothing follows it (--json - writes the JSON to stdout) (see 'multiarch-harness doctor --help').",
    );
    err.length = 0;
    expect(await refused(['doctor', '--json', '--brief'])).toMatch(/--json needs a value, and --brief follows it/);
  });

  test('doctor --json FILE is a file, checked before the host is probed', async () => {
    expect(await refused(['doctor', '--json', '/proc/self/doctor.json'])).toMatch(
      /would be written into \/proc, a kernel or device file system/,
    );
  });

  test.each([
    ['verify', 'alpine'],
    ['run', 'x.ts'],
  ])('%s %s --json "" is one sentence', async (...argv) => {
    expect(await refused([...argv, '--json='])).toBe('multiarch-harness: --json takes a FILE to write the JSON to, or - for stdout.');
  });
});

describe("verify a local image: skopeo's transports, named in the report as written", () => {
  test.each([
    ['oci-archive:', 'hello.tar', 'verify-hello.tar'],
    ['oci:', 'hello layout', 'verify-hello-layout'],
    ['docker-archive:', 'hello.tar', 'verify-hello.tar'],
  ])('%s%s runs as the scenario %s, its image as the user wrote it', async (transport, file, name) => {
    const image = `${transport}${join(dir, file)}`;
    expect(await main(['verify', image, '--quiet'])).toBe(2);
    expect(ran.calls[0]!.scenario).toMatchObject({ kind: 'verify', name, title: `verify ${image}`, image });
  });

  test('--ca-file with a local image is one sentence: it is read from no registry', async () => {
    expect(await refused(['verify', `oci-archive:${join(dir, 'hello.tar')}`, '--ca-file', join(dir, 'ca.pem')])).toBe(
      `multiarch-harness: --ca-file is a registry's CA certificate, and oci-archive:${join(dir, 'hello.tar')} is a local image, read from no registry.`,
    );
  });
});

describe('verify IMAGE -- CMD ARGS...: the command as docker run takes it', () => {
  test('the words after -- are the command, options among them included', async () => {
    expect(await main(['verify', 'alpine', '--platform', 'linux/arm64', '--quiet', '--', 'uname', '-m', '--help'])).toBe(2);
    expect(ran.calls).toHaveLength(1);
    expect(ran.calls[0]!.scenario).toMatchObject({ kind: 'verify', image: 'alpine', command: ['uname', '-m', '--help'] });
    expect(out).toEqual([]);
  });

  test('--command keeps working, one argument at a time', async () => {
    expect(await main(['verify', 'alpine', '--quiet', '--command', 'uname', '--command=-m'])).toBe(2);
    expect(ran.calls[0]!.scenario).toMatchObject({ command: ['uname', '-m'] });
  });

  test('no command: the image’s own', async () => {
    expect(await main(['verify', 'alpine', '--quiet'])).toBe(2);
    expect(ran.calls[0]!.scenario).not.toHaveProperty('command');
  });

  test('both, or nothing after --: one sentence', async () => {
    expect(await refused(['verify', 'alpine', '--command', 'uname', '--', 'uname', '-m'])).toBe(
      'multiarch-harness: Give the command after -- or with --command, not both.',
    );
    err.length = 0;
    expect(await refused(['verify', 'alpine', '--'])).toMatch(
      /^multiarch-harness: verify: nothing follows --; the command to run goes there/,
    );
  });

  test('parse keeps the words after -- apart only when asked', () => {
    const options = { quiet: { type: 'boolean' } } as const;
    expect(parse(['alpine', '--', 'sh', '-c', 'x'], options, 'verify', { dashes: true })).toEqual({
      values: {},
      positionals: ['alpine'],
      afterDashes: ['sh', '-c', 'x'],
    });
    expect(parse(['--quiet', '--', '-a.json'], options, 'report')).toEqual({ values: { quiet: true }, positionals: ['-a.json'] });
  });
});

describe('every value is checked before the engine is contacted', () => {
  test.each([
    [
      ['verify', 'alpine', '--platform', 'foo'],
      /"foo" is not a platform the harness knows: write it as os\/arch\[\/variant\], for example linux\/arm64/,
    ],
    [['verify', 'alpine', '--platforms', 'linux/arm64,linux/sparc'], /"linux\/sparc" is not a platform the harness knows/],
    [['verify', 'alpine', '--platform', 'plan10/amd64'], /"plan10\/amd64" is not a platform the harness knows/],
    [['verify', 'alpine', '--platform', 'linux//v7'], /"linux\/\/v7" is not a platform: write it as os\/arch\[\/variant\]/],
    [['verify', 'alpine', '--platform='], /"" names no platform/],
    [['run', 'no-such-scenario.ts', '--platform', 'foo'], /"foo" is not a platform the harness knows/],
    [['doctor', '--require', 'linux/foo'], /"linux\/foo" is not a platform the harness knows/],
    [['verify', 'alpine', '--reporter', 'pdf'], /"pdf" is not a reporter/],
    [['verify', 'alpine', '--node', 'linux/foo=ssh://me@box'], /"linux\/foo" is not a platform the harness knows/],
    [['verify', 'alpine', '--node', 'linux/arm64'], /--node takes PLATFORMS=ENDPOINT/],
    [['verify', 'alpine', '--node', 'linux/arm64=no-such-context'], /--node: there is no docker context named "no-such-context"/],
    [['verify', 'alpine', '--network', 'bad name'], /--network takes a docker network name/],
    [['verify', 'alpine', '--shard', '3/2'], /"3\/2" is not a shard/],
    [['verify', 'alpine', '--shard', 'x'], /"x" is not a shard/],
    [['verify', 'alpine', '--concurrency', '0'], /--concurrency takes a whole number of platforms at once, 1 or more; got "0"/],
    [['verify', 'alpine', '--concurrency', '2.5'], /--concurrency takes a whole number/],
    [['verify', 'alpine', '--allow-foreign='], /--allow-foreign takes a GLOB/],
    [['verify', 'alpine', '--ca-file', '/nonexistent/ca.pem'], /The CA file \/nonexistent\/ca\.pem cannot be read\./],
    [['verify', 'alpine', '--config', '/nonexistent/tests.yaml'], /nonexistent\/tests\.yaml/],
    [['verify', 'alpine', '--expect-output', 'Hello {arc}'], /\{arc\} is not a placeholder verify fills; these are: \{os\} \{arch\}/],
    [['verify', 'alpine', '--expect-output='], /--expect-output takes a TEMPLATE/],
    [['verify', 'alpine', '--expect-output', 'x', '--expect-uname'], /--expect-output or --expect-uname, not both/],
    [['verify', 'bad::ref'], /"bad::ref" is neither an image reference \(.*\) nor a local image \(oci:DIR\[:TAG\], /],
    [['verify', 'oci:'], /"oci:" names no folder: write it as oci:DIR\[:TAG\]/],
    [['verify', 'docker-daemon:alpine@sha256:0'], /names an image by digest: docker-daemon: takes docker-daemon:NAME\[:TAG\]/],
    [['verify', 'alpine', '--json', '/proc/self/r.json'], /would be written into \/proc/],
    [['run', 'no-such-scenario.ts'], /There is no scenario file at .*no-such-scenario\.ts/],
    [['run', 'no-such-scenario.ts', '--builder', 'a b'], /--builder takes the name of a buildx builder/],
    [
      ['run', 'no-such-scenario.ts', '--registry-image', 'Registry 3'],
      /^multiarch-harness: --registry-image names the image the run's registry starts from, such as registry:2 or registry:3; "Registry 3" is not an image reference\.$/,
    ],
    [['run', 'no-such-scenario.ts', '--registry-image='], /--registry-image names the image .*; "" is not an image reference/],
    [['run', 'no-such-scenario.ts', '--registry-image', 'registry:3@sha256:0'], /"registry:3@sha256:0" is not an image reference/],
  ])('%j', async (argv, sentence) => {
    expect(await refused(argv)).toMatch(sentence);
  });

  test('a malformed MULTIARCH_REGISTRY_IMAGE, before any work, naming the variable', async () => {
    vi.stubEnv('MULTIARCH_REGISTRY_IMAGE', 'bad::ref');
    expect(await refused(['run', 'no-such-scenario.ts'])).toMatch(
      /^multiarch-harness: MULTIARCH_REGISTRY_IMAGE names the image .*; "bad::ref" is not an image reference\.$/,
    );
  });

  test('--registry-image, else MULTIARCH_REGISTRY_IMAGE, else nothing said (startRegistry starts registry:2)', () => {
    vi.stubEnv('MULTIARCH_REGISTRY_IMAGE', '');
    delete process.env.MULTIARCH_REGISTRY_IMAGE;
    expect(registryImageOption(undefined)).toEqual({});
    expect(registryImageOption('registry:3')).toEqual({ registryImage: 'registry:3' });
    vi.stubEnv('MULTIARCH_REGISTRY_IMAGE', '127.0.0.1:5001/library/registry:2');
    expect(registryImageOption(undefined)).toEqual({ registryImage: '127.0.0.1:5001/library/registry:2' });
    expect(registryImageOption('registry:3.0.0')).toEqual({ registryImage: 'registry:3.0.0' });
  });

  test('a malformed bound variable, before any work', async () => {
    vi.stubEnv('MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS', 'soon');
    expect(await refused(['verify', 'alpine'])).toMatch(/MULTIARCH_HARNESS_DOCKER_TIMEOUT_MS/);
  });

  test('a command line that passes every check reaches the scenario with its values, and has written nothing in the state folder', async () => {
    const ca = join(dir, 'ca.pem');
    expect(
      await main([
        'verify',
        'alpine:3.20',
        '--platform',
        'arm64',
        '--platform',
        'linux/arm/v7',
        '--shard',
        '1/2',
        '--ca-file',
        ca,
        '--quiet',
      ]),
    ).toBe(2);
    expect(ran.calls).toHaveLength(1);
    expect(ran.calls[0]!.options).toMatchObject({
      platforms: [
        { os: 'linux', architecture: 'arm64' },
        { os: 'linux', architecture: 'arm', variant: 'v7' },
      ],
      shard: { index: 1, total: 2 },
      caFile: ca,
    });
    expect(await readdir(state)).toEqual([]);
  });
});
