/**
 * Article sections 2.8 to 2.13: the docker manifest subcommands, in the article's order, on the
 * article's two images (echo-platform-arm64 and -amd64) in the run's registry: --help, create
 * (and --amend), push (and --purge), inspect (and -v), annotate --os-version, rm.
 */
import { defineScenario, formatPlatform, parsePlatform, type Step } from 'multiarch-harness';
import { buildAndPushEcho } from './support/echo-platform.ts';

interface ListJson {
  mediaType?: string;
  manifests?: Array<{
    mediaType: string;
    digest: string;
    size: number;
    platform: { architecture: string; os: string; variant?: string; 'os.version'?: string };
  }>;
}

function parseJson<T>(s: Step, text: string, what: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    s.check(false, `${what} is not JSON: ${text.slice(0, 120)}`);
    return undefined;
  }
}

/** -h prints a deprecation notice on the article's CLI; record what this CLI does. */
async function helpOf(s: Step, sub: string[], flags: RegExp[]): Promise<void> {
  const h = await s.docker([...sub, '-h']);
  const help = await s.must([...sub, '--help']);
  for (const f of flags) s.checkMatch(help.stdout, f, `${sub.join(' ')} --help`);
  const notice = /Flag shorthand -h has been deprecated/.test(h.stdout + h.stderr);
  s.saw(
    `\`${sub.join(' ')} -h\`: ${notice ? 'prints "Flag shorthand -h has been deprecated", as in the article' : 'no deprecation notice any more'}`,
  );
  if (!notice) s.differs(`this CLI no longer prints the -h deprecation notice for ${sub.join(' ')}.`);
}

