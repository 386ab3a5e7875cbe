/**
 * A CommonJS package loaded from one kept file instead of its hundreds: testcontainers is 750
 * files, and Node's loader spent 0.53-0.59 s of CPU finding, reading and compiling them at every
 * build scenario (measured on a 2-core machine). esbuild bundles the package once into the state
 * folder; the bundle then runs through `vm.Script` with V8's code cache (compiled code kept beside
 * it): 0.18-0.21 s there.
 *
 * Faithful to the package as installed:
 *   - the bundle is made again when any file it came from changed (kept-inputs.ts);
 *   - every bundled file keeps its own `__dirname` and `__filename`;
 *   - native addons (.node) and node: modules stay `require`s, by absolute path;
 *   - `import()` inside the package becomes `require` (a vm.Script has no module loader);
 *   - a few requires that serve only what the harness never asks of the package load on first use
 *     instead of at load (kept-bundle-lazy.ts);
 *   - the script is named as a file beside the package's entry, so Node treats it as package code
 *     (no DEP0005 warning for `new Buffer`, as for the package itself).
 * The code cache is named by the bundle file's identity (inode, size, times): V8 checks only the
 * source's length, so a cache kept for another bundle of the same length would be taken.
 *
 * Anything wrong (the state folder read-only, esbuild failing, a damaged file) loads the package
 * the usual way; so does MULTIARCH_BUNDLE_CACHE=off.
 */
import { constants, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { access, mkdir, rm } from 'node:fs/promises';
import { Script } from 'node:vm';
import { stateDir, readStateFile, writeStateFile } from './state-dir.ts';
import { inputsUnchanged, keptInputs, type KeptInput } from './kept-inputs.ts';
import { LAZY_REQUIRES_ID, withLazyRequires } from './kept-bundle-lazy.ts';

interface KeptBundleRecord {
  /** The package entry the bundle was made from. */
  entry: string;
  bundle: string;
  inputs: KeptInput[];
}

const loaded = new Map<string, Promise<unknown>>();

/** The kept files of one package entry: `<base>.cjs`, `<base>.json`, and `<base>.<identity>.cache`. */
function keptBase(entry: string): string {
  // One per installed copy: checkouts or projects that share the state folder keep theirs side by side.
  const name = entry.replace(/^.*node_modules\//, '').replace(/[^\w.-]+/g, '_');
  return join(stateDir(), 'bundles', `${name}-${createHash('sha256').update(entry).update(LAZY_REQUIRES_ID).digest('hex').slice(0, 12)}`);
}

/**
 * `require(specifier)` as seen from `fromUrl`, loaded from a kept bundle. Once per process: a
 * second call gets the same module.
 */
export function requireKept<T>(specifier: string, fromUrl: string): Promise<T> {
  const entry = createRequire(fromUrl).resolve(specifier);
  let module = loaded.get(entry);
  if (!module) {
    module = loadKept(entry).catch(() => createRequire(fromUrl)(specifier) as unknown);
    loaded.set(entry, module);
  }
  return module as Promise<T>;
}

async function loadKept(entry: string): Promise<unknown> {
  if (process.env.MULTIARCH_BUNDLE_CACHE === 'off') throw new Error('kept bundles are off');
  const base = keptBase(entry);
  const record = await readStateFile<KeptBundleRecord>(`${base}.json`);
  let bundle =
    record && record.entry === entry && inputsUnchanged(record.inputs) && statSync(record.bundle, { throwIfNoEntry: false })
      ? record.bundle
      : undefined;
  if (!bundle) {
    // Where nothing can be kept (a read-only state folder), esbuild is not run for nothing at every start.
    await mkdir(dirname(base), { recursive: true });
    await access(dirname(base), constants.W_OK);
    bundle = await makeBundle(entry, base);
  }
  return runBundle(bundle, entry, base);
}

/** Bundles the package whose CommonJS entry is `entry` into `<base>.cjs`, and records its inputs. */
async function makeBundle(entry: string, base: string): Promise<string> {
  const esbuild = await import('esbuild');
  const startedAt = Date.now();
  const prefixOf = (path: string) => `var __dirname = ${JSON.stringify(dirname(path))}, __filename = ${JSON.stringify(path)};`;
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    write: false,
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: dirname(entry),
    // A vm.Script has no module loader: import() becomes require().
    supported: { 'dynamic-import': false },
    plugins: [
      {
        name: 'package-files',
        setup(build) {
          // Native addons stay requires, by absolute path.
          build.onResolve({ filter: /\.node$/ }, async (args) => {
            if (args.pluginData === 'resolving') return undefined;
            const r = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'resolving' });
            return r.errors.length || !r.path ? undefined : { path: r.path, external: true };
          });
          build.onLoad({ filter: /\.[cm]?js$/ }, (args) => ({
            loader: 'js',
            contents: prefixOf(args.path) + withLazyRequires(args.path, readFileSync(args.path, 'utf8')),
            resolveDir: dirname(args.path),
          }));
        },
      },
    ],
  });
  const text = result.outputFiles[0]!.text;
  const inputs = keptInputs(
    Object.keys(result.metafile.inputs).map((p) => (p.startsWith('/') ? p : join(dirname(entry), p))),
    startedAt,
  );
  const bundle = `${base}.cjs`;
  await writeStateFile(bundle, text);
  if (inputs) await writeStateFile(`${base}.json`, JSON.stringify({ entry, bundle, inputs } satisfies KeptBundleRecord));
  else await rm(`${base}.json`, { force: true }); // a file changed while it was bundled: bundled again next time
  return bundle;
}

