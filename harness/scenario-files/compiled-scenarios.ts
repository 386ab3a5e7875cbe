/**
 * TypeScript scenarios compiled once and kept, so that running one again loads plain JavaScript:
 * no TypeScript loader at all. Registering tsx costs 0.28 s of CPU and 45 MiB at every run (its
 * loader hooks start a second JavaScript thread); importing a kept compilation costs nothing more
 * than the module itself.
 *
 * How: esbuild (the compiler tsx itself runs) bundles the scenario with the TypeScript files it
 * imports (by relative path, or through its tsconfig's paths) into one ES module in the state folder.
 * Everything else stays an import, resolved from the scenario's own folder (packages, JavaScript
 * files, node: modules), so each is the same module it would be; `multiarch-harness` and
 * `multiarch-harness/vitest` are imports of the harness's own ES modules, the ones that run the
 * scenario (one module graph: its UsageError is the harness's UsageError).
 * Each TypeScript file sees its own `import.meta.url`, `import.meta.dirname` and
 * `import.meta.filename`, as if it ran where it lies. The kept compilation records every file it
 * came from (kept-inputs.ts); a change to any of them compiles it again.
 *
 * Only files Node would load as ES modules are compiled here: .mts, and .ts in a package whose
 * package.json says "type": "module". Anything else goes through tsx as before (loadScenario).
 * MULTIARCH_SCENARIO_CACHE=off turns it off.
 */
import { createHash } from 'node:crypto';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  harnessCodeId,
  readStateFile,
  stateDir,
  writeStateFile,
  inputsUnchanged,
  keptInputs,
  type KeptInput,
  processScratchFolder,
} from '../base/index.ts';
import { loadsAsEsModule } from './module-kind.ts';

interface KeptCompilation {
  source: string;
  /** The harness (and so the compiler settings and esbuild) that compiled it. */
  compiler: string;
  inputs: KeptInput[];
}

const TYPESCRIPT_FILE = /\.[mc]?ts$/i;

/** This harness's own files for `multiarch-harness` and `multiarch-harness/vitest` (package.json's exports). */
export function harnessEntry(specifier: string): string | undefined {
  const sub = specifier === 'multiarch-harness' ? 'index' : specifier === 'multiarch-harness/vitest' ? 'vitest' : undefined;
  if (!sub) return undefined;
  const here = fileURLToPath(import.meta.url);
  return join(dirname(dirname(here)), `${sub}${extname(here)}`);
}

function keptPaths(source: string): { module: string; record: string } {
  const base = join(stateDir(), 'compiled-scenarios', createHash('sha256').update(source).digest('hex').slice(0, 24));
  return { module: `${base}.mjs`, record: `${base}.json` };
}

/** A compile error as esbuild reports it, with the file, line and column of the scenario's own text. */
export class ScenarioCompileError extends Error {
  constructor(readonly errors: Array<{ text: string; location: { file: string; line: number; column: number } | null }>) {
    super(errors[0]?.text ?? 'compile error');
  }
}

/**
 * The path of the scenario's JavaScript, compiled now or kept from before; undefined when the file
 * is not one this cache compiles, or nothing can be written anywhere (the caller loads it through tsx).
 */
export async function compiledScenario(source: string): Promise<string | undefined> {
  if (process.env.MULTIARCH_SCENARIO_CACHE === 'off' || !(await loadsAsEsModule(source))) return undefined;
  const paths = keptPaths(source);
  const kept = await readStateFile<KeptCompilation>(paths.record);
  // The harness's code and where it lies: a compilation names the harness's files by path.
  const compiler = `${await harnessCodeId()} ${harnessEntry('multiarch-harness')}`;
  if (
    kept &&
    kept.source === source &&
    kept.compiler === compiler &&
    inputsUnchanged(kept.inputs) &&
    (await stat(paths.module).then(
      () => true,
      () => false,
    ))
  )
    return paths.module;
  const compiled = await compile(source);
  try {
    await writeStateFile(paths.module, compiled.text);
    if (compiled.inputs)
      await writeStateFile(paths.record, JSON.stringify({ source, compiler, inputs: compiled.inputs } satisfies KeptCompilation));
    else await rm(paths.record, { force: true }); // a file changed while it was compiled: compiled again next time
    return paths.module;
  } catch {
    // The state folder cannot be written (read-only, full): kept for this process only (below).
  }
  try {
    const module = join(await processFolder(), `${basename(paths.module)}`);
    await writeFile(module, compiled.text);
    return module;
  } catch {
    return undefined;
  }
}

