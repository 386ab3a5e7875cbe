// What `require('multiarch-harness')` (and its ./vitest and ./prepare entries) loads: the package is
// ES modules only, and CommonJS reaches it through import(). package.json's "require" condition
// points here, so that require() gets this one sentence, also on a Node that can require() ES
// modules. ERR_REQUIRE_ESM is Node's own code for this case: tools that load with require() first
// and import() on that code (config loaders do) still reach the package.
const error = new Error(
  "multiarch-harness is an ES module package: use `import` (or `await import('multiarch-harness')` from CommonJS); require() cannot load it.",
);
error.code = 'ERR_REQUIRE_ESM';
throw error;