export default defineScenario({
  kind: 'steps',
  name: 'manifest-commands',
  title: 'docker manifest subcommands: create, push, inspect, annotate, rm',
  reference: { name: 'the article', part: '2.8-2.13' },
  platforms: ['linux/arm64', 'linux/amd64'],
  async steps(t) {
    const registry = (await t.registry()).address;
    const arm64 = parsePlatform('linux/arm64');
    const amd64 = parsePlatform('linux/amd64');
    const refs: Record<string, string> = {};
    const list = `${registry}/jianghushinian/echo-platform`;
    t.trackManifestList(list);

    await t.step('2.8', 'docker manifest --help lists create, inspect, annotate, push, rm', async (s) => {
      s.reference('Commands: annotate, create, inspect, push, rm; "docker manifest is an experimental feature".');
      const help = await s.must(['manifest', '--help']);
      for (const sub of ['annotate', 'create', 'inspect', 'push', 'rm'])
        s.checkMatch(help.stdout, new RegExp(`^\\s+${sub}\\s`, 'm'), `manifest --help lists ${sub}`);
      if (!/EXPERIMENTAL/.test(help.stdout)) s.differs("docker manifest is no longer marked EXPERIMENTAL in this CLI's help.");
      for (const p of [arm64, amd64]) refs[formatPlatform(p)] = await buildAndPushEcho(s, t, registry, p);
    });

    await t.step('2.9', 'create: --amend adds to an existing local list; --insecure allows plain HTTP', async (s) => {
      await helpOf(s, ['manifest', 'create'], [/-a, --amend/, /--insecure/]);
      await s.must(['manifest', 'create', '--insecure', list, refs['linux/arm64']!]);
      const one = parseJson<ListJson>(s, (await s.must(['manifest', 'inspect', '--insecure', list])).stdout, 'inspect');
      s.check(one?.manifests?.length === 1, `the new list should hold 1 image, holds ${one?.manifests?.length}`);
      await s.must(['manifest', 'create', '--insecure', '--amend', list, refs['linux/amd64']!]);
      const two = parseJson<ListJson>(s, (await s.must(['manifest', 'inspect', '--insecure', list])).stdout, 'inspect');
      const platforms = (two?.manifests ?? []).map((m) => `${m.platform.os}/${m.platform.architecture}`).sort();
      s.check(
        JSON.stringify(platforms) === JSON.stringify(['linux/amd64', 'linux/arm64']),
        `after --amend the list should hold linux/amd64 and linux/arm64, holds ${platforms.join(', ')}`,
      );
      s.saw(`after create and create --amend: ${platforms.join(', ')}`);
    });

    await t.step('2.10', 'push (with --insecure), and push --purge removes the local list', async (s) => {
      await helpOf(s, ['manifest', 'push'], [/--insecure/, /-p, --purge/]);
      const pushed = await s.must(['manifest', 'push', '--insecure', list]);
      s.checkMatch(pushed.stdout.trim().split('\n').at(-1) ?? '', /^sha256:[a-f0-9]{64}$/, 'push prints the list digest last');
      const throwaway = `${registry}/jianghushinian/throwaway`;
      t.trackManifestList(throwaway);
      await s.must(['manifest', 'create', '--insecure', throwaway, refs['linux/amd64']!]);
      await s.must(['manifest', 'push', '--insecure', '--purge', throwaway]);
      const gone = await s.docker(['manifest', 'rm', throwaway]);
      s.check(
        gone.exitCode !== 0 && /No such manifest/i.test(gone.stderr),
        `after push --purge the local list should be gone, rm said: ${gone.stderr.trim() || gone.stdout.trim()}`,
      );
      s.saw('after push --purge, `docker manifest rm` finds no local list');
    });

    await t.step('2.11', 'inspect and inspect -v: media types, platforms, layers', async (s) => {
      await helpOf(s, ['manifest', 'inspect'], [/--insecure/, /-v, --verbose/]);
      const plain = parseJson<ListJson>(s, (await s.must(['manifest', 'inspect', '--insecure', list])).stdout, 'inspect');
      s.check(/manifest\.list\.v2\+json|image\.index\.v1\+json/.test(plain?.mediaType ?? ''), `the list media type: ${plain?.mediaType}`);
      for (const m of plain?.manifests ?? []) {
        s.check(/^sha256:[a-f0-9]{64}$/.test(m.digest) && m.size > 0, `descriptor ${m.digest} has a digest and size`);
        s.check(/manifest\.v2\+json|image\.manifest\.v1\+json/.test(m.mediaType), `descriptor media type ${m.mediaType}`);
      }
      const arm = plain?.manifests?.find((m) => m.platform.architecture === 'arm64');
      s.saw(`list ${plain?.mediaType}; arm64 entry ${JSON.stringify(arm?.platform)}`);
      if (arm && !arm.platform.variant)
        s.differs('the arm64 entry has no "variant": "v8" (BuildKit normalises arm64/v8 to arm64); the article\'s showed v8.');
      const verbose = parseJson<
        Array<{
          Ref: string;
          Descriptor: { digest: string; platform: object };
          SchemaV2Manifest?: { layers: object[] };
          OCIManifest?: { layers: object[] };
        }>
      >(s, (await s.must(['manifest', 'inspect', '-v', '--insecure', list])).stdout, 'inspect -v');
      s.check(Array.isArray(verbose) && verbose.length === 2, `inspect -v should list 2 images, listed ${verbose?.length}`);
      for (const v of verbose ?? []) {
        const layers = (v.SchemaV2Manifest ?? v.OCIManifest)?.layers ?? [];
        s.check(
          /^sha256:[a-f0-9]{64}$/.test(v.Descriptor?.digest ?? '') && v.Descriptor.platform !== undefined,
          `${v.Ref}: a descriptor with digest and platform`,
        );
        s.check(layers.length >= 2, `${v.Ref}: at least 2 layers (alpine + /os.txt), has ${layers.length}`);
      }
      if ((verbose ?? []).some((v) => !v.Ref.includes('@sha256:')))
        s.differs(
          "inspect -v names each image by its tag (…:latest); the article's CLI printed …:latest@sha256:… (the digest is still in each Descriptor).",
        );
      s.saw(
        `inspect -v: ${(verbose ?? []).map((v) => `${v.SchemaV2Manifest ? 'SchemaV2Manifest' : 'OCIManifest'} with ${((v.SchemaV2Manifest ?? v.OCIManifest)?.layers ?? []).length} layers`).join('; ')}`,
      );
    });

    await t.step('2.12', 'annotate --os-version macOS: the local list shows os.version', async (s) => {
      await helpOf(s, ['manifest', 'annotate'], [/--arch/, /--os\b/, /--os-features/, /--os-version/, /--variant/]);
      await s.must(['manifest', 'annotate', '--os-version', 'macOS', list, refs['linux/arm64']!]);
      const after = parseJson<ListJson>(s, (await s.must(['manifest', 'inspect', '--insecure', list])).stdout, 'inspect');
      const arm = after?.manifests?.find((m) => m.platform.architecture === 'arm64');
      s.check(
        arm?.platform['os.version'] === 'macOS',
        `the arm64 entry should carry "os.version": "macOS", has ${JSON.stringify(arm?.platform)}`,
      );
      s.saw(`arm64 entry after annotate: ${JSON.stringify(arm?.platform)}`);
    });

    await t.step('2.13', 'rm deletes the local list; inspect then reads the pushed one, without os.version', async (s) => {
      const rm = await s.docker(['manifest', 'rm', list]);
      s.check(rm.exitCode === 0, `rm: ${rm.stderr.trim()}`);
      const fromRegistry = parseJson<ListJson>(s, (await s.must(['manifest', 'inspect', '--insecure', list])).stdout, 'inspect');
      const arm = fromRegistry?.manifests?.find((m) => m.platform.architecture === 'arm64');
      s.check(
        arm !== undefined && arm.platform['os.version'] === undefined,
        `the pushed list has no os.version: ${JSON.stringify(arm?.platform)}`,
      );
      s.saw(`arm64 entry read back from the registry: ${JSON.stringify(arm?.platform)}`);
    });
  },
});
