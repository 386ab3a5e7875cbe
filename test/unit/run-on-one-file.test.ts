/**
 * Which `run` commands may start from the one-file CLI (run.ts, runsOnOneFileCli): a scenario the
 * harness compiles that imports nothing but node: modules and the harness. Anything else would
 * import a second copy of the harness there, and runs on the ES modules.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runsOnOneFileCli } from '../../harness/cli/commands/run.ts';

let dir: string;
let state: string;
const SCENARIO = "export default defineScenario({ kind: 'verify', name: 'v', title: 't', image: 'alpine' });\n";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-one-file-'));
  state = await mkdtemp(join(tmpdir(), 'mah-state-'));
  process.env.MULTIARCH_STATE_DIR = state;
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  await writeFile(
    join(dir, 'plain.ts'),
    `import { readFileSync } from 'node:fs';\nimport { defineScenario } from 'multiarch-harness';\nvoid readFileSync;\n${SCENARIO}`,
  );
  await writeFile(join(dir, 'helper.mjs'), "export { defineScenario } from 'multiarch-harness';\n");
  await writeFile(join(dir, 'via-js.ts'), `import { defineScenario } from './helper.mjs';\n${SCENARIO}`);
  await writeFile(
    join(dir, 'vitest-helpers.ts'),
    `import { defineScenario } from 'multiarch-harness';\nimport 'multiarch-harness/vitest';\n${SCENARIO}`,
  );
  await writeFile(join(dir, 'broken.ts'), 'export const x = ;\n');
});
afterAll(async () => {
  delete process.env.MULTIARCH_STATE_DIR;
  await rm(dir, { recursive: true, force: true });
  await rm(state, { recursive: true, force: true });
});

describe('run on the one-file CLI', () => {
  test('a compiled scenario importing node: modules and the harness only', async () => {
    expect(await runsOnOneFileCli([join(dir, 'plain.ts'), '--platforms', 'linux/amd64', '--quiet'])).toBe(true);
  });

  test('not a scenario that imports JavaScript, or multiarch-harness/vitest: each would bring the harness from dist/', async () => {
    expect(await runsOnOneFileCli([join(dir, 'via-js.ts')])).toBe(false);
    expect(await runsOnOneFileCli([join(dir, 'vitest-helpers.ts')])).toBe(false);
  });

  test('an option value that looks like a scenario is not taken for one', async () => {
    expect(await runsOnOneFileCli(['--json', join(dir, 'out.ts'), join(dir, 'via-js.ts')])).toBe(false);
  });

  test('arguments run refuses, and a compile error, are refused there the same way', async () => {
    expect(await runsOnOneFileCli([join(dir, 'plain.ts'), join(dir, 'via-js.ts')])).toBe(true);
    expect(await runsOnOneFileCli(['--no-such-option', join(dir, 'plain.ts')])).toBe(true);
    expect(await runsOnOneFileCli([join(dir, 'broken.ts')])).toBe(true);
  });

  test('a .ts file Node loads as CommonJS goes through tsx, on the ES modules', async () => {
    const cjs = await mkdtemp(join(tmpdir(), 'mah-cjs-'));
    try {
      await writeFile(join(cjs, 'package.json'), '{}');
      await writeFile(join(cjs, 'x.ts'), `import { defineScenario } from 'multiarch-harness';\n${SCENARIO}`);
      expect(await runsOnOneFileCli([join(cjs, 'x.ts')])).toBe(false);
    } finally {
      await rm(cjs, { recursive: true, force: true });
    }
  });
});
