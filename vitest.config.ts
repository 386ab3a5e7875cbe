import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
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
