/**
 * Benchmark: the harness against the bare commands a user would type for the same job, in one go
 * and in alternation (harness, bare, harness, bare, ...), medians of whole processes:
 *
 * 1. verify of a multi-platform image against a sequential `docker run --platform P image uname -m`
 *    loop, cold (the loop removes the image afterwards, as the harness does), cold with
 *    `--network none` (the harness's default for its runs), and warm (it keeps the image);
 * 2. verify of a large image (the golang:1.20-alpine stand-in of the mirror: 7 platforms, a Go
 *    toolchain of about 250 MB unpacked each) against `docker run --platform P image go version` over
 *    its platforms in turn, both cold: the harness with its kept layers and verdicts off
 *    (MULTIARCH_BLOB_CACHE=off, MULTIARCH_CHECK_CACHE=off), as for a new image in CI, and the
 *    image removed from the engine before each side;
 * 3. a build scenario (scenarios/platform-args.ts, cached build) against the same bare commands: a
 *    registry:2 container, one `buildx build --platform ... --push`, a `docker run` per platform,
 *    the registry removed.
 *
 * Prints the wall-time ratios, the harness process's own CPU seconds (its children, the docker CLI,
 * are the bare commands' cost too) and share of the wall time, its peak memory, and where its time
 * went per phase (the report's phasesMs). Not a test: nothing here passes or fails on a timing.
 *
 *   npm run bench:versus-bare              (rounds: 3)
 *   npm run bench:versus-bare -- --short   (one round, what CI prints)
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { $ } from 'zx';

$.verbose = false;
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(ROOT, 'bin/multiarch-harness.mjs');
const short = process.argv.includes('--short');
const ROUNDS = short ? 1 : 3;
const SOURCE = '127.0.0.1:5001/library/alpine:latest';
const IMAGE = '127.0.0.1:5001/bench/alpine:latest';
const LARGE = '127.0.0.1:5001/library/golang:1.20-alpine';
/** The large image's verify: what each platform's Go says of itself, its Go sources (test data for every platform) foreign on purpose. */
const LARGE_VERIFY = [
  'verify',
  LARGE,
  '--expect-output',
  'go version go1.24.4 {os}/{goarch}',
  '--allow-foreign',
  '/usr/local/go/src/**',
  '--command',
  'go',
  '--command',
  'version',
];
const COLD = { MULTIARCH_BLOB_CACHE: 'off', MULTIARCH_CHECK_CACHE: 'off' };
const tmp = await mkdtemp(join(tmpdir(), 'mah-bench-'));

