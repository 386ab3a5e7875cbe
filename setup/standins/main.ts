/**
 * Builds the offline stand-ins for Docker Hub images and pushes them to the mirror registry.
 * Each is rebuilt only when its recipe or its Debian packages changed, or the mirror lost it, or an
 * image it is built FROM was rebuilt. The ones to rebuild are built side by side: each prepares its
 * context (Debian packages, Go compiles) at once, and waits for the images it is built FROM only
 * before its own `buildx build`. A recipe marked `background` (BuildKit: the long pole, for
 * docker-container builders only) is built after the others in a process of its own, started here
 * and left running (--in-background), unless --wait; it records itself as preparing those images
 * (multiarch-harness/prepare's preparingImage), and what uses the image waits for it.
 *
 *   node bin/run-ts.mjs setup/standins/main.ts --mirror-port 5001 --state-dir DIR [--force] [--wait] [--only REF]...
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { formatPlatform } from 'multiarch-harness';
import {
  awaitPreparedImage,
  forgetPreparationFailure,
  preparingImage,
  readPreparing,
  runningPreparation,
  type PreparingRecord,
} from 'multiarch-harness/prepare';
import { findClassicEngine } from '../../scenarios/support/classic-engine.ts';
import { docker } from '../support/docker.ts';
import { withRetry } from '../support/retry.ts';
import { DebianArchive, withAptRank } from './debian-archive.ts';
import { ensureMirror, mirrorHas } from './mirror.ts';
import { describeRecipe, type Recipe } from './recipe.ts';
import { RECIPES } from './recipes/index.ts';
import { setStatus, withHeartbeat } from '../status.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const log = (s: string) => console.log(`[standins] ${s}`);
/** What the harness tells a user whose background stand-in build failed or stopped. */
const RETRY_HINT = 'run `bash setup/prepare-host.sh` to build it again';

const { values } = parseArgs({
  options: {
    'mirror-port': { type: 'string', default: '5001' },
    'state-dir': { type: 'string', default: '/var/lib/multiarch-harness' },
    force: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true, default: [] },
    /** Build the background recipes too before returning. */
    wait: { type: 'boolean', default: false },
    /** This is the background process main.ts started: it records itself, and its end. */
    'in-background': { type: 'boolean', default: false },
  },
});
const inBackground = values['in-background']!;
const port = Number(values['mirror-port']);
const stateDir = values['state-dir']!;

async function recipeSourcesHash(): Promise<string> {
  const h = createHash('sha256');
  const files = (await readdir(HERE, { recursive: true })).filter((f) => /\.(ts|go|txt)$/.test(f)).sort();
  for (const f of files) h.update(f).update(await readFile(join(HERE, f)));
  for (const shared of ['../../harness/platform/platform.ts', '../../scenarios/support/upstream-platforms.ts', '../go-build.ts'])
    h.update(await readFile(join(HERE, shared)));
  return h.digest('hex');
}

async function cacheKey(r: Recipe, trixie: DebianArchive, bookworm: DebianArchive, sources: string): Promise<string> {
  const h = createHash('sha256').update(sources).update(r.ref);
  for (const { name, arch, suite } of r.packages) {
    const version =
      arch === 'host'
        ? (await execa('dpkg-query', ['-W', '-f=${Version}', name])).stdout
        : await (suite === 'bookworm' ? bookworm : trixie).candidateVersion(name, arch);
    h.update(`${suite ?? 'trixie'} ${name}:${arch}=${version}\n`);
  }
  return h.digest('hex').slice(0, 16);
}

