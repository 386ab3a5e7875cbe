// `run --builder NAME` builds with the user's builder as it is and never removes it: a
// docker-container builder the test creates as a user would (on BuildKit's image, network=host so it
// reaches the run's registry on 127.0.0.1) is used (its BuildKit container runs afterwards) and is
// there after the run with the same nodes; a builder that does not exist fails the run and none is
// made in its place.
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { cli, harnessLeftovers } from './helpers.ts';
import { engineNative } from './support/host-facts.ts';

const builders = async () =>
  (await execa('docker', ['buildx', 'ls', '--format', '{{.Name}}'])).stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();
const containerOf = async (name: string) =>
  (await execa('docker', ['ps', '-a', '-q', '--filter', `name=buildx_buildkit_${name}0`])).stdout.trim();

describe('a builder the user names', () => {
  test('is used and kept after the run; a missing one fails and is not made', async () => {
    const name = `kept-builder-${process.pid}`;
    // The builder pulls BuildKit's image into this engine: removed afterwards unless it was here before.
    const buildkit = 'moby/buildkit:buildx-stable-1';
    const hadBuildkit = (await execa('docker', ['image', 'inspect', buildkit], { reject: false })).exitCode === 0;
    await execa('docker', ['buildx', 'create', '--name', name, '--driver', 'docker-container', '--driver-opt', 'network=host']);
    try {
      const before = await builders();
      expect(before).toContain(name);
      expect(await containerOf(name)).toBe(''); // not bootstrapped yet: only a build through it starts its container
      const r = await cli(['run', 'scenarios/platform-args.ts', '--platforms', await engineNative(), '--builder', name, '--quiet']);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(await builders()).toEqual(before);
      expect(await containerOf(name)).not.toBe('');
      expect((await execa('docker', ['buildx', 'inspect', name])).stdout).toMatch(/Driver:\s+docker-container/);

      const wrong = await cli([
        'run',
        'scenarios/platform-args.ts',
        '--platforms',
        await engineNative(),
        '--builder',
        `${name}-missing`,
        '--quiet',
      ]);
      expect(wrong.exitCode).not.toBe(0);
      expect(await builders()).toEqual(before);
    } finally {
      await execa('docker', ['buildx', 'rm', '-f', name], { reject: false });
      if (!hadBuildkit) await execa('docker', ['image', 'rm', buildkit], { reject: false });
    }
    expect(await harnessLeftovers()).toEqual([]);
  });
});
