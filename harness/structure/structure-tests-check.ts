/**
 * A container-structure-test file's tests on one platform (`verify --config`), as a `Check`
 * (checks/check.ts): they fill the platform's `structureTests`, not a check of their own. They start
 * once the binary verdict is in (its layers are theirs: the file system is read once), so a
 * platform's CPU-heavy work is not doubled at once. Their runner is loaded only when a file is given.
 */
import { timed } from '../result/index.ts';
import { isProblem, type Check } from '../checks/index.ts';

export const structureTestsCheck: Check = {
  name: 'structure-tests',
  async check(ctx) {
    const file = ctx.request.structureTests;
    if (!file || !ctx.entry()) return {};
    const read = await ctx.manifestAndConfig();
    if (isProblem(read)) return {};
    await ctx.binaryVerdict();
    const fs = await ctx.filesystem();
    const { runStructureTests } = await import('./run-structure-tests.ts');
    try {
      const structureTests = await timed(ctx.session.phases, 'structure tests', () =>
        runStructureTests({
          ctx: ctx.session,
          file,
          exec: ctx.exec,
          config: read.config,
          fs,
          image: ctx.runImage(),
          ...(ctx.request.target.kind === 'local' ? { load: () => ctx.loadRunImage() } : {}),
          allowSkip: ctx.request.allowSkip,
          ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
        }),
      );
      return { findings: { structureTests } };
    } finally {
      // The file tests are its last reader.
      ctx.releaseFilesystem();
    }
  },
};