/**
 * One folder for this process's compilations where the state folder cannot be written, removed
 * when the process exits. (Not tsx instead: registering tsx costs far more than compiling.)
 */
function processFolder(): Promise<string> {
  return processScratchFolder('scenario');
}

interface Compilation {
  text: string;
  /** The files it came from; undefined when one changed while it was compiled. */
  inputs: KeptInput[] | undefined;
}

async function compile(source: string): Promise<Compilation> {
  const esbuild = await import('esbuild');
  // A file changed while it was being compiled must not be recorded as the one compiled.
  const compiledAt = Date.now();
  // The declarations go on the file's first line, before its own text: every line keeps its number.
  const prefixOf = (path: string) =>
    `const __mah_url = ${JSON.stringify(pathToFileURL(path).href)}, __mah_dirname = ${JSON.stringify(dirname(path))}, __mah_filename = ${JSON.stringify(path)};`;
  const prefixes = new Map<string, number>();
  let result: Awaited<ReturnType<typeof esbuild.build>> & { outputFiles: Array<{ text: string }> };
  try {
    result = (await esbuild.build({
      entryPoints: [source],
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      write: false,
      metafile: true,
      logLevel: 'silent',
      define: { 'import.meta.url': '__mah_url', 'import.meta.dirname': '__mah_dirname', 'import.meta.filename': '__mah_filename' },
      plugins: [
        {
          name: 'scenario-files',
          setup(build) {
            // Relative TypeScript files are compiled in; anything else stays an import, by its resolved path.
            build.onResolve({ filter: /.*/ }, async (args) => {
              if (args.kind === 'entry-point' || args.pluginData === 'resolving') return undefined;
              if (args.path.startsWith('node:') || args.path.startsWith('file:')) return { path: args.path, external: true };
              // The harness a scenario imports is the harness that runs it, its own ES modules (a tsconfig's paths may point
              // elsewhere, at sources): one module graph.
              const own = harnessEntry(args.path);
              if (own) return { path: pathToFileURL(own).href, external: true };
              const r = await build.resolve(args.path, {
                kind: args.kind,
                resolveDir: args.resolveDir,
                importer: args.importer,
                pluginData: 'resolving',
              });
              if (r.errors.length) return { errors: r.errors };
              if (!r.path || r.external) return { path: args.path, external: true };
              // TypeScript is compiled in (Node 20 cannot load it: also a package's, such as this package's own scenarios
              // and their support files when they run from node_modules); JavaScript stays an import.
              return TYPESCRIPT_FILE.test(r.path) && !r.path.endsWith('.d.ts')
                ? { path: r.path }
                : { path: pathToFileURL(r.path).href, external: true };
            });
            build.onLoad({ filter: TYPESCRIPT_FILE }, async (args) => {
              const prefix = prefixOf(args.path);
              prefixes.set(args.path, prefix.length);
              return { loader: 'ts', contents: prefix + (await readFile(args.path, 'utf8')) };
            });
          },
        },
      ],
    })) as typeof result;
  } catch (err) {
    const errors = (err as { errors?: Array<{ text: string; location: { file: string; line: number; column: number } | null }> }).errors;
    if (!errors?.length) throw err;
    // Locations in the scenario's own text: the prefix sits on line 1 only.
    throw new ScenarioCompileError(
      errors.map((e) => ({
        text: e.text,
        location: e.location
          ? {
              ...e.location,
              column:
                e.location.line === 1
                  ? Math.max(
                      0,
                      e.location.column - (prefixes.get(e.location.file) ?? prefixes.get(join(process.cwd(), e.location.file)) ?? 0),
                    )
                  : e.location.column,
            }
          : null,
      })),
    );
  }
  const cwd = process.cwd();
  const files = Object.keys(result.metafile!.inputs);
  const inputs = keptInputs(
    files.map((p) => (p.startsWith('/') ? p : join(cwd, p))),
    compiledAt,
  );
  return { text: result.outputFiles[0]!.text, inputs };
}