/** Prepares r's context, waits for `bases` (the stand-ins it is built FROM), then builds and pushes it. */
async function buildStandIn(r: Recipe, trixie: DebianArchive, bookworm: DebianArchive, bases: Promise<unknown>): Promise<void> {
  const dir = join(stateDir, 'standins', 'contexts', r.mirrorRepo.replaceAll('/', '_'));
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const started = Date.now();
  setStatus('fetching Debian packages');
  // Its whole package list as one turn of each archive's apt queue, in build order: the base image
  // (alpine) is not kept waiting behind the big downloads of the images built FROM it.
  const listed = (suite: 'bookworm' | undefined) => r.packages.filter((p) => p.arch !== 'host' && p.suite === suite);
  await Promise.all([trixie.fetchAll(listed(undefined)), bookworm.fetchAll(listed('bookworm'))]);
  await r.prepare({ trixie, bookworm, dir, stateDir });
  setStatus(`waiting for ${r.dependsOn.join(', ')}`);
  await bases;
  const target = `127.0.0.1:${port}/${r.mirrorRepo}:${r.tag}`;
  setStatus(`buildx build --push of ${r.platforms.length} platforms`);
  await withRetry(() =>
    docker([
      'buildx',
      'build',
      '--builder',
      'default',
      '--provenance=false',
      '--progress=plain',
      '--platform',
      r.platforms.map(formatPlatform).join(','),
      '--push',
      '-t',
      target,
      dir,
    ]),
  );
  // With the containerd image store the pushed image also stays in the engine under the mirror's
  // name; only the Docker Hub name (refreshLocalCopies) is meant to be there.
  await docker(['image', 'rm', target], { check: false });
  await rm(dir, { recursive: true, force: true });
  log(`built and pushed ${describeRecipe(r)} in ${Math.round((Date.now() - started) / 1000)} s`);
}

/**
 * An engine keeps its local copy of an image when the registry's copy changes: after a rebuild,
 * every engine here that holds the stand-in pulls it again (through its registry-mirrors), so that
 * `docker run tonistiigi/binfmt` runs what was just built. Engines that never pulled it are left alone.
 */
async function refreshLocalCopies(r: Recipe): Promise<void> {
  const classic = await findClassicEngine();
  for (const env of [{}, ...(classic.state === 'ready' ? [{ DOCKER_HOST: classic.host }] : [])]) {
    if ((await docker(['image', 'inspect', r.ref], { env, check: false })).exitCode !== 0) continue;
    await withRetry(() => docker(['pull', '--quiet', r.ref], { env }));
    log(`${r.ref}: the local copy${'DOCKER_HOST' in env ? ' on the classic-store engine' : ''} is the new one`);
  }
}

async function main(): Promise<void> {
  const trixie = new DebianArchive(stateDir, 'trixie', ['amd64', 'arm64', 'armhf', 'armel', 'i386', 'ppc64el', 's390x', 'riscv64']);
  const bookworm = new DebianArchive(stateDir, 'bookworm', ['amd64', 'arm64', 'armhf', 'armel', 'i386', 'ppc64el', 's390x']);
  // A line every 30 s here too: on a bare machine the mirror's registry is compiled first (a minute).
  const [sources] = await withHeartbeat(
    (now, s) => `[standins] ${now || "reading Debian's package lists"} (${s} s so far)`,
    () => {
      setStatus("reading Debian's package lists, starting the mirror registry");
      return Promise.all([recipeSourcesHash(), trixie.update(), bookworm.update(), ensureMirror(port, stateDir, log)]);
    },
  );
  await Promise.all([
    trixie.lookUp(RECIPES.flatMap((r) => r.packages.filter((p) => p.arch !== 'host' && !p.suite))),
    bookworm.lookUp(RECIPES.flatMap((r) => r.packages.filter((p) => p.suite === 'bookworm'))),
  ]);
  const keysDir = join(stateDir, 'standins', 'keys');
  await mkdir(keysDir, { recursive: true });
  const keyFileOf = (r: Recipe) => join(keysDir, r.mirrorRepo.replaceAll('/', '_') + `_${r.tag}`);
  const wanted = RECIPES.filter((r) => values.only!.length === 0 || values.only!.includes(r.ref));
  // Another set-up's background process is building these: not built twice.
  const elsewhere = inBackground ? undefined : await runningPreparation(stateDir);
  if (!inBackground) await forgetPreparationFailure(stateDir);

  // Which to rebuild: RECIPES lists a recipe after those it is built FROM, so one pass sees them first.
  const keys = new Map<Recipe, string>();
  const rebuild = new Set<string>();
  for (const r of wanted) {
    if (elsewhere?.refs.includes(r.ref)) {
      log(`${r.ref}: being built in the background (pid ${elsewhere.pid}, log ${elsewhere.log})`);
      continue;
    }
    const key = await cacheKey(r, trixie, bookworm, sources);
    keys.set(r, key);
    const previous = await readFile(keyFileOf(r), 'utf8').catch(() => '');
    const stale =
      values.force || previous !== key || r.dependsOn.some((d) => rebuild.has(d)) || !(await mirrorHas(port, r.mirrorRepo, r.tag));
    if (stale) rebuild.add(`${r.mirrorRepo}:${r.tag}`);
    else log(`${r.ref}: up to date`);
  }

  const built = new Map<string, Promise<void>>();
  const later: Recipe[] = [];
  for (const r of wanted) {
    const name = `${r.mirrorRepo}:${r.tag}`;
    if (!rebuild.has(name)) continue;
    if (r.background && !values.wait && !inBackground) {
      later.push(r);
      continue;
    }
    log(`${r.ref}: building for ${r.platforms.length} platforms`);
    const bases = Promise.all(r.dependsOn.map((d) => built.get(d)).filter((b) => b !== undefined)).catch(() => {
      throw new Error(`not built, because ${r.dependsOn.join(', ')} failed`);
    });
    bases.catch(() => undefined); // awaited by buildStandIn once its context is ready
    // A line every 30 s for each: a cold BuildKit compile is minutes without output of its own.
    const done = withHeartbeat(
      (now, s) => `[standins] ${r.ref}: ${now || 'working'} (${s} s so far)`,
      () => withAptRank(RECIPES.indexOf(r), () => buildStandIn(r, trixie, bookworm, bases)),
    ).then(async () => {
      await refreshLocalCopies(r);
      await writeFile(keyFileOf(r), keys.get(r)!);
    });
    done.catch(() => undefined); // reported below, with every other failure
    built.set(name, done);
  }
  const results = await Promise.allSettled(built.values());
  const failures = [...built.keys()].flatMap((name, i) => {
    const r = results[i]!;
    return r.status === 'rejected' ? [`${name}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`] : [];
  });
  if (failures.length) throw new Error(`${failures.length} stand-in(s) failed:\n  ${failures.join('\n  ')}`);
  if (later.length) await startInBackground(later);
  if (values.wait && elsewhere) {
    for (const ref of elsewhere.refs) await awaitPreparedImage(ref, { dir: stateDir, onWait: (line) => log(line) });
  }
}

