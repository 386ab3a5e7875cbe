/**
 * Soak and fault suite (issue 11, item 4). Many harness runs against the real engine: `verify` of
 * the mirror's alpine (8 platforms, passes), a failing verify (one platform, `--expect-output nope`,
 * exit 1) and a small build (test/e2e/fixtures/echo-platform.ts for the native platform); some of
 * them interrupted with SIGINT, SIGTERM or SIGKILL at a random moment, some rounds running 2-3 at
 * once, and faults: the run's own registry killed with `docker kill` mid-run, a registry on
 * 127.0.0.1 answering 500 and 429 for a while (then passing requests on to the mirror), and, only
 * with --engine-restart, the engine restarted mid-run. Every round compares everything on the engine
 * (containers, networks, volumes, images, buildx builders; the second engine too, and the harness's
 * session records) with the state before it and prints what differs. One line at the end:
 *
 *   soak: 50 runs, 16 interrupted (5 SIGINT, 6 SIGTERM, 5 SIGKILL), 11 failing, 6 faults, 0 hangs, 0 leaks
 *
 *   node bin/run-ts.mjs bench/soak.ts --short          CI: 12 runs, a few minutes on 2 cores
 *   node bin/run-ts.mjs bench/soak.ts [--runs 50]      the long form: 50 runs, >= 15 interrupted, 10 failing, 5 faults
 *       [--seed S]            the plan (kinds, signals, moments, faults, parallel rounds) follows from it; printed
 *       [--timeout SECONDS]   a child still running after this is a hang (default 300): SIGTERM, SIGKILL 30 s later
 *       [--engine-restart]    also restart dockerd mid-run (see the risk below); never by default
 *       [--strict]            also exit 1 on an unexpected exit code or output
 *       [--logs DIR]          every child's command line, exit and output (default: a new folder in the temp dir)
 *
 * A leak: anything on the engine after the end that was not there before the suite, once every
 * harness process and its docker children are gone and a final sweeping run has run. What a
 * SIGKILLed run leaves is expected until the next run sweeps it (the harness sweeps at start), so it
 * counts only if it survives that too. The final sweeping run is a verify of a tag the mirror does
 * not have: it sweeps and then stops with one sentence, pulling nothing (a verify that pulls would
 * remove a leaked image of the same digest as if it were its own, and hide it). Images whose ID was
 * there before the suite, and the registry image testcontainers pulls once, are not leaks.
 * The docker processes a SIGKILLed harness leaves running (a pull, a build, a `docker run`) are
 * waited for (up to 2 min) before the next round, so what they make is counted where it belongs;
 * the race between such a straggler and the next run's sweep is therefore not exercised here.
 * Exit code 1 on a leak, a hang or a stack trace in any child's output (and with --strict on any
 * other problem printed); 2 when the host is not ready.
 *
 * The engine must be this suite's alone while it runs: whatever another user of the engine creates
 * or removes shows in the diffs, and what it leaves counts as a leak.
 *
 * --engine-restart stops the dockerd that setup/prepare-host.sh started (its pid in
 * $MULTIARCH_STATE_DIR/dockerd.pid, SIGTERM, SIGKILL after 60 s) and starts `dockerd` again as that
 * script does (setsid, log appended to logs/dockerd.log, the new pid written back). Every container
 * on the engine without a restart policy is stopped, every build and pull in flight fails, for every
 * user of the engine (a CI job sharing it fails too); if dockerd does not come back within 90 s the
 * suite stops and the engine stays down until `bash setup/prepare-host.sh` is run again. Refused
 * unless run as root on an engine that script started.
 *
 * All traffic stays on 127.0.0.1 (the mirror on 5001, the fake registry on a free port).
 */
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { $ } from 'zx';
import { PID_LABEL } from '../harness/engine/session.ts';
import { describeItem, diffSnapshots, engineAnswers, takeSnapshot, type EngineTarget, type Item, type Snapshot } from './support/engine-snapshot.ts';

$.verbose = false;

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(ROOT, 'bin/multiarch-harness.mjs');
const MIRROR_PORT = Number(process.env.MULTIARCH_MIRROR_PORT ?? 5001);
const MIRROR = `127.0.0.1:${MIRROR_PORT}`;
const ALPINE = `${MIRROR}/library/alpine:latest`;
const FIXTURE = 'test/e2e/fixtures/echo-platform.ts';
const REGISTRY_IMAGE = process.env.MULTIARCH_REGISTRY_IMAGE ?? 'registry:2';
/** prepare-host.sh's state folder (dockerd.pid, changes, logs/). */
const HOST_STATE = process.env.MULTIARCH_STATE_DIR ?? '/var/lib/multiarch-harness';
/** The harness's state folder (its session records in sessions/), as harness/state-dir.ts decides it. */
const HARNESS_STATE = process.env.MULTIARCH_STATE_DIR ?? (process.getuid?.() === 0 ? '/var/lib/multiarch-harness' : join(homedir(), '.cache', 'multiarch-harness'));
const CLASSIC_HOST = process.env.MULTIARCH_HARNESS_CLASSIC_HOST || 'unix:///run/multiarch-harness/classic-engine.sock';

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

const USAGE = 'usage: node bin/run-ts.mjs bench/soak.ts [--short | --runs N] [--seed S] [--timeout SECONDS] [--engine-restart] [--strict] [--logs DIR]';

function refuse(sentence: string): never {
  console.error(`soak: ${sentence}`);
  process.exit(2);
}

function parseOptions() {
  try {
    return parseArgs({
      options: {
        short: { type: 'boolean' }, runs: { type: 'string' }, seed: { type: 'string' }, timeout: { type: 'string' },
        'engine-restart': { type: 'boolean' }, strict: { type: 'boolean' }, logs: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true, allowPositionals: false,
    }).values;
  } catch (err) {
    return refuse(`${(err as Error).message}\n${USAGE}`);
  }
}

function intOption(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) refuse(`${name} takes a whole number of at least ${min}, not "${text}".`);
  return n;
}

