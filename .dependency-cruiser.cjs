// Module rules (issue 25, redesign plan (b) and step A1). `no-circular` is an error now: there are no
// file-level cycles today, and none may come back. So are the two rules between the library and the
// repository around it (steps G1-G6: the library knows nothing of the repository, whose demo,
// set-up and scenarios use the package through its doors). Every folder rule is a warning: it
// describes the target layout (folders with an index.ts door, layers running bottom to top), which
// the F steps reach one folder at a time; step F9 turns them all into errors.
// Several folders named below (base/, session/, build/, runners/) do not exist yet; their rules
// start to bite when they do.

/** Each folder of harness/ imports only itself and the folders listed for it (plan (b), layers 0-9). */
const BELOW = {
  base: [],
  platform: ['base'],
  result: ['base', 'platform'],
  registry: ['base', 'platform'],
  image: ['base', 'platform', 'registry'],
  engine: ['base', 'platform', 'registry'],
  session: ['base', 'platform', 'result', 'engine'],
  host: ['base', 'platform', 'result', 'image', 'engine', 'session'],
  build: ['base', 'platform', 'result', 'engine', 'session', 'host'],
  checks: ['base', 'platform', 'result', 'registry', 'image', 'engine', 'session', 'host'],
  report: ['base', 'platform', 'result'],
  scenario: ['base', 'platform', 'result', 'registry', 'engine', 'session', 'host', 'checks'],
  runners: ['base', 'platform', 'result', 'registry', 'image', 'engine', 'session', 'host', 'build', 'checks', 'scenario'],
  cli: ['base', 'platform', 'result', 'registry', 'engine', 'session', 'host', 'checks', 'report', 'scenario', 'runners'],
};

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
      severity: 'warn',
      from: { path: '^harness/(.+)/[^/]+\\.ts$' },
      to: { path: '^harness/.+\\.ts$', pathNot: ['^harness/$1/[^/]+\\.ts$', '/index\\.ts$'] },
    },
    {
      name: 'no-ancestor',
      comment: 'a subfolder never imports the folder it lies in',
      severity: 'warn',
      from: { path: '^harness/([^/]+)/[^/]+/' },
      to: { path: '^harness/$1/[^/]+\\.ts$' },
    },
    ...Object.entries(BELOW).map(([folder, below]) => ({
      name: `layer-${folder}`,
      comment: `harness/${folder}/ imports only ${below.length ? below.join(', ') : 'nothing else in harness/'}`,
      severity: 'warn',
      from: { path: `^harness/${folder}/` },
      to: { path: '^harness/[^/]+/', pathNot: [`^harness/(${[folder, ...below].join('|')})/`] },
    })),
    {
      name: 'root-uses-doors',
      comment: "harness/'s own modules (the package doors) import other folders through their index.ts",
      severity: 'warn',
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
