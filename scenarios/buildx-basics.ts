/**
 * Article sections 1.2 and 1.11: buildx is installed (`docker buildx version`) and offers the
 * commands the article lists (`docker buildx --help`).
 */
import { defineScenario } from 'multiarch-harness';

export default defineScenario({
  kind: 'steps',
  name: 'buildx-basics',
  title: 'buildx version and its commands',
  reference: { name: 'the article', part: '1.2, 1.11' },
  async steps(t) {
    await t.step('1.2', 'docker buildx version', async (s) => {
      s.reference('github.com/docker/buildx v0.9.1 ed00243...');
      const r = await s.must(['buildx', 'version']);
      const m = s.checkMatch(r.stdout, /^github\.com\/docker\/buildx v?(\d+)\.(\d+)\.\d+\S*\s+\S+/m, 'buildx version');
      s.saw(r.stdout.trim());
      if (m) s.check(Number(m[1]) > 0 || Number(m[2]) >= 9, 'buildx 0.9 or later, as the article');
      s.differs(
        "the buildx here is Debian trixie's docker-buildx package (0.13), not the upstream binary the article downloads into ~/.docker/cli-plugins.",
      );
    });
    await t.step('1.11', "docker buildx --help lists the article's commands", async (s) => {
      const r = await s.must(['buildx', '--help']);
      for (const c of ['bake', 'build', 'create', 'du', 'inspect', 'ls', 'prune', 'rm', 'stop', 'use', 'version', 'imagetools']) {
        s.checkMatch(r.stdout, new RegExp(`^\\s+${c}\\*?\\s`, 'm'), `buildx --help lists ${c}`);
      }
      const extra = [...r.stdout.matchAll(/^\s+(\w+)\*?\s{2,}/gm)]
        .map((x) => x[1]!)
        .filter(
          (c) =>
            !['bake', 'build', 'create', 'du', 'inspect', 'ls', 'prune', 'rm', 'stop', 'use', 'version', 'imagetools', 'builder'].includes(
              c,
            ),
        );
      if (extra.length) s.differs(`this buildx has commands the article's did not list: ${extra.join(', ')}.`);
      s.saw(`${r.stdout.split('\n').filter((l) => /^\s+\w+\*?\s{2,}/.test(l)).length} commands listed`);
    });
  },
});