const opts = parseOptions();
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
const SHORT = Boolean(opts.short);
const RUNS = opts.runs !== undefined ? intOption('--runs', opts.runs, 6) : SHORT ? 12 : 50;
const SEED = opts.seed !== undefined ? intOption('--seed', opts.seed, 0) : randomInt(1, 2 ** 31 - 1);
const CHILD_TIMEOUT_MS = (opts.timeout !== undefined ? intOption('--timeout', opts.timeout, 10) : 300) * 1000;
const ENGINE_RESTART = Boolean(opts['engine-restart']);
const STRICT = Boolean(opts.strict);

// ---------------------------------------------------------------------------------------------
// The plan: a small PRNG (mulberry32) from the seed decides every round
// ---------------------------------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rng = mulberry32(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

type Kind = 'verify-ok' | 'verify-fail' | 'build';
type Sig = 'SIGINT' | 'SIGTERM' | 'SIGKILL';
type Fault = 'registry-kill' | 'engine-restart';
const SIGNALS: readonly Sig[] = ['SIGINT', 'SIGTERM', 'SIGKILL'];

interface RunSpec {
  kind: Kind;
  /** Sent at `at` x the kind's typical duration (uniform in [0, 1)). */
  signal?: Sig;
  at?: number;
  fault?: Fault;
  /** When the fault is injected, as a fraction of the time left in a typical run. */
  faultAt?: number;
}
type Round = { type: 'runs'; runs: RunSpec[] } | { type: 'fake-registry'; statuses: number[] };

const TARGET = {
  runs: RUNS,
  interrupted: Math.ceil(RUNS * 0.32),
  failing: Math.ceil(RUNS * 0.22),
  registryKills: SHORT ? 1 : Math.max(3, Math.ceil(RUNS * 0.06)),
  fakeRegistries: SHORT ? 1 : Math.max(2, Math.ceil(RUNS * 0.05)),
  engineRestarts: ENGINE_RESTART ? (SHORT ? 1 : 2) : 0,
};
const TARGET_FAULTS = TARGET.registryKills + TARGET.fakeRegistries + TARGET.engineRestarts;

/** 500s and 429s, at least four (more than the harness's four attempts), both kinds among them. */
function faultStatuses(): number[] {
  const k = 4 + Math.floor(rng() * 5);
  const s = Array.from({ length: k }, () => pick([500, 500, 429]));
  if (!s.includes(500)) s[0] = 500;
  if (!s.includes(429)) s[k - 1] = 429;
  return s;
}

const isPlain = (x: RunSpec | 'fake' | undefined): x is RunSpec => x !== undefined && x !== 'fake' && !x.fault;

function plan(): Round[] {
  // The first three rounds, one of each kind, uninterrupted: how long a run takes here.
  const rounds: Round[] = (['verify-ok', 'verify-fail', 'build'] as const).map((kind) => ({ type: 'runs', runs: [{ kind }] }));
  const pool: Array<RunSpec | 'fake'> = [];
  for (let i = 0; i < TARGET.registryKills; i++) pool.push({ kind: 'build', fault: 'registry-kill', faultAt: rng() });
  for (let i = 0; i < TARGET.engineRestarts; i++) pool.push({ kind: pick(['verify-ok', 'build'] as const), fault: 'engine-restart', faultAt: rng() });
  for (let i = 0; i < TARGET.fakeRegistries; i++) pool.push('fake');
  for (let i = 1; i < TARGET.failing; i++) pool.push({ kind: 'verify-fail' });
  const signals = shuffle(Array.from({ length: TARGET.interrupted }, (_, i) => SIGNALS[i % 3]!));
  for (const signal of signals) pool.push({ kind: pick(['verify-ok', 'verify-ok', 'build', 'build', 'verify-fail'] as const), signal, at: rng() });
  const planned = 3 + TARGET.registryKills + TARGET.engineRestarts + 2 * TARGET.fakeRegistries + (TARGET.failing - 1) + TARGET.interrupted;
  for (let i = planned; i < RUNS; i++) pool.push({ kind: pick(['verify-ok', 'verify-ok', 'build'] as const) });
  shuffle(pool);
  for (let i = 0; i < pool.length;) {
    const x = pool[i++]!;
    if (x === 'fake') { rounds.push({ type: 'fake-registry', statuses: faultStatuses() }); continue; }
    const group = [x];
    if (!x.fault && rng() < 0.3) {
      const size = rng() < 0.5 ? 2 : 3;
      while (group.length < size && isPlain(pool[i])) group.push(pool[i++] as RunSpec);
    }
    rounds.push({ type: 'runs', runs: group });
  }
  // At least one parallel round: the first two single plain rounds after the first three become one.
  if (!rounds.some((r) => r.type === 'runs' && r.runs.length > 1)) {
    const single = (r: Round | undefined) => r?.type === 'runs' && r.runs.length === 1 && isPlain(r.runs[0]);
    for (let i = 3; i + 1 < rounds.length; i++) {
      if (single(rounds[i]) && single(rounds[i + 1])) {
        const [a, b] = [rounds[i], rounds[i + 1]] as [Round & { type: 'runs' }, Round & { type: 'runs' }];
        rounds.splice(i, 2, { type: 'runs', runs: [...a.runs, ...b.runs] });
        break;
      }
    }
  }
  return rounds;
}

// ---------------------------------------------------------------------------------------------
// Processes: a child's descendants (its docker CLIs), read from /proc
// ---------------------------------------------------------------------------------------------

interface Proc { pid: number; start: string; cmd: string }

function procStat(pid: number): { ppid: number; start: string } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), start: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

function cmdline(pid: number): string {
  try {
    const c = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return c.length > 90 ? `${c.slice(0, 87)}...` : c;
  } catch {
    return '?';
  }
}