/**
 * Starts this script again for `recipes`, detached and at a lower CPU priority, its output in a log,
 * and returns once that process has recorded itself (so a user of the image never finds neither
 * the image nor the record).
 */
async function startInBackground(recipes: Recipe[]): Promise<void> {
  const logFile = join(stateDir, 'logs', 'standins-background.log');
  await mkdir(dirname(logFile), { recursive: true });
  const out = openSync(logFile, 'w');
  const child = spawn(
    'nice',
    [
      '-n',
      '10',
      process.execPath,
      join(HERE, '../../bin/run-ts.mjs'),
      join(HERE, 'main.ts'),
      '--in-background',
      '--mirror-port',
      String(port),
      '--state-dir',
      stateDir,
      ...(values.force ? ['--force'] : []),
      ...recipes.flatMap((r) => ['--only', r.ref]),
    ],
    { detached: true, stdio: ['ignore', out, out] },
  );
  closeSync(out);
  let exited: number | null | undefined;
  child.on('exit', (code) => {
    exited = code;
  });
  const deadline = Date.now() + 60_000;
  let recorded: PreparingRecord | undefined;
  while (!(recorded = await readPreparing(stateDir)) || recorded.pid !== child.pid) {
    if (exited !== undefined)
      throw new Error(`the background build of ${recipes.map((r) => r.ref).join(', ')} ended at once (exit ${exited}); see ${logFile}`);
    if (Date.now() > deadline)
      throw new Error(`the background build of ${recipes.map((r) => r.ref).join(', ')} did not start within 60 s; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  child.unref();
  for (const r of recipes) {
    log(
      `${r.ref}: building for ${r.platforms.length} platforms in the background (pid ${child.pid}, log ${logFile}); a docker-container builder waits for it (\`prepare-host.sh --wait\` waits now)`,
    );
  }
}

async function runInBackground(): Promise<void> {
  const refs = RECIPES.filter((r) => values.only!.includes(r.ref)).map((r) => r.ref);
  const preparation = await preparingImage(refs, {
    log: join(stateDir, 'logs', 'standins-background.log'),
    retryHint: RETRY_HINT,
    dir: stateDir,
  });
  try {
    await main();
    await preparation.done();
    log(`done: ${refs.join(', ')}`);
  } catch (err) {
    await preparation.done(err instanceof Error ? err.message : String(err));
    throw err;
  }
}

(inBackground ? runInBackground() : main()).catch((err: unknown) => {
  console.error(`[standins] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
