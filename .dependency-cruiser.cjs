// Module rules (issue 25), all errors, checked by `npm run deps` in `npm run check:static` (CI's
// static step): no cycle; each folder of harness/ entered through its index.ts only; layers running
// bottom to top (BELOW); harness/'s own modules (the package's doors) use folders' doors; the library
// imports nothing of the repository around it; demo/, setup/ and scenarios/ use the package only
// through its doors. How many modules a folder holds is .ci/folder-sizes.mjs's to check.

/**
 * The folders each folder of harness/ stands on, bottom to top (ARCHITECTURE.md's layers): it may
 * import those and, below them, what they stand on. Nothing imports a folder above it.
 */
const STANDS_ON = {
  base: [],
  platform: ['base'],
  result: ['platform'],
  registry: ['platform'],
  engine: ['platform'],
  'structure-file': ['platform'],
  report: ['result'],
  image: ['registry'],
  'image-source': ['registry', 'engine'],
  'scenario-files': ['base'],
  session: ['result', 'registry', 'engine'],
  host: ['image', 'session'],
  build: ['host'],
  bake: ['build'],
  'host-setup': ['host'],
  checks: ['structure-file', 'host', 'image-source'],
  'run-check': ['checks'],
  structure: ['checks'],
  verify: ['run-check', 'structure'],
  scenario: ['build', 'bake', 'verify', 'report', 'scenario-files'],
  cli: ['scenario', 'host-setup'],
};

/** Every folder below each folder: what it stands on, and what those stand on. */
const below = (folder, seen = new Set()) => {
  for (const f of STANDS_ON[folder]) if (!seen.has(f)) below(f, seen.add(f));
  return seen;
};
const BELOW = Object.fromEntries(Object.keys(STANDS_ON).map((f) => [f, [...below(f)]]));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no module reaches itself through its imports (type-only imports count too)',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'door-only',
      comment: 'another folder is entered through its index.ts only',
      severity: 'error',
      from: { path: '^harness/(.+)/[^/]+\\.ts$' },
      to: { path: '^harness/.+\\.ts$', pathNot: ['^harness/$1/[^/]+\\.ts$', '/index\\.ts$'] },
    },
    {
      name: 'no-ancestor',
      comment: 'a subfolder never imports the folder it lies in',
      severity: 'error',
      from: { path: '^harness/([^/]+)/[^/]+/' },
      to: { path: '^harness/$1/[^/]+\\.ts$' },
    },
    ...Object.entries(BELOW).map(([folder, below]) => ({
      name: `layer-${folder}`,
      comment: `harness/${folder}/ imports only ${below.length ? below.join(', ') : 'nothing else in harness/'}`,
      severity: 'error',
      from: { path: `^harness/${folder}/` },
      to: { path: '^harness/[^/]+/', pathNot: [`^harness/(${[folder, ...below].join('|')})/`] },
    })),
    {
      name: 'root-uses-doors',
      comment: "harness/'s own modules (the package doors) import other folders through their index.ts",
      severity: 'error',
      from: { path: '^harness/[^/]+\\.ts$' },
      to: { path: '^harness/[^/]+/', pathNot: ['/index\\.ts$'] },
    },
    {
      name: 'library-knows-no-repository',
      comment: 'the library imports nothing of the repository around it (its demo, set-up, scenarios, benchmarks, tests, the article)',
      severity: 'error',
      from: { path: '^harness/' },
      to: { path: ['^(demo|setup|scenarios|bench|test)/', 'article'] },
    },
    {
      name: 'repository-uses-the-package',
      comment:
        "demo/, setup/ and scenarios/ import the package through its doors only: 'multiarch-harness', 'multiarch-harness/vitest', 'multiarch-harness/prepare'",
      severity: 'error',
      from: { path: '^(demo|setup|scenarios)/' },
      to: { path: '^harness/', pathNot: ['^harness/(index|vitest|prepare)\\.ts$'] },
    },
  ],
  options: {
    // Type-only imports count: no type cycles either.
    tsPreCompilationDeps: true,
    // The root tsconfig.json plus paths that resolve 'multiarch-harness' and 'multiarch-harness/vitest'
    // to the sources (harness/index.ts, harness/vitest.ts), as the type-check and vitest do.
    tsConfig: { fileName: '.dependency-cruiser.tsconfig.json' },
    // Packages' own "exports" (tsx/esm/api).
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|test/\\.cache)/' },
  },
};