function descendants(root: number): Proc[] {
  const children = new Map<number, number[]>();
  let names: string[] = [];
  try { names = readdirSync('/proc'); } catch { return []; }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const st = procStat(Number(name));
    if (st) children.set(st.ppid, [...(children.get(st.ppid) ?? []), Number(name)]);
  }
  const out: Proc[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length) {
    const pid = queue.shift()!;
    const st = procStat(pid);
    if (!st) continue;
    out.push({ pid, start: st.start, cmd: cmdline(pid) });
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

const alive = (p: Proc) => procStat(p.pid)?.start === p.start;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const clip = (s: string, n = 160) => (s.length > n ? `${s.slice(0, n - 3)}...` : s);

// ---------------------------------------------------------------------------------------------
// The engine: snapshots, the second engine, the session records, restarts
// ---------------------------------------------------------------------------------------------

const MAIN: EngineTarget = { name: 'engine', host: process.env.DOCKER_HOST };
const CLASSIC: EngineTarget = { name: 'classic', host: CLASSIC_HOST };
const targets: EngineTarget[] = [MAIN];

/** The harness's session records (its state folder's sessions/): a record left behind is a leak too. */
function sessionRecords(): Item[] {
  const dir = join(HARNESS_STATE, 'sessions');
  let names: string[];
  try { names = readdirSync(dir).filter((n) => n.endsWith('.json')); } catch { return []; }
  return names.map((n) => {
    let rec: { id?: string; pid?: number; resources?: Array<{ ref?: string; name?: string }> } = {};
    try { rec = JSON.parse(readFileSync(join(dir, n), 'utf8')) as typeof rec; } catch { /* being written or removed */ }
    return {
      key: `state record ${n}`, engine: 'state', kind: 'record', id: n, name: n,
      what: `${join(dir, n)} (run ${rec.id ?? '?'}, pid ${rec.pid ?? '?'}, ${rec.resources?.length ?? 0} resource(s))`,
      ...(rec.id ? { run: rec.id } : {}), ...(Number.isInteger(rec.pid) ? { pid: rec.pid! } : {}),
      refs: (rec.resources ?? []).map((r) => r.ref ?? r.name ?? '').filter(Boolean),
    } satisfies Item;
  });
}

/** The harness's scratch folders (scratch-folders.ts: mah-<kind>-<pid namespace>-<pid>-XXXXXX in the temporary folder): one left after the final sweep is a leak too. */
function scratchFolders(): Item[] {
  let names: string[];
  try { names = readdirSync(tmpdir()).filter((n) => /^mah-(verify|network|build|steps|scenario)-\d+-\d+-[A-Za-z0-9]{6}$/.test(n)); } catch { return []; }
  return names.map((n) => ({ key: `state scratch ${n}`, engine: 'state', kind: 'scratch', id: n, name: n, what: join(tmpdir(), n), pid: Number(n.split('-')[3]) }) satisfies Item);
}

const snapshot = () => takeSnapshot(targets, () => [...sessionRecords(), ...scratchFolders()]);

async function mirrorServesAlpine(): Promise<boolean> {
  try {
    const res = await fetch(`http://${MIRROR}/v2/library/alpine/manifests/latest`, {
      method: 'HEAD', signal: AbortSignal.timeout(5000),
      headers: { Accept: 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json' },
    });
    return res.ok;
  } catch {
    return false;
  }
}

async function until(what: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await what()) return true;
    await sleep(1000);
  }
  return false;
}

/** Why --engine-restart cannot be done here, or undefined. */
function engineRestartRefusal(): string | undefined {
  if (process.getuid?.() !== 0) return '--engine-restart needs root (it stops and starts dockerd).';
  const changes = existsSync(join(HOST_STATE, 'changes')) ? readFileSync(join(HOST_STATE, 'changes'), 'utf8') : '';
  if (!changes.split('\n').includes('dockerd-started')) return `--engine-restart only restarts an engine that setup/prepare-host.sh started (${join(HOST_STATE, 'changes')} does not say so); restart this one yourself.`;
  const pid = dockerdPid();
  if (pid === undefined) return `--engine-restart: ${join(HOST_STATE, 'dockerd.pid')} does not name a running dockerd.`;
  return undefined;
}