/** Runs the bundle as the CommonJS module it is, with its code cache (made and kept on the first run). */
async function runBundle(bundle: string, entry: string, base: string): Promise<unknown> {
  // Named beside the package's entry: Node treats it as package code.
  const run = runScript(readFileSync(bundle, 'utf8'), bundle, `${entry}.kept-bundle.cjs`, entry, base);
  await run.keepCodeCache();
  return run.exports;
}

/** A bundle that ran: its exports, whether V8 took its kept code cache, and how to keep one when it did not. */
interface BundleRun {
  exports: unknown;
  cached: boolean;
  /** Keeps V8's compiled code for the next process (nothing when the kept cache was taken). Call it late: functions compiled by then are in it. */
  keepCodeCache(): Promise<void>;
}

/**
 * The compiled CLI as one file (dist/cli.cjs, made by setup/bundle-cli.mjs), run with a code cache
 * kept per `use` (a command: each compiles other functions). Undefined when its first line does
 * not name the code id of this harness: a bundle of another build is never run.
 * @public bin/multiarch-harness.mjs imports it from dist/ (knip cannot see that use).
 */
export async function loadBuiltBundle(file: string, use: string): Promise<BundleRun | undefined> {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const { harnessCodeId } = await import('./code-id.ts');
  if (!source.startsWith(`// multiarch-harness code id ${await harnessCodeId()}\n`)) return undefined;
  return runScript(source, file, file, file, join(stateDir(), 'bundles', `cli-${use.replace(/\W+/g, '_')}`));
}

/**
 * Runs CommonJS `source` (read from `file`) as the module `filename`, requiring from `requireFrom`,
 * with V8's code cache `<cacheBase>.<identity of file>.cache` when there is one.
 */
function runScript(source: string, file: string, filename: string, requireFrom: string, cacheBase: string): BundleRun {
  const s = statSync(file, { bigint: true });
  const cacheFile = `${cacheBase}.${s.ino}-${s.size}-${s.mtimeNs}-${s.ctimeNs}.cache`;
  let cachedData: Buffer | undefined;
  try {
    cachedData = process.env.MULTIARCH_BUNDLE_CACHE === 'off' ? undefined : readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename,
    ...(cachedData ? { cachedData } : {}),
  });
  const module = { exports: {} as unknown };
  (script.runInThisContext() as (...args: unknown[]) => void)(
    module.exports,
    createRequire(requireFrom),
    module,
    filename,
    dirname(requireFrom),
  );
  const cached = cachedData !== undefined && script.cachedDataRejected !== true;
  const keep = process.env.MULTIARCH_BUNDLE_CACHE !== 'off' && !cached;
  return { exports: module.exports, cached, keepCodeCache: () => (keep ? keepCodeCache(script, cacheBase, cacheFile) : Promise.resolve()) };
}

/** Keeps V8's compiled code for the next process, and removes caches of earlier bundles. */
async function keepCodeCache(script: Script, cacheBase: string, cacheFile: string): Promise<void> {
  try {
    await writeStateFile(cacheFile, script.createCachedData());
    const folder = dirname(cacheBase);
    const prefix = `${cacheBase.slice(folder.length + 1)}.`;
    for (const f of readdirSync(folder)) {
      if (f.startsWith(prefix) && f.endsWith('.cache') && join(folder, f) !== cacheFile) rmSync(join(folder, f), { force: true });
    }
  } catch {
    // Read-only or full: the next process compiles again.
  }
}
