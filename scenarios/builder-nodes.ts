/**
 * Article section 1.4.2, which the article only describes: one builder, one node per machine, each
 * node building the platforms its hardware runs natively. Here the two machines are the two engines
 * setup/prepare-host.sh runs on this host (the main one, and the second one with the classic image
 * store): `buildx create --node ... --platform linux/amd64,linux/386` on the first, `buildx create
 * --append --node ... --platform linux/arm64,linux/arm/v7` on the second; one `buildx build` of
 * linux/amd64 and linux/arm64, which BuildKit splits between the nodes; each platform of the pushed
 * image run on the engine of its node; the builder removed with its BuildKit container on each engine.
 * Both engines share this x86_64 host, so the arm64 node builds and runs arm64 through QEMU: the
 * report says which step would be native on real hardware.
 */
import { fileURLToPath } from 'node:url';
import { defineScenario, platformBuildTimes, type PlacedNode } from 'multiarch-harness';
import { findClassicEngine } from './support/classic-engine.ts';

const HELLO = fileURLToPath(new URL('../samples/hello-go/', import.meta.url));
const FIRST = ['linux/amd64', 'linux/386'];
const SECOND = ['linux/arm64', 'linux/arm/v7'];
const BUILT = ['linux/amd64', 'linux/arm64'];

