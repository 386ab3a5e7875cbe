/**
 * One platform's run of a container-structure-test file: its tests in container-structure-test's
 * order (command, file existence, file content, metadata, license). File and metadata tests read the
 * platform's layers and config; command tests run containers of the platform's pinned image (or of
 * its local image, loaded) and are skipped (or fail, without --allow-skip) on a platform this host
 * cannot run.
 */
import { BASE_CONTAINER_TIMEOUT_MS, pullPinned, type Session } from '../session/index.ts';
import { EngineError } from '../engine/index.ts';
import type { ImageFilesystem } from '../image/index.ts';
import { type PlatformExecution, formatPlatform } from '../platform/index.ts';
import type { ImageConfig } from '../registry/index.ts';
import type { StructureTestResult, Progress } from '../result/index.ts';
import { runCommandTest } from './command-tests.ts';
import { configEnv, runFileContentTest, runFileExistenceTest, runLicenseTest, runMetadataTest } from './static-tests.ts';
import type { StructureTestFile } from '../structure-file/index.ts';

export interface StructureRunInput {
  ctx: Session;
  file: StructureTestFile;
  exec: PlatformExecution;
  config: ImageConfig;
  /** The platform's file system, or why it could not be read. */
  fs: ImageFilesystem | { problem: string };
  /** The platform's pinned image (repo@sha256:...), or the name its local image is loaded under. */
  image: string;
  /** A local image: its platform loaded into the engine (once, shared with the run check) instead of pulled. */
  load?: () => Promise<void>;
  allowSkip: boolean;
  onProgress?: Progress;
}

export async function runStructureTests(o: StructureRunInput): Promise<StructureTestResult[]> {
  const { file, exec } = o;
  const name = formatPlatform(exec.platform);
  const env = configEnv(o.config);
  const results: StructureTestResult[] = [];

  if (file.commandTests.length) {
    const cannot = exec.mode === 'unavailable' ? `${name} cannot run here: ${exec.reason}` : undefined;
    let pullProblem: string | undefined;
    if (!cannot) {
      o.onProgress?.(`${name}: ${file.commandTests.length} command test(s) (${exec.mode})`, {
        platform: name,
        state: `command tests (${exec.mode})`,
      });
      try {
        if (o.load) await o.load();
        else await pullPinned(o.ctx, o.image, exec.platform);
      } catch (err) {
        // A pull or a load the engine refused fails this platform's command tests with its words, as the run check does.
        if (!(err instanceof EngineError)) throw err;
        pullProblem = `the image of ${name} could not be ${o.load ? 'loaded' : 'pulled'}: ${err.message}`;
      }
    }
    for (const test of file.commandTests) {
      if (cannot) results.push({ name: test.name, kind: 'command', status: o.allowSkip ? 'skip' : 'fail', message: cannot });
      else if (pullProblem) results.push({ name: test.name, kind: 'command', status: 'fail', message: pullProblem });
      else {
        results.push(
          await runCommandTest({
            ctx: o.ctx,
            image: o.image,
            platform: exec.platform,
            test,
            globalEnvVars: file.globalEnvVars,
            imageEnv: env,
            timeoutMs: BASE_CONTAINER_TIMEOUT_MS * exec.timeoutFactor,
            ...(file.containerRunOptions ? { runOptions: file.containerRunOptions } : {}),
          }),
        );
      }
    }
  }
  const unreadable = 'problem' in o.fs ? o.fs.problem : undefined;
  for (const test of file.fileExistenceTests) {
    results.push(
      unreadable
        ? { name: test.name, kind: 'file-existence', status: 'fail', message: unreadable }
        : runFileExistenceTest(o.fs as ImageFilesystem, test, env),
    );
  }
  for (const test of file.fileContentTests) {
    results.push(
      unreadable
        ? { name: test.name, kind: 'file-content', status: 'fail', message: unreadable }
        : await runFileContentTest(o.fs as ImageFilesystem, test, exec.platform),
    );
  }
  for (const m of file.metadataTests) results.push(runMetadataTest(o.config, m.test, exec.platform, m.name));
  for (const [i, test] of file.licenseTests.entries()) {
    const name = file.licenseTests.length > 1 ? `license ${i + 1}` : 'license';
    results.push(
      unreadable
        ? { name, kind: 'license', status: 'fail', message: unreadable }
        : await runLicenseTest(o.fs as ImageFilesystem, test, name),
    );
  }
  return results;
}