interface Sample {
  wallMs: number;
  cpuMs?: number;
  rssMiB?: number;
  phases?: Record<string, number>;
  loaded?: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs the harness with args; its own CPU and memory from MULTIARCH_RUSAGE_FILE, its phases from the JSON report. */
async function harness(args: string[], env: Record<string, string> = {}): Promise<Sample> {
  const rusage = join(tmp, 'rusage.json');
  const json = join(tmp, 'report.json');
  const t = performance.now();
  const r = await $({
    env: { ...process.env, ...env, MULTIARCH_RUSAGE_FILE: rusage },
    nothrow: true,
  })`node ${CLI} ${args} --quiet --json ${json}`;
  const wallMs = performance.now() - t;
  if (r.exitCode !== 0) throw new Error(`the harness failed (exit ${r.exitCode}): ${r.stdout}${r.stderr}`);
  const u = JSON.parse(await readFile(rusage, 'utf8')) as { userMs: number; systemMs: number; maxRssKiB: number; loaded?: string };
  const report = JSON.parse(await readFile(json, 'utf8')) as { phasesMs?: Record<string, number> };
  return {
    wallMs,
    cpuMs: u.userMs + u.systemMs,
    rssMiB: u.maxRssKiB / 1024,
    phases: report.phasesMs ?? {},
    ...(u.loaded ? { loaded: u.loaded } : {}),
  };
}

async function timedRun(fn: () => Promise<unknown>): Promise<Sample> {
  const t = performance.now();
  await fn();
  return { wallMs: performance.now() - t };
}

async function platformsOf(ref: string): Promise<string[]> {
  const r = await $`docker buildx imagetools inspect --raw ${ref}`;
  const index = JSON.parse(r.stdout) as { manifests: Array<{ platform?: { os: string; architecture: string; variant?: string } }> };
  return index.manifests
    .filter((m) => m.platform && m.platform.os !== 'unknown')
    .map((m) => [m.platform!.os, m.platform!.architecture, m.platform!.variant].filter(Boolean).join('/'));
}

async function bareVerify(platforms: string[], keep: boolean, flags: string[] = []): Promise<void> {
  for (const p of platforms) await $`docker run --rm ${flags} --platform ${p} ${IMAGE} uname -m`;
  if (!keep) await $`docker image rm ${IMAGE}`;
}

/** The large image's bare loop, cold: the image is not in the engine before it, and is removed after it. */
async function bareLarge(platforms: string[]): Promise<void> {
  for (const p of platforms) await $`docker run --rm --platform ${p} ${LARGE} go version`;
  await $`docker image rm ${LARGE}`;
}

async function bareBuild(platforms: string[]): Promise<void> {
  const id = (await $`docker run -d --rm -p 127.0.0.1::5000 registry:2`).stdout.trim();
  let tag: string | undefined;
  try {
    const port = (await $`docker port ${id} 5000/tcp`).stdout.trim().split(':').at(-1);
    tag = `127.0.0.1:${port}/platform-args:bench`;
    // As a user's script would: wait until the registry answers.
    for (
      let i = 0;
      i < 100 &&
      !(await fetch(`http://127.0.0.1:${port}/v2/`).then(
        (r) => r.ok,
        () => false,
      ));
      i++
    )
      await new Promise((r) => setTimeout(r, 50));
    await $`docker buildx build --platform ${platforms.join(',')} --provenance=false --push -t ${tag} ${join(ROOT, 'samples/platform-args')}`;
    for (const p of platforms) await $`docker run --rm --platform ${p} ${tag}`;
  } finally {
    // Whatever happened: no image and no registry left behind.
    if (tag) await $`docker image rm ${tag}`.nothrow();
    await $`docker rm -f ${id}`.nothrow();
  }
}

/**
 * The bare build, tried again when it fails, as the harness tries a build again after a transient
 * failure (and counts every attempt): here too every attempt's time counts, and the failure is
 * printed. Seen here: the run's registry:2 answering 500 to a HEAD of the tag while the engine
 * pushes the image (#28 "pushing ... with docker").
 */
async function bareBuildRetried(platforms: string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await bareBuild(platforms);
      return;
    } catch (err) {
      const why =
        String((err as { stderr?: string }).stderr ?? err)
          .split('\n')
          .filter((l) => /error/i.test(l))
          .at(-1) ??
        String(err).split('\n')[0] ??
        'no message';
      if (attempt === 3) throw err;
      console.log(`  (the bare build failed, attempt ${attempt}: ${why.trim()}; tried again, every attempt's time counts)`);
    }
  }
}

function line(name: string, h: Sample[], bare: Sample[]): string {
  const hw = median(h.map((s) => s.wallMs));
  const bw = median(bare.map((s) => s.wallMs));
  const cpu = median(h.map((s) => s.cpuMs!));
  const rss = Math.max(...h.map((s) => s.rssMiB!));
  return (
    `${name.padEnd(34)} harness ${(hw / 1000).toFixed(1).padStart(6)} s  bare ${(bw / 1000).toFixed(1).padStart(6)} s  ratio ${(hw / bw).toFixed(2)}  ` +
    `harness CPU ${(cpu / 1000).toFixed(2)} s (${((cpu / hw) * 100).toFixed(1)}% of wall)  peak ${rss.toFixed(0)} MiB` +
    `  code: ${[...new Set(h.map((s) => s.loaded ?? 'modules'))].join(' / ')}`
  );
}

