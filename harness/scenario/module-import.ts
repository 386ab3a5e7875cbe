/**
 * How a scenario module is imported, and which harness it gets, wherever the harness itself was
 * loaded from. From dist/'s ES modules: import(), and `multiarch-harness` is dist/harness/index.js.
 * From the one-file CLI (dist/cli.cjs, run by bin/ through vm.Script; harness/one-file-entry.ts):
 *   - a vm.Script has no module loader, so esbuild turns the bundle's every import() into require():
 *     bin/, an ES module, hands over its own import();
 *   - the scenario gets the bundle's harness API, the code that runs it, not a second copy from
 *     dist/ (whose UsageError would not be the bundle's, nor its module state).
 */
const HARNESS_API = Symbol.for('multiarch-harness/api');

let importer = (url: string): Promise<unknown> => import(url);

/** import() of a module by URL, as the loader that loaded the harness would. */
export function importModule<T>(url: string): Promise<T> {
  return importer(url) as Promise<T>;
}

const ownImport = importer;

/** For the one-file CLI only: the import() to use, and the harness API its scenarios get. */
export function provideHarness(api: object, importOf: (url: string) => Promise<unknown>): void {
  importer = importOf;
  (globalThis as Record<symbol, unknown>)[HARNESS_API] = api;
}

/** Undoes provideHarness: scenarios import this harness's own way and get their own API again. */
export function withdrawHarness(): void {
  importer = ownImport;
  delete (globalThis as Record<symbol, unknown>)[HARNESS_API];
}

/**
 * The first line of a compiled scenario's `multiarch-harness`: the API the one-file CLI provides,
 * or else the ES module at `indexUrl`. Same text in both cases, so one compilation serves both.
 */
export function harnessApiSource(indexUrl: string): string {
  return `const __mah_harness_api = globalThis[Symbol.for(${JSON.stringify(HARNESS_API.description)})] ?? await import(${JSON.stringify(indexUrl)});`;
}

/** The names the harness API exports, from the one-file CLI's copy when there is one. */
export async function harnessApiNames(indexUrl: string): Promise<string[]> {
  const api = ((globalThis as Record<symbol, unknown>)[HARNESS_API] as object | undefined) ?? (await importModule<object>(indexUrl));
  return Object.keys(api)
    .filter((name) => /^[A-Za-z_$][\w$]*$/.test(name) && name !== 'default')
    .sort();
}