export default defineScenario({
  kind: 'steps',
  name: 'builder-nodes',
  title: 'One builder, a node per engine: each node builds its own platforms (1.4.2)',
  reference: { name: 'the article', part: '1.4.2' },
  platforms: BUILT,
  async steps(t) {
    const name = `${t.ctx.id}-multinode`;
    t.ctx.trackBuilder(name);
    const classic = await findClassicEngine();
    const second = classic.host;
    let node: PlacedNode | undefined;

    const ready = await t.step('1.4.2', 'a second engine for the second node', async (s) => {
      s.reference(
        '"This method builds the image directly on the hardware of each platform, so a host of each platform is needed." The article shows no commands.',
      );
      s.check(
        classic.state === 'ready',
        classic.state === 'absent'
          ? `no second engine at ${second}: setup/prepare-host.sh starts one (MULTIARCH_HARNESS_CLASSIC_HOST names another)`
          : classic.state === 'broken'
            ? classic.why
            : '',
      );
      if (classic.state !== 'ready') return;
      node = await t.node(`${SECOND.join(',')}=${second}`);
      const first = await s.must(['info', '--format', '{{.Name}} {{.Architecture}} {{.ID}}']);
      const other = await s.must(['info', '--format', '{{.Name}} {{.Architecture}} {{.ID}}'], { env: { DOCKER_HOST: second } });
      s.check(first.stdout.split(' ')[2] !== other.stdout.split(' ')[2], 'two engines (two engine IDs)');
      s.saw(
        `engine 1: default (${first.stdout.trim().split(' ').slice(0, 2).join(', ')}); engine 2: ${second} (${other.stdout.trim().split(' ').slice(0, 2).join(', ')})`,
      );
      s.differs(
        `both engines run on this one ${t.probe.native.architecture} host; on real hardware the second node would be an arm64 machine (ssh://me@arm-box, or a docker context), where arm64 builds and runs natively. Here ${SECOND.join(' and ')} go through QEMU on that node: it observes ${SECOND.map((p) => `${p} ${node!.probe.observations[p] ? (node!.probe.observations[p]!.ran ? 'runs' : 'does not run') : '?'}`).join(', ')}.`,
      );
    });
    if (ready.status !== 'pass' || !node) return;

    await t.step('1.4.2', 'buildx create a node per engine, each limited to its platforms', async (s) => {
      s.reference('(described only) one builder instance, with a node on each native host.');
      await s.must([
        'buildx',
        'create',
        '--name',
        name,
        '--node',
        `${name}0`,
        '--driver',
        'docker-container',
        '--driver-opt',
        'network=host',
        '--platform',
        FIRST.join(','),
      ]);
      await s.must([
        'buildx',
        'create',
        '--append',
        '--name',
        name,
        '--node',
        `${name}1`,
        '--driver',
        'docker-container',
        '--driver-opt',
        'network=host',
        '--platform',
        SECOND.join(','),
        second,
      ]);
      const r = await s.must(['buildx', 'inspect', '--bootstrap', name], { timeoutMs: 300_000 });
      const nodes = r.stdout.split(/\n(?=Name:\s)/).filter((b) => /^Name:\s+\S+0?$/m.test(b) && /Endpoint:/.test(b));
      s.check(nodes.length === 2, `inspect lists two nodes (it lists ${nodes.length})`);
      for (const [i, platforms] of [FIRST, SECOND].entries()) {
        const block = nodes.find((b) => new RegExp(`^Name:\\s+${name}${i}$`, 'm').test(b)) ?? '';
        s.checkMatch(block, /^Status:\s+running/m, `node ${name}${i} is running`);
        const listed = (block.match(/^Platforms:\s+(.+)$/m)?.[1] ?? '').split(/,\s*/);
        // buildx marks the platforms a node was limited to with * and lists them first.
        for (const p of platforms)
          s.check(listed.includes(`${p}*`), `node ${name}${i} lists ${p}* (it lists ${listed.slice(0, 4).join(', ')}, ...)`);
        s.saw(`${name}${i}: ${block.match(/^Endpoint:\s+(\S+)/m)?.[1]}, ${listed.filter((p) => p.endsWith('*')).join(', ')}`);
      }
      for (const [host, i] of [
        [undefined, 0],
        [second, 1],
      ] as const) {
        const ps = await s.must(
          ['ps', '--filter', `name=^buildx_buildkit_${name}${i}$`, '--format', '{{.Names}}'],
          host ? { env: { DOCKER_HOST: host } } : {},
        );
        s.check(ps.stdout.trim() === `buildx_buildkit_${name}${i}`, `node ${i}'s BuildKit container runs on engine ${i + 1}`);
      }
      s.differs(
        "`--driver-opt network=host` on each node: the run's registry listens on 127.0.0.1, which a BuildKit container on a bridge network cannot reach (on separate machines: a registry address every node can reach).",
      );
    });

    const registry = (await t.registry()).address;
    const ref = `${registry}/jianghushinian/hello-go:nodes`;
    await t.step('1.4.2', `one build of ${BUILT.join(' and ')}: each platform on the node that lists it`, async (s) => {
      s.reference('(described only) each platform is built on the node of its architecture.');
      const r = await s.must(
        [
          'buildx',
          'build',
          '--builder',
          name,
          '--platform',
          BUILT.join(','),
          '--progress=rawjson',
          '--provenance=false',
          '--push',
          '-t',
          ref,
          HELLO,
        ],
        { timeoutMs: 45 * 60_000 },
      );
      const times = platformBuildTimes(r.stderr);
      for (const p of BUILT) s.check(times[p] !== undefined, `BuildKit reports steps for ${p}`);
      s.saw(
        BUILT.map(
          (p) =>
            `${p}: ${((times[p] ?? 0) / 1000).toFixed(1)} s on ${FIRST.includes(p) ? `${name}0 (default engine, native)` : `${name}1 (${second}, QEMU here; native on an arm64 machine)`}`,
        ).join('; '),
      );
      const inspect = await s.must(['buildx', 'imagetools', 'inspect', ref]);
      const listed = [...inspect.stdout.matchAll(/^\s+Platform:\s+(\S+)/gm)].map((m) => m[1]!);
      s.check(
        BUILT.every((p) => listed.includes(p)),
        `the index lists ${BUILT.join(', ')} (it lists ${listed.join(', ')})`,
      );
    });

    await t.step('1.4.2', 'each platform run on the engine of its node', async (s) => {
      s.reference('(described only) the image runs on each platform.');
      const results = await t.verify(ref, {
        platforms: BUILT,
        expect: { kind: 'output', template: 'Hello, {os}/{goarch}!' },
        nodes: [node!],
      });
      for (const r of results) {
        // The first node is the engine this process talks to: the harness names it by DOCKER_HOST where that is set.
        const want = SECOND.includes(r.platform) ? second : process.env.DOCKER_HOST || 'default';
        s.check(r.node === want, `${r.platform} ran on ${want} (the result says ${r.node})`);
        s.check(r.status === 'pass', `${r.platform}: ${r.message ?? ''}`);
        s.saw(`${r.platform} on ${r.node} (${r.mode}): ${r.output}`);
      }
    });

    await t.step('1.10', "buildx rm removes every node's BuildKit container, on both engines", async (s) => {
      s.reference('`docker buildx rm mybuilder` removes the builder.');
      await s.must(['buildx', 'rm', name]);
      for (const [host, i] of [
        [undefined, 0],
        [second, 1],
      ] as const) {
        const left = await t.docker(
          ['ps', '-a', '-q', '--filter', `name=^buildx_buildkit_${name}${i}$`],
          host ? { env: { DOCKER_HOST: host } } : {},
        );
        // Unrecorded, but not unchecked: an engine that cannot list its containers fails the step.
        if (left.exitCode !== 0)
          throw new Error(`docker ps on engine ${i + 1} exited ${left.exitCode ?? 'by timeout'}: ${left.stderr.trim().split('\n').at(-1)}`);
        s.check(left.stdout.trim() === '', `node ${i}'s BuildKit container is gone from engine ${i + 1}`);
      }
      s.saw('both BuildKit containers removed');
    });
  },
});