function phases(h: Sample[]): string {
  const keys = [...new Set(h.flatMap((s) => Object.keys(s.phases ?? {})))];
  return keys.map((k) => `${k} ${(median(h.map((s) => s.phases?.[k] ?? 0)) / 1000).toFixed(1)} s`).join(', ');
}

try {
  console.log(
    `machine: ${cpus()[0]?.model ?? '?'} x ${availableParallelism()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; rounds ${ROUNDS}`,
  );
  await $`docker buildx imagetools create -t ${IMAGE} ${SOURCE}`;
  const platforms = await platformsOf(IMAGE);
  await $`docker image rm ${IMAGE}`.nothrow();
  // One unmeasured round each: the harness's layer cache and the engine's content are as in steady use.
  await harness(['verify', IMAGE, '--expect-uname', '--command', 'uname', '--command=-m']);
  await bareVerify(platforms, false);

  const hv: Sample[] = [];
  const cold: Sample[] = [];
  const coldNoNetwork: Sample[] = [];
  const warm: Sample[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    hv.push(await harness(['verify', IMAGE, '--expect-uname', '--command', 'uname', '--command=-m']));
    cold.push(await timedRun(() => bareVerify(platforms, false)));
    // The harness's containers join no network by default: the same loop with that flag, for a fair view of the rest.
    coldNoNetwork.push(await timedRun(() => bareVerify(platforms, false, ['--network', 'none'])));
    await $`docker pull -q ${IMAGE}`;
    warm.push(await timedRun(() => bareVerify(platforms, true)));
    await $`docker image rm ${IMAGE}`.nothrow();
  }
  console.log(`verify ${platforms.length} platforms (${IMAGE}, uname -m):`);
  console.log(line('  vs a cold docker-run loop', hv, cold));
  console.log(line('  vs the cold loop, --network none', hv, coldNoNetwork));
  console.log(line('  vs a warm docker-run loop', hv, warm));
  console.log(`  harness phases (busy time, median): ${phases(hv)}`);

  // The large image, cold on both sides, in alternation.
  const largePlatforms = await platformsOf(LARGE);
  const hl: Sample[] = [];
  const bl: Sample[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    await $`docker image rm ${LARGE}`.nothrow();
    hl.push(await harness(LARGE_VERIFY, COLD));
    await $`docker image rm ${LARGE}`.nothrow();
    bl.push(await timedRun(() => bareLarge(largePlatforms)));
  }
  console.log(`verify a large image cold (${LARGE}, ${largePlatforms.length} platforms, go version):`);
  console.log(line('  vs a cold docker-run loop', hl, bl));
  console.log(`  harness phases (busy time, median): ${phases(hl)}`);

  const buildPlatforms = platforms;
  await harness(['run', 'scenarios/platform-args.ts']);
  await bareBuildRetried(buildPlatforms);
  const hb: Sample[] = [];
  const bb: Sample[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    hb.push(await harness(['run', 'scenarios/platform-args.ts']));
    bb.push(await timedRun(() => bareBuildRetried(buildPlatforms)));
  }
  console.log(`build scenario platform-args (${buildPlatforms.length} platforms, BuildKit cache warm):`);
  console.log(line('  vs registry + buildx --push + runs', hb, bb));
  console.log(`  harness phases (busy time, median): ${phases(hb)}`);

  const help: number[] = [];
  for (let i = 0; i < 5; i++) help.push((await timedRun(() => $`node ${CLI} --help`)).wallMs);
  const bareNode: number[] = [];
  for (let i = 0; i < 5; i++) bareNode.push((await timedRun(() => $`node -e 0`)).wallMs);
  console.log(`start-up: --help ${(median(help) / 1000).toFixed(2)} s (node alone ${(median(bareNode) / 1000).toFixed(2)} s)`);
} finally {
  await $`docker image rm ${IMAGE}`.nothrow();
  await $`docker image rm ${LARGE}`.nothrow();
  await rm(tmp, { recursive: true, force: true });
}
