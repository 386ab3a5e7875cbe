import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Scenarios, fixtures, the demo and the set-up import the package by name, as a user's would; in tests they get the
    // sources (no build needed, never a stale one), as the type-check does (scenarios/tsconfig.json,
    // test/tsconfig.json). The CLI processes the e2e tests start run dist/ and resolve the name there.
    alias: [
      { find: /^multiarch-harness\/vitest$/, replacement: source('./harness/vitest.ts') },
      { find: /^multiarch-harness\/prepare$/, replacement: source('./harness/prepare.ts') },
      { find: /^multiarch-harness$/, replacement: source('./harness/index.ts') },
    ],
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          // Offline and fast: nothing downloaded, nothing compiled (test/unit/offline.test.ts holds them to it).
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          // Real software nobody here wrote: fetched from npm and Debian's archive (npm tarballs checked against pinned
          // digests), or built by Go, once, into the state folder's corpus/ (the set-up fetches it: setup/fetch-corpus.ts).
          name: 'corpus',
          include: ['test/corpus/**/*.test.ts'],
          testTimeout: 10 * 60_000,
          hookTimeout: 10 * 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // Real engine, real registry, real QEMU: one file at a time, generous timeouts.
          fileParallelism: false,
          testTimeout: 40 * 60_000,
          hookTimeout: 5 * 60_000,
        },
      },
    ],
  },
});