function dockerdPid(): number | undefined {
  try {
    const pid = Number(readFileSync(join(HOST_STATE, 'dockerd.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'dockerd' ? pid : undefined;
  } catch {
    return undefined;
  }
}

let engineLost = false;

/** Stops dockerd and starts it again the way setup/prepare-host.sh does; says what happened. */
async function restartEngine(): Promise<string> {
  const pid = dockerdPid();
  if (pid === undefined) return 'not restarted: no dockerd pid';
  const t0 = Date.now();
  const signal = (s: NodeJS.Signals) => { try { process.kill(pid, s); } catch { /* gone already */ } };
  const stopped = async () => { try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'dockerd'; } catch { return true; } };
  signal('SIGTERM');
  if (!(await until(stopped, 60_000))) {
    signal('SIGKILL');
    await until(stopped, 10_000);
  }
  const stoppedMs = Date.now() - t0;
  mkdirSync(join(HOST_STATE, 'logs'), { recursive: true });
  const log = openSync(join(HOST_STATE, 'logs', 'dockerd.log'), 'a');
  // setsid (detached): the daemon outlives this process and is not in its process group.
  const d = spawn('dockerd', [], { detached: true, stdio: ['ignore', log, log] });
  d.unref();
  closeSync(log);
  if (d.pid !== undefined) writeFileSync(join(HOST_STATE, 'dockerd.pid'), `${d.pid}\n`);
  const up = await until(() => engineAnswers(MAIN, 5000), 90_000);
  if (!up) {
    engineLost = true;
    return `dockerd ${pid} stopped in ${secs(stoppedMs)}; the new dockerd ${d.pid ?? '?'} did not answer within 90 s`;
  }
  const upMs = Date.now() - t0;
  const mirror = await until(mirrorServesAlpine, 60_000);
  return `dockerd ${pid} stopped in ${secs(stoppedMs)}, dockerd ${d.pid} up after ${secs(upMs)}${mirror ? '' : ', the mirror did not answer within 60 s'}`;
}

/** The run's own registry container: labelled with the child's pid, from the registry image. */
async function registryOf(pid: number): Promise<string | undefined> {
  const r = await $({ nothrow: true, quiet: true, timeout: 30_000 })`docker ps --no-trunc --filter ${`label=${PID_LABEL}=${pid}`} --filter status=running --format ${'{{.ID}}\t{{.Image}}'}`;
  if (r.exitCode !== 0) return undefined;
  const image = REGISTRY_IMAGE.replace(/^docker\.io\/(library\/)?/, '');
  return r.stdout.split('\n').map((l) => l.split('\t')).find(([, img]) => img !== undefined && img.replace(/^docker\.io\/(library\/)?/, '') === image)?.[0];
}

// ---------------------------------------------------------------------------------------------
// The fake registry: 500 and 429 for its first requests, then the mirror's answers passed on
// ---------------------------------------------------------------------------------------------

interface FakeRegistry { address: string; served: number[]; proxied: () => number; recover(): void; close(): Promise<void> }

async function startFakeRegistry(statuses: readonly number[]): Promise<FakeRegistry> {
  const served: number[] = [];
  let proxied = 0;
  let recovered = false;
  const server = http.createServer((req, res) => {
    if (!recovered && served.length < statuses.length) {
      const status = statuses[served.length]!;
      served.push(status);
      req.resume();
      const code = status === 429 ? 'TOOMANYREQUESTS' : 'UNKNOWN';
      res.writeHead(status, { 'Content-Type': 'application/json', 'Docker-Distribution-Api-Version': 'registry/2.0', ...(status === 429 ? { 'Retry-After': '1' } : {}) });
      res.end(JSON.stringify({ errors: [{ code, message: status === 429 ? 'too many requests' : 'internal server error' }] }));
      return;
    }
    proxied++;
    const up = http.request({ host: '127.0.0.1', port: MIRROR_PORT, method: req.method, path: req.url, headers: { ...req.headers, host: MIRROR } }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => { if (!res.headersSent) res.writeHead(502); res.end(); });
    req.pipe(up);
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', () => resolve()); });
  const port = (server.address() as AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`, served, proxied: () => proxied,
    recover: () => { recovered = true; },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

// ---------------------------------------------------------------------------------------------
// One harness process
// ---------------------------------------------------------------------------------------------

type ChildKind = Kind | 'registry-faulty' | 'registry-recovered' | 'sweep';

interface ChildRun {
  n: number;
  kind: ChildKind;
  args: string[];
  /** Exit codes that are right when it was not interrupted. */
  expect: number[];
  spec?: RunSpec;
  pid?: number;
  startedAt: number;
  durationMs: number;
  stdout: string;
  stderr: string;
  exitCode?: number;
  signal?: string;
  interruption?: { signal: Sig; atMs: number; stderrOffset: number };
  hung: boolean;
  /** What was injected while it ran, when it was. */
  fault?: string;
  faultInjected: boolean;
  /** Its descendants when it was signalled; those alive when it ended outlived it. */
  watched: Proc[];
  outliving: Proc[];
  pending: Array<Promise<unknown>>;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  problems: string[];
  notes: string[];
}

let childCount = 0;
let logsDir = '';

const ARGS: Record<Kind, (native: string) => string[]> = {
  'verify-ok': () => ['verify', ALPINE, '--expect-uname', '--command', 'uname', '--command=-m'],
  'verify-fail': (native) => ['verify', ALPINE, '--platforms', native, '--expect-output', 'nope'],
  build: (native) => ['run', FIXTURE, '--platforms', native],
};
const EXPECT: Record<Kind, number[]> = { 'verify-ok': [0], 'verify-fail': [1], build: [0] };

interface ChildOptions {
  signal?: Sig;
  signalAfterMs?: number;
  /** Called as it starts, with a function that says whether it still runs. */
  onStart?: (c: ChildRun, running: () => boolean) => void;
  onStderr?: (c: ChildRun, running: () => boolean) => void;
}

async function runChild(kind: ChildKind, args: string[], expect: number[], o: ChildOptions = {}, spec?: RunSpec): Promise<ChildRun> {
  const c: ChildRun = {
    n: ++childCount, kind, args, expect, ...(spec ? { spec } : {}), startedAt: Date.now(), durationMs: 0, stdout: '', stderr: '',
    hung: false, faultInjected: false, watched: [], outliving: [], pending: [], exited: Promise.resolve(), problems: [], notes: [],
  };
  const sub = execa('node', [CLI, ...args], {
    cwd: ROOT, reject: false, buffer: false, stdin: 'ignore', forceKillAfterDelay: false, env: { GITHUB_STEP_SUMMARY: '' },
  });
  c.pid = sub.pid;
  let running = sub.pid !== undefined;
  const isRunning = () => running;
  c.exited = new Promise((resolve) => sub.once('exit', () => {
    running = false;
    c.durationMs = Date.now() - c.startedAt;
    c.outliving = c.watched.filter(alive);
    resolve();
  }));
  sub.stdout?.on('data', (d: Buffer) => { c.stdout += d.toString('utf8'); });
  sub.stderr?.on('data', (d: Buffer) => { c.stderr += d.toString('utf8'); o.onStderr?.(c, isRunning); });
  const send = (signal: Sig): boolean => {
    if (!running || sub.pid === undefined) return false;
    const seen = new Set(c.watched.map((p) => p.pid));
    c.watched.push(...descendants(sub.pid).filter((p) => !seen.has(p.pid)));
    return sub.kill(signal);
  };
  const timers: NodeJS.Timeout[] = [];
  if (o.signal) {
    const signal = o.signal;
    timers.push(setTimeout(() => {
      const offset = c.stderr.length;
      const atMs = Date.now() - c.startedAt;
      if (send(signal)) c.interruption = { signal, atMs, stderrOffset: offset };
    }, o.signalAfterMs ?? 0));
  }
  timers.push(setTimeout(() => {
    c.hung = true;
    send('SIGTERM');
    timers.push(setTimeout(() => send('SIGKILL'), 30_000));
  }, CHILD_TIMEOUT_MS));
  o.onStart?.(c, isRunning);
  const r = await sub;
  for (const t of timers) clearTimeout(t);
  if (!c.durationMs) c.durationMs = Date.now() - c.startedAt;
  c.exitCode = r.exitCode;
  c.signal = r.signal;
  await Promise.all(c.pending);
  await waitForOutliving(c);
  judge(c);
  writeLog(c);
  return c;
}

/**
 * Waits (up to 2 min) for the docker processes that outlived a signalled harness: after a SIGKILL
 * its docker CLIs run on (a pull, a build, a `docker run`), and what they make would otherwise land
 * in the next round. Noted when they ran on for more than a second.
 */
async function waitForOutliving(c: ChildRun): Promise<void> {
  if (c.outliving.length === 0) return;
  const t0 = Date.now();
  while (c.outliving.some(alive) && Date.now() - t0 < 120_000) await sleep(250);
  const still = c.outliving.filter(alive);
  const tookMs = Date.now() - t0;
  if (still.length === 0 && tookMs < 1000) return;
  const what = c.outliving.map((p) => p.cmd).join('; ');
  c.notes.push(`${c.outliving.length} process(es) outlived it${still.length ? '' : ` by up to ${secs(tookMs)}`}: ${clip(what, 300)}`);
  if (still.length) c.problems.push(`still running 2 min after it ended: ${still.map((p) => `${p.pid} ${p.cmd}`).join('; ')}`);
}

/** Waits ms, or less when the child exits first; says whether it still runs. */
async function whileRunning(c: ChildRun, running: () => boolean, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([new Promise((r) => { timer = setTimeout(r, ms); }), c.exited]);
  clearTimeout(timer);
  return running();
}

const CLEANING = /^multiarch-harness: SIG(INT|TERM): cleaning up/;
const CLEANUP_LINE = /^multiarch-harness: (SIG(INT|TERM): (cleaning up|cleaned up)|cleanup[: ])/;
const STACK = /^\s+at /m;
let stackTraces = 0;

function ended(c: ChildRun): string {
  if (c.signal) return `killed by ${c.signal}`;
  return `exit ${c.exitCode ?? '?'}`;
}

function lastHarnessLine(c: ChildRun): string | undefined {
  return c.stderr.split('\n').findLast((l) => l.startsWith('multiarch-harness:'));
}

/** What the child's exit and output should be, given what was done to it. */
function judge(c: ChildRun): void {
  const p = c.problems;
  const output = `${c.stdout}\n${c.stderr}`;
  if (STACK.test(output)) {
    stackTraces++;
    const i = output.search(STACK);
    p.push(`a stack trace in its output: ${clip(output.slice(Math.max(0, i - 120), i + 120).replace(/\n/g, ' | '))}`);
  }
  if (stopping && (c.exitCode === 130 || c.exitCode === 143 || c.signal === 'SIGINT' || c.signal === 'SIGTERM')) {
    c.notes.push('stopped with the soak (it was signalled too)');
    return;
  }
  if (c.hung) {
    p.push(`still running after ${secs(CHILD_TIMEOUT_MS)}: a hang (stopped with SIGTERM${c.signal === 'SIGKILL' ? ', then SIGKILL' : ''})`);
    return;
  }
  if (c.interruption) {
    const { signal, stderrOffset } = c.interruption;
    if (signal === 'SIGKILL') {
      if (c.signal !== 'SIGKILL') p.push(`${ended(c)} after SIGKILL`);
      return;
    }
    const code = signal === 'SIGINT' ? 130 : 143;
    if (c.exitCode !== code && c.signal !== signal) p.push(`${ended(c)} after ${signal}, not exit ${code}`);
    const after = c.stderr.slice(stderrOffset).split('\n').map((l) => l.trimEnd()).filter(Boolean);
    if (after.length > 0) {
      const cleaning = after.filter((l) => CLEANING.test(l)).length;
      if (cleaning !== 1) p.push(`${cleaning} "cleaning up" lines on stderr after ${signal}, not one`);
      const last = after.at(-1)!;
      if (!CLEANUP_LINE.test(last)) p.push(`its stderr after ${signal} ends with "${clip(last)}", not a cleanup line`);
    }
    return;
  }
  if (c.exitCode === undefined || !c.expect.includes(c.exitCode)) {
    const said = c.stderr.split('\n').map((l) => l.trim()).filter(Boolean).at(-1);
    p.push(`${ended(c)}, expected exit ${c.expect.join(' or ')}${said ? ` (last line: ${clip(said)})` : ''}`);
  }
  if (c.exitCode === 2) {
    const lines = c.stderr.split('\n').filter((l) => l.startsWith('multiarch-harness:')).length;
    if (lines !== 1) p.push(`exit 2 with ${lines} lines starting "multiarch-harness:" on stderr, not one sentence`);
  }
}

function writeLog(c: ChildRun): void {
  const head = [
    `node bin/multiarch-harness.mjs ${c.args.join(' ')}`,
    `pid ${c.pid ?? '?'}, ${ended(c)} after ${secs(c.durationMs)}`,
    ...(c.interruption ? [`${c.interruption.signal} at ${secs(c.interruption.atMs)}`] : []),
    ...(c.fault ? [`fault: ${c.fault}`] : []),
    ...c.notes, ...c.problems.map((x) => `PROBLEM: ${x}`),
  ];
  try {
    writeFileSync(join(logsDir, `${String(c.n).padStart(3, '0')}-${c.kind}.log`), `${head.join('\n')}\n--- stdout\n${c.stdout}\n--- stderr\n${c.stderr}`);
  } catch { /* the logs are a convenience */ }
}

// ---------------------------------------------------------------------------------------------
// Counting
// ---------------------------------------------------------------------------------------------

const stats = {
  runs: 0, signals: { SIGINT: 0, SIGTERM: 0, SIGKILL: 0 } as Record<Sig, number>, failing: 0, faults: 0, hangs: 0,
  problems: 0, parallelRounds: 0,
};
const interrupted = () => stats.signals.SIGINT + stats.signals.SIGTERM + stats.signals.SIGKILL;
const durations: Record<Kind, number[]> = { 'verify-ok': [], 'verify-fail': [], build: [] };
/** Until measured: a guess of how long each kind takes on a 2-core machine with warm caches. */
const GUESS: Record<Kind, number> = { 'verify-ok': 8000, 'verify-fail': 4000, build: 12000 };

function typical(kind: Kind): number {
  const d = [...durations[kind]].sort((a, b) => a - b);
  return d.length ? d[Math.floor(d.length / 2)]! : GUESS[kind];
}

function count(c: ChildRun): void {
  stats.runs++;
  if (c.hung) stats.hangs++;
  if (c.interruption) stats.signals[c.interruption.signal]++;
  if (c.faultInjected) stats.faults++;
  if (c.kind === 'verify-fail' && !c.interruption && !c.hung && c.exitCode === 1) stats.failing++;
  const kind = c.kind;
  if ((kind === 'verify-ok' || kind === 'verify-fail' || kind === 'build') && !c.interruption && !c.hung && !c.spec?.fault && c.problems.length === 0) {
    durations[kind].push(c.durationMs);
  }
  stats.problems += c.problems.length;
}

function printChild(c: ChildRun): void {
  const events = [
    ...(c.interruption ? [`${c.interruption.signal} at ${secs(c.interruption.atMs)}`] : c.spec?.signal ? [`(${c.spec.signal} planned, it ended first)`] : []),
    ...(c.fault ? [c.fault] : []),
  ];
  const said = c.exitCode === 2 && !c.interruption ? `: ${clip(lastHarnessLine(c) ?? '(no sentence)')}` : '';
  console.log(`  #${c.n} ${c.kind}${events.length ? `: ${events.join(', ')}` : ''} -> ${ended(c)} in ${secs(c.durationMs)}${said}`);
  for (const n of c.notes) console.log(`      ${n}`);
  for (const p of c.problems) console.log(`    ! ${p}`);
}

// ---------------------------------------------------------------------------------------------
// Rounds
// ---------------------------------------------------------------------------------------------

function startRun(spec: RunSpec, native: string): Promise<ChildRun> {
  const o: ChildOptions = {};
  if (spec.signal) {
    o.signal = spec.signal;
    o.signalAfterMs = Math.round((spec.at ?? 0) * typical(spec.kind));
  }
  if (spec.fault === 'registry-kill') {
    let scheduled = false;
    o.onStderr = (c, running) => {
      const m = /registry (\S+) is up/.exec(c.stderr);
      if (!m || scheduled) return;
      scheduled = true;
      const upAt = Date.now() - c.startedAt;
      const delay = Math.round((spec.faultAt ?? 0) * Math.max(500, typical('build') - upAt));
      c.pending.push(whileRunning(c, running, delay).then(async (still) => {
        if (!still || c.pid === undefined) return;
        const id = await registryOf(c.pid);
        if (!id || !running()) return;
        const k = await $({ nothrow: true, quiet: true, timeout: 60_000 })`docker kill ${id}`;
        if (k.exitCode === 0) {
          c.faultInjected = true;
          c.fault = `its registry ${m[1]} (${id.slice(0, 12)}) killed at ${secs(Date.now() - c.startedAt)}`;
        }
      }));
    };
  }
  if (spec.fault === 'engine-restart') {
    o.onStart = (c, running) => {
      const delay = Math.round((spec.faultAt ?? 0) * typical(spec.kind));
      c.pending.push(whileRunning(c, running, delay).then(async (still) => {
        if (!still) return;
        const at = Date.now() - c.startedAt;
        const what = await restartEngine();
        c.faultInjected = !what.startsWith('not restarted');
        c.fault = `engine restarted at ${secs(at)} (${what})`;
      }));
    };
  }
  // With a fault, any ending is right as long as it is one sentence or a pass; the run is judged for hangs and output.
  const expect = spec.fault ? [0, 1, 2] : EXPECT[spec.kind];
  return runChild(spec.kind, ARGS[spec.kind](native), expect, o, spec);
}

async function fakeRegistryRound(statuses: readonly number[], native: string): Promise<ChildRun[]> {
  const fake = await startFakeRegistry(statuses);
  const args = ['verify', `${fake.address}/library/alpine:latest`, '--platforms', native, '--expect-uname', '--command', 'uname', '--command=-m'];
  try {
    // While it answers 500 and 429: one sentence and exit 2 (1 would do), never a hang.
    const faulty = await runChild('registry-faulty', args, [2, 1]);
    faulty.faultInjected = fake.served.length > 0;
    faulty.fault = `registry ${fake.address} answered ${fake.served.join(', ') || 'nothing'} (of ${statuses.join(', ')})`;
    // Recovered: the mirror's answers passed on, and the same verify passes.
    fake.recover();
    const before = fake.proxied();
    const recovered = await runChild('registry-recovered', args, [0]);
    recovered.fault = `registry ${fake.address} passed ${fake.proxied() - before} request(s) on to the mirror`;
    return [faulty, recovered];
  } finally {
    await fake.close();
  }
}

// Leak bookkeeping: when each new thing was first seen, and whether it survived the round after it.
const firstSeen = new Map<string, { item: Item; round: number }>();
const survivedNext = new Set<string>();
/** Labelled things a SIGKILLed run left, to be swept by the next run that runs to its end. */
let awaitingSweep: { round: number; keys: string[] } | undefined;

function printDiff(before: Snapshot, after: Snapshot): void {
  const d = diffSnapshots(before, after);
  const lines = [...d.added.map((i) => describeItem('+', i)), ...d.removed.map((i) => describeItem('-', i))];
  if (d.skipped.length) console.log(`  not compared (could not be read): ${d.skipped.join(', ')}`);
  if (lines.length === 0) { console.log('  engine state: as before the round'); return; }
  console.log(`  engine state: ${d.added.length} added, ${d.removed.length} removed`);
  for (const l of lines.slice(0, 25)) console.log(`    ${l}`);
  if (lines.length > 25) console.log(`    ... and ${lines.length - 25} more`);
}

function bookkeep(round: number, children: ChildRun[], baseline: Snapshot, before: Snapshot, after: Snapshot): void {
  const d = diffSnapshots(before, after);
  for (const [key, seen] of firstSeen) {
    if (seen.round === round - 1 && after.items.has(key)) survivedNext.add(key);
  }
  for (const i of d.added) if (!baseline.items.has(i.key) && !firstSeen.has(i.key)) firstSeen.set(i.key, { item: i, round });
  // What a SIGKILLed run left (labelled with its pid) must be gone after the next run that ran to its end.
  const completed = children.some((c) => !c.interruption && !c.hung);
  if (awaitingSweep && completed) {
    const still = awaitingSweep.keys.filter((k) => after.items.has(k));
    if (still.length) {
      console.log(`  ! ${still.length} thing(s) the SIGKILLed run of round ${awaitingSweep.round} left were not swept by this round's runs:`);
      for (const k of still) console.log(`      ${describeItem(' ', after.items.get(k)!)}`);
      stats.problems++;
    } else {
      console.log(`  what the SIGKILLed run of round ${awaitingSweep.round} left (${awaitingSweep.keys.length} thing(s)) was swept by this round`);
    }
    awaitingSweep = undefined;
  }
  const killed = new Set(children.filter((c) => c.interruption?.signal === 'SIGKILL' || c.signal === 'SIGKILL').map((c) => c.pid));
  if (killed.size) {
    // Labelled with its pid (containers, its session record), and what its record lists (images, builders).
    const items = [...after.items.values()];
    const keys = new Set<string>();
    for (const i of items.filter((x) => x.pid !== undefined && killed.has(x.pid))) {
      keys.add(i.key);
      for (const ref of i.refs ?? []) for (const j of items) if (j.name && (j.name === ref || j.name.startsWith(`${ref}@`))) keys.add(j.key);
    }
    const left = [...keys];
    const carried = awaitingSweep?.keys ?? [];
    if (left.length || carried.length) awaitingSweep = { round: awaitingSweep?.round ?? round, keys: [...carried, ...left] };
  }
}

async function runRound(index: number, round: Round, native: string): Promise<ChildRun[]> {
  if (round.type === 'fake-registry') {
    console.log(`round ${index}: a registry answering ${round.statuses.join(', ')}, then recovering`);
    return fakeRegistryRound(round.statuses, native);
  }
  const parallel = round.runs.length > 1;
  if (parallel) stats.parallelRounds++;
  const fault = round.runs.find((r) => r.fault)?.fault;
  console.log(`round ${index}${parallel ? `: ${round.runs.length} runs at once` : ''}${fault ? `: ${fault === 'registry-kill' ? 'the run\'s registry killed mid-run' : 'the engine restarted mid-run'}` : ''}`);
  return Promise.all(round.runs.map((spec) => startRun(spec, native)));
}

/** A round for what is still missing after the plan (a run that ended before its signal, a fault that found nothing to kill). */
function topUp(extraRuns: number): Round | undefined {
  if (extraRuns + 2 > Math.ceil(RUNS / 4)) return undefined;
  if (stats.faults < TARGET_FAULTS) return rng() < 0.5 ? { type: 'fake-registry', statuses: faultStatuses() } : { type: 'runs', runs: [{ kind: 'build', fault: 'registry-kill', faultAt: rng() * 0.5 }] };
  if (interrupted() < TARGET.interrupted) {
    const signal = [...SIGNALS].sort((a, b) => stats.signals[a] - stats.signals[b])[0]!;
    return { type: 'runs', runs: [{ kind: pick(['verify-ok', 'build'] as const), signal, at: 0.1 + rng() * 0.6 }] };
  }
  if (stats.failing < TARGET.failing) return { type: 'runs', runs: [{ kind: 'verify-fail' }] };
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

let stopping = false;
for (const s of ['SIGINT', 'SIGTERM'] as const) {
  process.on(s, () => {
    if (stopping) process.exit(130);
    stopping = true;
    console.log(`soak: ${s}: stopping after this round, then the final sweep (${s} again stops at once)`);
  });
}

if (!(await engineAnswers(MAIN))) refuse('no Docker engine answers (docker info failed): run `bash setup/prepare-host.sh` as root first.');
if (!(await mirrorServesAlpine())) refuse(`the mirror on ${MIRROR} does not serve library/alpine:latest: run \`bash setup/prepare-host.sh\` first.`);
if (!existsSync(join(ROOT, FIXTURE))) refuse(`${FIXTURE} is missing.`);
if (ENGINE_RESTART) {
  const why = engineRestartRefusal();
  if (why) refuse(why);
}
const ver = await $({ nothrow: true, quiet: true, timeout: 30_000 })`docker version --format ${'{{.Server.Os}}/{{.Server.Arch}}'}`;
const native = ver.stdout.trim();
if (ver.exitCode !== 0 || !/^\w+\/\w+$/.test(native)) refuse('`docker version` did not say the engine\'s platform.');
const classicUp = await engineAnswers(CLASSIC, 10_000);
if (classicUp) targets.push(CLASSIC);
logsDir = opts.logs ?? mkdtempSync(join(tmpdir(), 'multiarch-soak-'));
mkdirSync(logsDir, { recursive: true });

const rounds = plan();
const plannedRuns = rounds.reduce((n, r) => n + (r.type === 'runs' ? r.runs.length : 2), 0);
console.log(`soak: seed ${SEED} (again: --seed ${SEED}${SHORT ? ' --short' : ` --runs ${RUNS}`}), ${SHORT ? 'short form' : 'long form'}, engine ${native}`);
console.log(`soak: ${rounds.length} rounds, ${plannedRuns} runs planned: ${TARGET.interrupted} to interrupt, ${TARGET.failing} failing, ${TARGET_FAULTS} faults (${TARGET.registryKills} registry killed, ${TARGET.fakeRegistries} registry answering 500/429, ${TARGET.engineRestarts} engine restarts)`);
console.log(`soak: compared: ${targets.map((t) => `${t.name} (${t.host ?? 'DOCKER_HOST or the default socket'})`).join(', ')}${classicUp ? '' : `; the second engine (${CLASSIC_HOST}) does not answer, not compared`}; session records in ${join(HARNESS_STATE, 'sessions')}`);
console.log(`soak: each child's output in ${logsDir}; a child still running after ${secs(CHILD_TIMEOUT_MS)} is a hang`);

const started = Date.now();
const baseline = await snapshot();
if (baseline.unreadable.size) refuse(`could not read ${[...baseline.unreadable].join(', ')} before the suite.`);
const labelledBefore = [...baseline.items.values()].filter((i) => i.run).length;
if (labelledBefore) console.log(`soak: ${labelledBefore} thing(s) carry the harness's run label before the suite (a killed earlier run?): the first run may sweep them, and they show as removed`);

let previous = baseline;
let extraRuns = 0;
for (let i = 0; !stopping && !engineLost; i++) {
  let round = rounds[i];
  if (!round) {
    round = topUp(extraRuns);
    if (!round) break;
    extraRuns += round.type === 'runs' ? round.runs.length : 2;
    rounds.push(round);
    console.log('(added: what the plan did not reach)');
  }
  const children = await runRound(i + 1, round, native);
  for (const c of children) { count(c); printChild(c); }
  if (engineLost) break;
  const after = await snapshot();
  printDiff(previous, after);
  bookkeep(i + 1, children, baseline, previous, after);
  previous = after;
}

if (engineLost) {
  console.log('soak: the engine did not come back after its restart; stopping (start it with `bash setup/prepare-host.sh`)');
} else {
  // The sweeping run: it sweeps what killed sessions left, then stops at the missing tag, pulling nothing.
  console.log('final sweep: a verify of a tag the mirror does not have (it sweeps, then says so)');
  const sweep = await runChild('sweep', ['verify', `${MIRROR}/library/alpine:soak-sweep-${SEED}`, '--platforms', native], [2]);
  printChild(sweep);
  if (sweep.hung) stats.hangs++;
  stats.problems += sweep.problems.length;
}

// Leaks: what is there now and was not before, that nothing explains.
let leaks = 0;
let unknown = false;
if (!engineLost) {
  const final = await snapshot();
  const d = diffSnapshots(baseline, final);
  if (d.skipped.length) {
    unknown = true;
    console.log(`soak: could not read ${d.skipped.join(', ')} at the end: leaks there are not known`);
  }
  const baseIds = new Set([...baseline.items.values()].filter((i) => i.kind === 'image').map((i) => `${i.engine} ${i.id}`));
  const registryImage = REGISTRY_IMAGE.replace(/^docker\.io\/(library\/)?/, '');
  const leaked: Item[] = [];
  for (const i of d.added) {
    if (i.kind === 'image' && baseIds.has(`${i.engine} ${i.id}`)) {
      console.log(`  not a leak (the image existed before the suite, now also named so): ${describeItem('+', i)}`);
    } else if (i.kind === 'image' && (i.name ?? '').replace(/^docker\.io\/(library\/)?/, '').split('@')[0] === registryImage) {
      console.log(`  not a leak (the registry image testcontainers pulls, kept as any pulled base image): ${describeItem('+', i)}`);
    } else {
      leaked.push(i);
    }
  }
  leaks = leaked.length;
  if (leaked.length) {
    console.log(`soak: ${leaked.length} leak(s): there after the final sweep, not before the suite`);
    for (const i of leaked) {
      const seen = firstSeen.get(i.key);
      console.log(`    ${describeItem('+', i)}${seen ? ` (first seen after round ${seen.round})` : ' (first seen at the end)'}`);
    }
  }
  const healed = [...survivedNext].filter((k) => !final.items.has(k));
  if (healed.length) {
    console.log(`soak: ${healed.length} thing(s) survived the run after the one that left them, and were removed later by another run (not counted as leaks):`);
    for (const k of healed) console.log(`    ${describeItem(' ', firstSeen.get(k)!.item)} (left in round ${firstSeen.get(k)!.round})`);
  }
  if (d.removed.length) {
    console.log(`soak: ${d.removed.length} thing(s) that existed before the suite are gone (a run removed what it did not create, or another user of the engine did):`);
    for (const i of d.removed.slice(0, 25)) console.log(`    ${describeItem('-', i)}`);
  }
}

const met = stats.runs >= TARGET.runs && interrupted() >= TARGET.interrupted && stats.failing >= TARGET.failing && stats.faults >= TARGET_FAULTS;
const doneWhen = stats.runs >= 50 && interrupted() >= 15 && stats.failing >= 10 && stats.faults >= 5 && leaks === 0 && !unknown;
console.log(`soak: seed ${SEED}, ${secs(Date.now() - started)}, ${stats.parallelRounds} parallel round(s), ${stats.problems} problem(s) printed above, ${stackTraces} stack trace(s); plan ${met ? 'reached' : 'NOT reached'} (${TARGET.runs} runs, ${TARGET.interrupted} interrupted, ${TARGET.failing} failing, ${TARGET_FAULTS} faults)${SHORT ? '' : `; issue 11's done-when (50 runs, 15 interrupted, 10 failing, 5 faults, 0 leaks): ${doneWhen ? 'met' : 'not met'}`}`);
console.log(`soak: ${stats.runs} runs, ${interrupted()} interrupted (${stats.signals.SIGINT} SIGINT, ${stats.signals.SIGTERM} SIGTERM, ${stats.signals.SIGKILL} SIGKILL), ${stats.failing} failing, ${stats.faults} faults, ${stats.hangs} hangs, ${leaks} leaks`);
process.exitCode = leaks > 0 || stats.hangs > 0 || stackTraces > 0 || unknown || engineLost || (STRICT && stats.problems > 0) ? 1 : 0;
