// Lint baseline (issue 25, redesign step A1): eslint's and typescript-eslint's `recommended` sets,
// without type information for now (type-aware rules such as no-floating-promises come in step H1).
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'reports/', 'test/.cache/', '.vitest-cache/', 'samples/', 'docs/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        // Everything here runs on Node (>= 20.19).
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
      },
    },
    rules: {
      // A name starting with `_` is discarded on purpose (`const { shard: _shard, ...base } = report`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // Control characters in patterns are deliberate here: terminal escapes (\x1b) in the progress
      // and colour tests, the characters XML forbids in report/junit.ts.
      'no-control-regex': 'off',
    },
  },
  {
    // CommonJS configuration files (.dependency-cruiser.cjs).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', __dirname: 'readonly' } },
  },
  {
    // TODO(issue 25): test/support/corpus-cache.ts (new, being written by another engineer now)
    // throws a new error inside a `catch` without `{ cause }` (the lock wait); give it its cause
    // there and drop this override.
    files: ['test/support/corpus-cache.ts'],
    rules: { 'preserve-caught-error': 'warn' },
  },
);
