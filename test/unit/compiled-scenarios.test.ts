/**
 * TypeScript scenarios compiled once and kept (compiled-scenarios.ts): what the kept JavaScript sees
 * (its own import.meta per file, the harness that runs it: one module graph), when it is compiled
 * again, and compile errors located in the scenario's own text.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { compiledScenario, ScenarioCompileError } from '../../harness/scenario-files/compiled-scenarios.ts';
import { loadedAsCommonJs, loadScenario } from '../../harness/scenario/define.ts';
import { loadsAsEsModule } from '../../harness/scenario-files/module-kind.ts';
import { UsageError } from '../../harness/base/errors.ts';

let dir: string;
let state: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-scenarios-'));
  state = await mkdtemp(join(tmpdir(), 'mah-state-'));
  process.env.MULTIARCH_STATE_DIR = state;
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  await mkdir(join(dir, 'support'));
  await writeFile(
    join(dir, 'support', 'where.ts'),
    "export const helperUrl: string = import.meta.url;\nexport const sample = new URL('../samples/x/', import.meta.url).href;\n",
  );
  await writeFile(
    join(dir, 'scenario.ts'),
    [
      "import { defineScenario } from 'multiarch-harness';",
      "import { helperUrl, sample } from './support/where.ts';",
      'export const own: string = import.meta.url;',
      'export const ownDir: string = import.meta.dirname;',
      'export { helperUrl, sample };',
      "export default defineScenario({ kind: 'verify', name: 'v', title: 't', image: 'alpine' });",
    ].join('\n'),
  );
});
afterAll(async () => {
  delete process.env.MULTIARCH_STATE_DIR;
  await rm(dir, { recursive: true, force: true });
  await rm(state, { recursive: true, force: true });
});

describe('compiled scenarios', () => {
  test('each file keeps its own import.meta; the harness import is the running harness', async () => {
    const compiled = await compiledScenario(join(dir, 'scenario.ts'));
    expect(compiled).toMatch(new RegExp(`^${state}/compiled-scenarios/[0-9a-f]{24}\\.mjs$`));
    const text = await readFile(compiled!, 'utf8');
    expect(text).toContain(pathToFileURL(join(process.cwd(), 'harness', 'index.ts')).href);
    expect(text).not.toMatch(/from ["']\.\/support/);
    // Evaluated as the CLI does (vitest runs the harness from its TypeScript sources).
    const mod = (await import(`${pathToFileURL(compiled!).href}?t=1`)) as Record<string, unknown>;
    expect(mod.own).toBe(pathToFileURL(join(dir, 'scenario.ts')).href);
    expect(mod.ownDir).toBe(dir);
    expect(mod.helperUrl).toBe(pathToFileURL(join(dir, 'support', 'where.ts')).href);
    expect(mod.sample).toBe(pathToFileURL(join(dir, 'samples', 'x')).href + '/');
    expect((mod.default as { kind: string }).kind).toBe('verify');
  });

  test("one module graph: a scenario's UsageError is the harness's own class", async () => {
    await writeFile(
      join(dir, 'own-error.ts'),
      [
        "import { defineScenario, UsageError } from 'multiarch-harness';",
        "export const made = new UsageError('made by the scenario');",
        "export default defineScenario({ kind: 'verify', name: 'e', title: 't', image: 'alpine' });",
      ].join('\n'),
    );
    const compiled = await compiledScenario(join(dir, 'own-error.ts'));
    const text = await readFile(compiled!, 'utf8');
    // An import of the harness's own module, not a copy of it nor an API handed over through a global.
    expect(text).toContain(`from ${JSON.stringify(pathToFileURL(join(process.cwd(), 'harness', 'index.ts')).href)}`);
    expect(text).not.toContain('Symbol.for');
    const mod = (await import(`${pathToFileURL(compiled!).href}?t=own-error`)) as { made: unknown };
    expect(mod.made).toBeInstanceOf(UsageError);
    // And thrown while it loads: the harness's refusal, as the CLI says it.
    await writeFile(
      join(dir, 'throws.ts'),
      "import { UsageError } from 'multiarch-harness';\nthrow new UsageError('refused by the scenario');\n",
    );
    const err = await loadScenario(join(dir, 'throws.ts')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).cause).toBeInstanceOf(UsageError);
  });

  test('where the state folder cannot be written, compiled for this process into a temporary folder', async () => {
    const blocked = join(dir, 'not-a-folder');
    await writeFile(blocked, 'a file where the state folder would be');
    process.env.MULTIARCH_STATE_DIR = blocked;
    try {
      const compiled = await compiledScenario(join(dir, 'scenario.ts'));
      // Removed when the process exits; a test worker may be ended without that.
      if (compiled) onTestFinished(() => rm(dirname(compiled), { recursive: true, force: true }));
      expect(compiled).toMatch(new RegExp(`^${tmpdir().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/mah-scenario-[^/]+/[0-9a-f]{24}\\.mjs$`));
      const mod = (await import(pathToFileURL(compiled!).href)) as { default: { kind: string } };
      expect(mod.default.kind).toBe('verify');
    } finally {
      process.env.MULTIARCH_STATE_DIR = state;
    }
  });

  test('kept while nothing changed; compiled again when an imported file changes', async () => {
    const first = await compiledScenario(join(dir, 'scenario.ts'));
    const before = (await stat(first!)).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    expect(await compiledScenario(join(dir, 'scenario.ts'))).toBe(first);
    expect((await stat(first!)).mtimeMs).toBe(before);
    await writeFile(join(dir, 'support', 'where.ts'), "export const helperUrl: string = 'changed';\nexport const sample = '';\n");
    await compiledScenario(join(dir, 'scenario.ts'));
    expect(await readFile(first!, 'utf8')).toContain('"changed"');
  });

  test("a compile error is located in the scenario's own text (line and column as written)", async () => {
    await writeFile(join(dir, 'broken.ts'), 'export const a = 1;\nexport const b = 2;\nexport const c = ;\n');
    const err = await compiledScenario(join(dir, 'broken.ts')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScenarioCompileError);
    const first = (err as ScenarioCompileError).errors[0]!;
    expect(first.location).toMatchObject({ line: 3, column: 17 });
    await writeFile(join(dir, 'broken1.ts'), 'export const x = ;\n');
    const err1 = (await compiledScenario(join(dir, 'broken1.ts')).catch((e: unknown) => e)) as ScenarioCompileError;
    expect(err1.errors[0]!.location).toMatchObject({ line: 1, column: 17 });
  });

  test('only what Node loads as an ES module is compiled here', async () => {
    expect(await loadsAsEsModule(join(dir, 'scenario.ts'))).toBe(true);
    expect(await loadsAsEsModule('/nowhere/at/all/x.mts')).toBe(true);
    expect(await loadsAsEsModule('/nowhere/at/all/x.cts')).toBe(false);
    const cjs = await mkdtemp(join(tmpdir(), 'mah-cjs-'));
    await writeFile(join(cjs, 'package.json'), '{}');
    expect(await loadsAsEsModule(join(cjs, 'x.ts'))).toBe(false);
    expect(await compiledScenario(join(cjs, 'x.ts'))).toBeUndefined();
    await rm(cjs, { recursive: true, force: true });
  });

  test("TypeScript under node_modules is compiled in too (Node 20 cannot load it), as a package's own scenarios need", async () => {
    const pkg = join(dir, 'node_modules', 'some-scenarios');
    await mkdir(join(pkg, 'support'), { recursive: true });
    await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: 'some-scenarios', type: 'module' }));
    await writeFile(join(pkg, 'support', 'platforms.ts'), "export const PLATFORMS: string[] = ['linux/amd64'];\n");
    await writeFile(
      join(pkg, 'scenario.ts'),
      "import { defineScenario } from 'multiarch-harness';\nimport { PLATFORMS } from './support/platforms.ts';\nexport default defineScenario({ kind: 'verify', name: 'p', title: 't', image: 'alpine', platforms: PLATFORMS });\n",
    );
    const compiled = await compiledScenario(join(pkg, 'scenario.ts'));
    const mod = (await import(pathToFileURL(compiled!).href)) as { default: { platforms: string[] } };
    expect(mod.default.platforms).toEqual(['linux/amd64']);
  });

  test('a name the harness does not export is said as an import from multiarch-harness (when the scenario loads)', async () => {
    await writeFile(join(dir, 'no-such-name.ts'), "import { noSuchThing } from 'multiarch-harness';\nexport default noSuchThing;\n");
    // In Node itself, which checks the names an ES module imports when it links it (vitest's module runner does not).
    const program = `import { loadScenario } from ${JSON.stringify(pathToFileURL(join(process.cwd(), 'harness/scenario/define.ts')).href)};
await loadScenario(${JSON.stringify(join(dir, 'no-such-name.ts'))}).catch((e) => console.log(e.constructor.name, e.message));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], {
      env: { ...process.env, MULTIARCH_STATE_DIR: state },
    });
    expect(stdout).toMatch(
      /^UsageError .*no-such-name\.ts does not compile: .*'multiarch-harness' does not provide an export named 'noSuchThing'/,
    );
  }, 30_000);

  test('a CommonJS module is told from an ES module by what import() hands over', () => {
    const scenario = { kind: 'verify', name: 'v', title: 't', image: 'alpine' };
    // Node 24, a .ts scenario in a "type": "commonjs" package, through tsx: module.exports as the default, and its own name.
    const exports = { __esModule: true, default: scenario };
    expect(loadedAsCommonJs({ __esModule: true, default: exports, 'module.exports': exports })).toBe(true);
    // Without the 'module.exports' name (Node before 22.12): the scenario one level down still says so.
    expect(loadedAsCommonJs({ default: exports })).toBe(true);
    // An ES module: its default is the scenario, or something else (then "does not export a scenario").
    expect(loadedAsCommonJs({ default: scenario })).toBe(false);
    expect(loadedAsCommonJs({ default: { something: 1 } })).toBe(false);
    expect(loadedAsCommonJs({})).toBe(false);
  });
});
