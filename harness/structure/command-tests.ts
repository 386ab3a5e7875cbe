/**
 * A container-structure-test command test on one platform, as container-structure-test's docker
 * driver runs it: each setup command runs in a container of the image whose result is committed
 * and becomes the image of the next command; the test's command runs in a fresh container of that
 * image with the ENTRYPOINT cleared; its stdout, stderr and exit code are compared with the test.
 * Teardown commands run after it in containers of the same image (container-structure-test's docker
 * driver skips them, as each test has its own container; they run here so a failing one is seen).
 * The command and its arguments, and the environment's values, are expanded from the image's
 * environment as container-structure-test does.
 */
import { readFileSync } from 'node:fs';
import { runTestCommand, type TestContainerOptions, type Session } from '../session/index.ts';
import { formatPlatform, parsePlatform, platformSlug, type Platform } from '../platform/index.ts';
import type { StructureTestResult } from '../result/index.ts';
import { expandEnv, patternProblems } from './static-tests.ts';
import type { CommandTest, ContainerRunOptions, EnvVar } from '../structure-file/index.ts';

export interface CommandTestInput {
  ctx: Session;
  /** The platform's pinned image, already pulled. */
  image: string;
  platform: Platform;
  test: CommandTest;
  globalEnvVars: readonly EnvVar[];
  imageEnv: Record<string, string>;
  runOptions?: ContainerRunOptions;
  timeoutMs: number;
}

/**
 * What container-structure-test's containerRunOptions ask of each container, as `docker run` would
 * take them (--user, --privileged, --cap-add, --volume, --env-file, --env). The env file is read as
 * the CLI reads it: KEY=value lines; a bare KEY takes this process's value when it has one; blank
 * lines and lines starting with # are skipped.
 */
export function containerOptions(o: ContainerRunOptions | undefined, hostEnv: NodeJS.ProcessEnv = process.env): TestContainerOptions {
  if (!o) return { env: [] };
  return {
    ...(o.user ? { user: o.user } : {}),
    ...(o.privileged ? { privileged: true } : {}),
    ...(o.capabilities.length ? { capAdd: o.capabilities } : {}),
    ...(o.bindMounts.length ? { binds: o.bindMounts } : {}),
    env: [
      ...(o.envFile ? envFileLines(readFileSync(o.envFile, 'utf8'), hostEnv) : []),
      // Names of the harness's own variables, passed when set (container-structure-test skips unset ones).
      ...o.envVars.filter((n) => hostEnv[n]).map((n) => `${n}=${hostEnv[n]}`),
    ],
  };
}

/** An env file's variables, as the docker CLI reads `--env-file` (opts/file.go). */
export function envFileLines(text: string, hostEnv: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, '');
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    // As the CLI refuses them: a line with no name, or a name with white space in it.
    if (eq === 0) throw new Error(`the env file has a line with no variable name: "${line}"`);
    if (/\s/.test((eq > 0 ? line.slice(0, eq) : line).trim()))
      throw new Error(`the env file's variable "${(eq > 0 ? line.slice(0, eq) : line).trim()}" has white space in it`);
    if (eq > 0) out.push(line);
    else if (hostEnv[line.trim()] !== undefined) out.push(`${line.trim()}=${hostEnv[line.trim()]}`);
  }
  return out;
}

export async function runCommandTest(o: CommandTestInput): Promise<StructureTestResult> {
  const { test } = o;
  const base = { name: test.name, kind: 'command' as const };
  const env = [...o.globalEnvVars, ...test.envVars].map((v) => `${v.key}=${expandEnv(v.value, o.imageEnv)}`);
  let run: TestContainerOptions;
  try {
    run = containerOptions(o.runOptions);
  } catch (err) {
    // An env file that cannot be read: `docker run --env-file` refuses the container the same way.
    return { name: test.name, kind: 'command', status: 'fail', message: `could not be started: ${(err as Error).message}`, durationMs: 0 };
  }
  const started = performance.now();
  const done = (status: 'pass' | 'fail', message: string): StructureTestResult => ({
    ...base,
    status,
    message,
    durationMs: Math.round(performance.now() - started),
  });
  let image = o.image;
  let platform = o.platform;
  for (const [i, argv] of test.setup.entries()) {
    const commitAs =
      `multiarch-harness/cst-${o.ctx.id}:${platformSlug(o.platform)}-${Math.random().toString(36).slice(2, 9)}`.toLowerCase();
    const r = await runTestCommand(o.ctx, image, platform, {
      argv: argv.map((a) => expandEnv(a, o.imageEnv)),
      env,
      run,
      timeoutMs: o.timeoutMs,
      commitAs,
    });
    if (r.timedOut) return done('fail', `setup command ${i + 1} (${argv.join(' ')}) did not finish within ${o.timeoutMs / 1000} s`);
    if (r.exitCode === 125 || r.exitCode === 126 || r.exitCode === 127)
      return done('fail', `setup command ${i + 1} (${argv.join(' ')}) could not be started: ${lastLine(r.stderr)}`);
    image = commitAs;
    if (r.committedPlatform) platform = parsePlatform(r.committedPlatform);
  }
  const argv = [test.command, ...test.args].map((a) => expandEnv(a, o.imageEnv));
  const r = await runTestCommand(o.ctx, image, platform, { argv, env, run, timeoutMs: o.timeoutMs });
  if (r.timedOut) return done('fail', `${argv.join(' ')} did not finish within ${o.timeoutMs / 1000} s on ${formatPlatform(o.platform)}`);
  const problems = [
    ...patternProblems('stdout', r.stdout, o.platform, test.expectedOutput, test.excludedOutput),
    ...patternProblems('stderr', r.stderr, o.platform, test.expectedError, test.excludedError),
    ...(r.exitCode !== test.exitCode
      ? [
          `exit code ${r.exitCode ?? 'none'}, expected ${test.exitCode}${r.exitCode !== 0 && r.stderr.trim() ? ` (${lastLine(r.stderr)})` : ''}`,
        ]
      : []),
  ];
  for (const [i, teardown] of test.teardown.entries()) {
    const t = await runTestCommand(o.ctx, image, platform, {
      argv: teardown.map((a) => expandEnv(a, o.imageEnv)),
      env,
      run,
      timeoutMs: o.timeoutMs,
    });
    if (t.timedOut || t.exitCode !== 0)
      problems.push(`teardown command ${i + 1} (${teardown.join(' ')}) ${t.timedOut ? 'did not finish' : `exited ${t.exitCode}`}`);
  }
  return problems.length
    ? done('fail', problems.join('; '))
    : done('pass', `${argv.join(' ')}: exit ${r.exitCode}${r.stdout.trim() ? `, "${lastLine(r.stdout)}"` : ''}`);
}

/** The line of stderr that says what went wrong: the engine's "docker: Error ..." when there is one, else the last. */
function lastLine(s: string): string {
  const lines = s.trim().split('\n');
  const line = lines.find((l) => /^docker: Error/.test(l))?.replace(/^docker: Error response from daemon: /, '') ?? lines.at(-1) ?? '';
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}
