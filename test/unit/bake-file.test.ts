/**
 * A bake file as `docker buildx bake --print` resolves it (harness/bake/bake-file.ts), read from
 * what buildx 0.13.1 and 0.29.1 printed (test/fixtures/bake/README.md); the sentences of a bake that cannot be
 * resolved; and the arguments, step names and allowances of the bake itself (harness/bake/bake.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { bakeFiles, outputsOf, parseBakePrint, printFailure, type BakeFiles } from '../../harness/bake/bake-file.ts';
import { allowances, bakeArgs, targetOfVertex } from '../../harness/bake/bake.ts';
import { UsageError } from '../../harness/base/errors.ts';
import { parsePlatform } from '../../harness/platform/platform.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'bake');
const fixture = (name: string) => readFile(join(FIXTURES, name), 'utf8');
const VERSIONS = ['buildx-0.13.1', 'buildx-0.29.1'];

describe('parseBakePrint', () => {
  test.each(VERSIONS)(
    'the sample (%s): its targets in its groups’ order, the matrix expanded, each with its platforms',
    async (version) => {
      const { targets } = parseBakePrint(await fixture(`sample-print-${version}.json`), 'the sample');
      // The groups' order as buildx prints it: the file's up to 0.19, sorted by name since 0.20.
      expect(targets.map((t) => t.name)).toEqual(
        version === 'buildx-0.13.1' ? ['hello', 'echo', 'greeting-en', 'greeting-fr'] : ['echo', 'greeting-en', 'greeting-fr', 'hello'],
      );
      const [hello, echo, en, fr] = ['hello', 'echo', 'greeting-en', 'greeting-fr'].map((n) => targets.find((t) => t.name === n));
      expect(hello).toEqual({
        name: 'hello',
        platforms: ['linux/amd64', 'linux/386', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm64', 'linux/ppc64le', 'linux/s390x'],
        tags: ['docker.io/example/hello:latest'],
        context: '../hello-go',
        dockerfile: 'Dockerfile.cross-scratch',
        args: {},
        contexts: {},
        outputs: [],
      });
      expect(echo!.platforms).toEqual(['linux/amd64', 'linux/arm64', 'linux/arm/v7']);
      expect(echo!.dockerfile).toBe('Dockerfile');
      expect(en!.args).toEqual({ GREETING: 'Hello' });
      expect(fr!.args).toEqual({ GREETING: 'Bonjour' });
      expect(fr!.tags).toEqual(['docker.io/example/greeting:fr']);
    },
  );

  test('both versions of the sample read the same targets (in their own order)', async () => {
    const [a, b] = await Promise.all(
      VERSIONS.map(async (v) =>
        parseBakePrint(await fixture(`sample-print-${v}.json`), 'x').targets.sort((x, y) => x.name.localeCompare(y.name)),
      ),
    );
    expect(b).toEqual(a);
  });

  test.each(VERSIONS)(
    'a JSON bake file (%s): groups of groups, a target without platforms, outputs as strings or objects, unknown keys ignored',
    async (version) => {
      const { targets } = parseBakePrint(await fixture(`json-file-print-${version}.json`), 'x');
      expect(targets.map((t) => t.name)).toEqual(['app', 'tools']);
      const [app, tools] = targets;
      expect(app!.outputs).toEqual(['type=local,dest=out/app']);
      expect(app!.platforms).toEqual(['linux/amd64', 'linux/arm64']);
      // No platforms: the builder's default platform, decided by the runner.
      expect(tools!.platforms).toEqual([]);
      expect(tools!.outputs).toEqual(['type=docker']);
      expect(tools!.contexts).toEqual({ base: 'docker-image://alpine:3.19', src: '../src' });
      // An argument printed without a value (null) is left out.
      expect(tools!.args).toEqual({ VERSION: '1.2' });
      expect(Object.keys(app!).sort()).toEqual(['args', 'context', 'contexts', 'dockerfile', 'name', 'outputs', 'platforms', 'tags']);
    },
  );

  test('targets no group names come after those the groups name, by name', () => {
    const json = JSON.stringify({
      group: { default: { targets: ['b'] } },
      target: { z: {}, b: {}, a: { platforms: ['linux/arm64'] } },
    });
    expect(parseBakePrint(json, 'x').targets.map((t) => t.name)).toEqual(['b', 'a', 'z']);
  });

  test('what is not buildx’s JSON is one sentence', () => {
    expect(() => parseBakePrint('WARNING: something\n', 'the bake file /x.hcl')).toThrow(UsageError);
    expect(() => parseBakePrint('WARNING: something\n', 'the bake file /x.hcl')).toThrow(
      'docker buildx bake --print printed no JSON for the bake file /x.hcl: "WARNING: something".',
    );
    expect(() => parseBakePrint(JSON.stringify({ target: { a: { platforms: 'linux/amd64' } } }), 'the bake file /x.hcl')).toThrow(
      'The target a of the bake file /x.hcl has platforms that is not a list.',
    );
  });

  test('an output object reads as buildx’s string form, its type first', () => {
    expect(outputsOf([{ push: 'true', type: 'image', name: 'r/x' }])).toEqual(['type=image,push=true,name=r/x']);
    expect(outputsOf(['type=registry', { type: 'local', dest: 'out' }])).toEqual(['type=registry', 'type=local,dest=out']);
    expect(outputsOf('type=docker')).toEqual(['type=docker']);
    expect(outputsOf(undefined)).toEqual([]);
  });
});

describe('a bake that cannot be resolved: one sentence each', () => {
  const one: BakeFiles = { files: ['/w/docker-bake.hcl'], cwd: '/w', targets: ['nosuch'] };
  const two: BakeFiles = { files: ['/w/a.hcl', '/w/b.hcl'], cwd: '/w', targets: [] };

  test('a target that is not in the file', () => {
    const stderr = '#1 [internal] load local bake definitions\n#1 DONE 0.0s\nERROR: failed to find target nosuch\n';
    expect(printFailure(one, stderr)).toBe('The bake file /w/docker-bake.hcl has no target or group named nosuch.');
    expect(printFailure(one, 'ERROR: failed to find target "nosuch"')).toBe(
      'The bake file /w/docker-bake.hcl has no target or group named nosuch.',
    );
  });

  test('no target asked for and no default group', () => {
    expect(printFailure(two, 'ERROR: failed to find target default')).toBe(
      "The bake files /w/a.hcl and /w/b.hcl have no default group or target: name the targets to build (the scenario's targets).",
    );
  });

  test('any other failure: buildx’s last error line', () => {
    const stderr =
      '#1 reading docker-bake.hcl\nERROR: docker-bake.hcl:3,1-2: Argument or block definition required; An argument or block definition is required here.\n';
    expect(printFailure(one, stderr)).toBe(
      'docker buildx bake --print could not resolve the bake file /w/docker-bake.hcl: docker-bake.hcl:3,1-2: Argument or block definition required; An argument or block definition is required here.',
    );
    expect(printFailure(one, '', true)).toBe('docker buildx bake --print did not resolve the bake file /w/docker-bake.hcl within 120 s.');
  });

  test('a bake file that does not exist', async () => {
    await expect(bakeFiles([join(FIXTURES, 'no-such.hcl')])).rejects.toThrow(`There is no bake file at ${join(FIXTURES, 'no-such.hcl')}.`);
    await expect(bakeFiles([])).rejects.toThrow('A bake scenario names no bake file: give it one in file.');
    const found = await bakeFiles([join(FIXTURES, 'json-file', 'docker-bake.json')], ['app']);
    expect(found).toEqual({ files: [join(FIXTURES, 'json-file', 'docker-bake.json')], cwd: join(FIXTURES, 'json-file'), targets: ['app'] });
  });
});

describe('the bake', () => {
  test('its arguments: each target tagged on the session registry, its platforms set, its outputs a push, labelled', () => {
    const args = bakeArgs(
      {
        bake: { files: ['/w/docker-bake.hcl'], cwd: '/w', targets: [] },
        targets: [
          { name: 'hello', platforms: ['linux/amd64', 'linux/arm64'].map(parsePlatform), tag: '127.0.0.1:5000/mah-1/hello:latest' },
          { name: 'greeting-en', platforms: [parsePlatform('linux/arm/v7')], tag: '127.0.0.1:5000/mah-1/greeting-en:latest' },
        ],
        builder: 'default',
        labels: ['io.multiarch-harness.run=mah-1'],
        allowRead: ['/samples/hello-go'],
      },
      '/tmp/m.json',
    );
    expect(args).toEqual([
      'buildx',
      'bake',
      '-f',
      '/w/docker-bake.hcl',
      '--builder',
      'default',
      '--progress=rawjson',
      '--provenance=false',
      '--metadata-file',
      '/tmp/m.json',
      '--push',
      '--allow=fs.read=/samples/hello-go',
      '--set',
      'hello.tags=127.0.0.1:5000/mah-1/hello:latest',
      '--set',
      'hello.platform=linux/amd64',
      '--set',
      'hello.platform=linux/arm64',
      '--set',
      'hello.output=type=registry',
      '--set',
      'hello.labels.io.multiarch-harness.run=mah-1',
      '--set',
      'greeting-en.tags=127.0.0.1:5000/mah-1/greeting-en:latest',
      '--set',
      'greeting-en.platform=linux/arm/v7',
      '--set',
      'greeting-en.output=type=registry',
      '--set',
      'greeting-en.labels.io.multiarch-harness.run=mah-1',
      'hello',
      'greeting-en',
    ]);
  });

  test('a step’s target: buildx’s prefix of a bake of several targets, the longest name that fits', () => {
    const names = ['greeting', 'greeting-en', 'hello'];
    expect(targetOfVertex('[greeting-en linux/arm64 2/3] RUN echo', names)).toEqual({
      target: 'greeting-en',
      step: '[linux/arm64 2/3] RUN echo',
    });
    expect(targetOfVertex('[hello internal] load build definition from Dockerfile', names)).toEqual({
      target: 'hello',
      step: '[internal] load build definition from Dockerfile',
    });
    expect(targetOfVertex('[greeting] exporting to image', names)).toEqual({ target: 'greeting', step: 'exporting to image' });
    expect(targetOfVertex('[other 1/2] FROM alpine', names)).toBeUndefined();
    // A bake of one target names no target.
    expect(targetOfVertex('[linux/arm64 builder 4/4] RUN go build', ['hello'])).toEqual({
      target: 'hello',
      step: '[linux/arm64 builder 4/4] RUN go build',
    });
  });

  test('allowances: the local folders outside the bake’s folder, where buildx checks them (0.19 and later)', async () => {
    const { targets } = parseBakePrint(await fixture('sample-print-buildx-0.13.1.json'), 'x');
    expect(allowances(targets, '/r/samples/bake', '0.13.1+ds1')).toEqual([]);
    expect(allowances(targets, '/r/samples/bake', undefined)).toEqual([]);
    expect(allowances(targets, '/r/samples/bake', 'v0.29.1')).toEqual(['/r/samples/hello-go', '/r/samples/echo-platform']);
    const json = parseBakePrint(await fixture('json-file-print-buildx-0.29.1.json'), 'x').targets;
    // An image (docker-image://) is no folder; ../src is.
    expect(allowances(json, '/r/app', '0.20.0')).toEqual(['/r/src']);
    const remote = [{ ...json[0]!, context: 'https://github.com/o/r.git#main', contexts: { a: 'target:app', b: 'cwd://../x' } }];
    expect(allowances(remote, '/r/app', '0.20.0')).toEqual(['/r/x']);
  });
});
