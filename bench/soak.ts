/**
 * Soak and fault suite (issue 11, item 4; strict since issue 24). Many harness runs against the real
 * engine: `verify` of the mirror's alpine (8 platforms, passes), a failing verify (one platform,
 * `--expect-output nope`, exit 1) and a small build (test/e2e/fixtures/echo-platform.ts for the
 * native platform); some of them interrupted with SIGINT, SIGTERM or SIGKILL at a random moment,
 * some rounds running 2-3 at once, and faults: the run's own registry killed with `docker kill`
 * mid-run, a registry on 127.0.0.1 answering 500 and 429 for a while (then passing requests on to
 * the mirror), and, only with --engine-restart, the engine restarted mid-run. Every round compares
 * everything on the engine (containers, networks, volumes, images, buildx builders; the second
 * engine too, and the harness's session records) with the state before it and prints what differs.
 * One line at the end:
 *
 *   soak: 50 runs, 16 interrupted (5 SIGINT, 6 SIGTERM, 5 SIGKILL), 11 failing, 6 faults, 0 hangs, 0 leaks, 0 problems
 *
 *   node bin/run-ts.mjs bench/soak.ts --short          CI: 12 runs, a few minutes on 2 cores
 *   node bin/run-ts.mjs bench/soak.ts [--runs 50]      the long form: 50 runs, >= 15 interrupted, 10 failing, 5 faults
 *       [--seed S]            the plan (kinds, signals, moments, faults, parallel rounds) follows from it; printed
 *       [--timeout SECONDS]   a child still running after this is a hang (default 300): SIGTERM, SIGKILL 30 s later
 *       [--engine-restart]    also restart dockerd mid-run (see the risk below); never by default
 *       [--lenient]           for exploring: exit 1 only on a leak, a hang or a stack trace (strict is the default;
 *                             --strict is accepted and changes nothing)
 *       [--logs DIR]          every child's command line, exit and output (default: a new folder in the temp dir)
 *
 * Exit codes: 1 on any problem printed (strict, the default and CI's form): a run that did not end
 * as expected (exit code, or exit after a signal), a stack trace, a hang, docker processes a run
 * left running, what a SIGKILLed run left and the next run did not sweep, the plan not reached, a
 * leak, an end state that could not be read, the engine lost; the last line counts them. 2 when the
 * host is not ready. With --lenient, 1 only on a leak, a hang, a stack trace, an unread end state or
 * the engine lost.
 *
 * Every run expects exactly one ending (bench/support/soak-judge.ts, from the harness's exit codes:
 * 0 passed, 1 a check failed, 2 could not run, 130/143 after SIGINT/SIGTERM), decided from what was
 * done to it, read from its progress lines on stderr while it is stopped for a moment (SIGSTOP, the
 * fault or signal, SIGCONT), so that it cannot move on between the reading and the act:
 *   - nothing done: verify-ok 0, verify-fail 1, build 0;
 *   - SIGKILL: killed by it. SIGINT/SIGTERM: exit 130/143 after one "cleaning up" line. They are
 *     sent only once the harness has printed a line (its handlers are installed before its first
 *     line; before them Node's own handler kills it with the signal, and which of the two happened
 *     cannot be known from outside) and never once it is finishing (its matrix printed, or its one
 *     sentence said): a moment before the first line waits for it, one after the end is not used;
 *   - its registry killed: before any platform reached its run ("running <platform>"), the build
 *     still had to push to it or read what it pushed: 2, the harness could not run. After the
 *     verdicts ("PASS <platform> ..."): the run no longer needed it: the kind's code (0). In
 *     between (pulls and reads in flight, unknowable from outside) it is not killed: the kill waits
 *     for the verdicts. The plan alternates the two (the short form: one kill, while needed);
 *   - the engine restarted: before the verdicts, 2; after them, the kind's code;
 *   - the registry answering 500/429 ('registry-faulty'): 2 when it passed no request on to the
 *     mirror during the run (the harness gave up before it recovered), 0 when it did;
 *     'registry-recovered', the same verify once it passes everything on: 0;
 *   - the final sweep (a verify of a tag the mirror does not have): 2.
 * Exit 1 is never expected of a fault of the registry or the engine: that would blame the image.
 *
 * To see it fail on purpose, without editing code: MULTIARCH_SOAK_BREAK=exit-codes expects a wrong
 * exit code of the final sweep (0 instead of 2), which is then one problem, and the soak exits 1
 * (`MULTIARCH_SOAK_BREAK=exit-codes bash .ci/run` turns CI red). Any other value is refused.
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
import { PID_LABEL } from '../harness/session/session.ts';
import {
  describeItem,
  diffSnapshots,
  engineAnswers,
  takeSnapshot,
  type EngineTarget,
  type Item,
  type Snapshot,
} from './support/engine-snapshot.ts';
import {
  brokenOnPurpose,
  clip,
  describeEnding,
  describeExpectation,
  engineRestartExpectation,
  fakeRegistryExpectation,
  hasSpoken,
  isEnding,
  judgeEnding,
  normal,
  oneSentenceProblem,
  parseBreak,
  REGISTRY_UP,
  registryKillExpectation,
  runPhase,
  signalExpectation,
  signalOutputProblems,
  stackTraceIn,
  suiteExitCode,
  summaryLine,
  type Break,
  type Expectation,
  type Kind,
  type Sig,
} from './support/soak-judge.ts';

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
/** The harness's state folder (its session records in sessions/), as harness/base/state-dir.ts decides it. */
const HARNESS_STATE =
  process.env.MULTIARCH_STATE_DIR ??
  (process.getuid?.() === 0 ? '/var/lib/multiarch-harness' : join(homedir(), '.cache', 'multiarch-harness'));
const CLASSIC_HOST = process.env.MULTIARCH_HARNESS_CLASSIC_HOST || 'unix:///run/multiarch-harness/classic-engine.sock';

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

const USAGE =
  'usage: node bin/run-ts.mjs bench/soak.ts [--short | --runs N] [--seed S] [--timeout SECONDS] [--engine-restart] [--lenient] [--logs DIR]';

function refuse(sentence: string): never {
  console.error(`soak: ${sentence}`);
  process.exit(2);
}

function parseOptions() {
  try {
    return parseArgs({
      options: {
        short: { type: 'boolean' },
        runs: { type: 'string' },
        seed: { type: 'string' },
        timeout: { type: 'string' },
        'engine-restart': { type: 'boolean' },
        strict: { type: 'boolean' },
        lenient: { type: 'boolean' },
        logs: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
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
if (opts.strict && opts.lenient) refuse('--strict and --lenient contradict each other (strict is the default).');
/** For exploring only: exit 1 on leaks, hangs and stack traces alone. CI runs the default, strict. */
const LENIENT = Boolean(opts.lenient);
let BREAK: Break | undefined;
try {
  BREAK = parseBreak(process.env.MULTIARCH_SOAK_BREAK);
} catch (err) {
  refuse((err as Error).message);
}

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

type Fault = 'registry-kill' | 'engine-restart';
/** When the run's registry is killed: while the run still needs it, or once it no longer does (after the verdicts). */
type FaultWhen = 'while-needed' | 'after-use';
const SIGNALS: readonly Sig[] = ['SIGINT', 'SIGTERM', 'SIGKILL'];

interface RunSpec {
  kind: Kind;
  /** Sent at `at` x the kind's typical duration (uniform in [0, 1)). */
  signal?: Sig;
  at?: number;
  fault?: Fault;
  /** When the fault is injected, as a fraction of a typical run (an engine restart) or of a typical build phase (a registry killed while needed). */
  faultAt?: number;
  faultWhen?: FaultWhen;
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
  // Both moments whose exit is known: while needed first (the short form's only one), then after use, in turn.
  for (let i = 0; i < TARGET.registryKills; i++)
    pool.push({ kind: 'build', fault: 'registry-kill', faultWhen: i % 2 === 0 ? 'while-needed' : 'after-use', faultAt: rng() });
  for (let i = 0; i < TARGET.engineRestarts; i++)
    pool.push({ kind: pick(['verify-ok', 'build'] as const), fault: 'engine-restart', faultAt: rng() });
  for (let i = 0; i < TARGET.fakeRegistries; i++) pool.push('fake');
  for (let i = 1; i < TARGET.failing; i++) pool.push({ kind: 'verify-fail' });
  const signals = shuffle(Array.from({ length: TARGET.interrupted }, (_, i) => SIGNALS[i % 3]!));
  for (const signal of signals)
    pool.push({ kind: pick(['verify-ok', 'verify-ok', 'build', 'build', 'verify-fail'] as const), signal, at: rng() });
  const planned = 3 + TARGET.registryKills + TARGET.engineRestarts + 2 * TARGET.fakeRegistries + (TARGET.failing - 1) + TARGET.interrupted;
  for (let i = planned; i < RUNS; i++) pool.push({ kind: pick(['verify-ok', 'verify-ok', 'build'] as const) });
  shuffle(pool);
  for (let i = 0; i < pool.length;) {
    const x = pool[i++]!;
    if (x === 'fake') {
      rounds.push({ type: 'fake-registry', statuses: faultStatuses() });
      continue;
    }
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

interface Proc {
  pid: number;
  start: string;
  cmd: string;
}

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
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
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

/** A process's state letter (R, S, D, T stopped, Z exited and not yet reaped), undefined when it is gone. */
function procState(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

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
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.map((n) => {
    let rec: { id?: string; pid?: number; resources?: Array<{ ref?: string; name?: string }> } = {};
    try {
      rec = JSON.parse(readFileSync(join(dir, n), 'utf8')) as typeof rec;
    } catch {
      /* being written or removed */
    }
    return {
      key: `state record ${n}`,
      engine: 'state',
      kind: 'record',
      id: n,
      name: n,
      what: `${join(dir, n)} (run ${rec.id ?? '?'}, pid ${rec.pid ?? '?'}, ${rec.resources?.length ?? 0} resource(s))`,
      ...(rec.id ? { run: rec.id } : {}),
      ...(Number.isInteger(rec.pid) ? { pid: rec.pid! } : {}),
      refs: (rec.resources ?? []).map((r) => r.ref ?? r.name ?? '').filter(Boolean),
    } satisfies Item;
  });
}

/** The harness's scratch folders (scratch-folders.ts: mah-<kind>-<pid namespace>-<pid>-XXXXXX in the temporary folder): one left after the final sweep is a leak too. */
function scratchFolders(): Item[] {
  let names: string[];
  try {
    names = readdirSync(tmpdir()).filter((n) => /^mah-(verify|network|build|steps|scenario)-\d+-\d+-[A-Za-z0-9]{6}$/.test(n));
  } catch {
    return [];
  }
  return names.map(
    (n) =>
      ({
        key: `state scratch ${n}`,
        engine: 'state',
        kind: 'scratch',
        id: n,
        name: n,
        what: join(tmpdir(), n),
        pid: Number(n.split('-')[3]),
      }) satisfies Item,
  );
}

const snapshot = () => takeSnapshot(targets, () => [...sessionRecords(), ...scratchFolders()]);

async function mirrorServesAlpine(): Promise<boolean> {
  try {
    const res = await fetch(`http://${MIRROR}/v2/library/alpine/manifests/latest`, {
      method: 'HEAD',
      signal: AbortSignal.timeout(5000),
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
  if (!changes.split('\n').includes('dockerd-started'))
    return `--engine-restart only restarts an engine that setup/prepare-host.sh started (${join(HOST_STATE, 'changes')} does not say so); restart this one yourself.`;
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
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(pid, s);
    } catch {
      /* gone already */
    }
  };
  const stopped = async () => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'dockerd';
    } catch {
      return true;
    }
  };
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
  const r = await $({
    nothrow: true,
    quiet: true,
    timeout: 30_000,
  })`docker ps --no-trunc --filter ${`label=${PID_LABEL}=${pid}`} --filter status=running --format ${'{{.ID}}\t{{.Image}}'}`;
  if (r.exitCode !== 0) return undefined;
  const image = REGISTRY_IMAGE.replace(/^docker\.io\/(library\/)?/, '');
  return r.stdout
    .split('\n')
    .map((l) => l.split('\t'))
    .find(([, img]) => img !== undefined && img.replace(/^docker\.io\/(library\/)?/, '') === image)?.[0];
}

// ---------------------------------------------------------------------------------------------
// The fake registry: 500 and 429 for its first requests, then the mirror's answers passed on
// ---------------------------------------------------------------------------------------------

interface FakeRegistry {
  address: string;
  served: number[];
  proxied: () => number;
  recover(): void;
  close(): Promise<void>;
}

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
      res.writeHead(status, {
        'Content-Type': 'application/json',
        'Docker-Distribution-Api-Version': 'registry/2.0',
        ...(status === 429 ? { 'Retry-After': '1' } : {}),
      });
      res.end(JSON.stringify({ errors: [{ code, message: status === 429 ? 'too many requests' : 'internal server error' }] }));
      return;
    }
    proxied++;
    const up = http.request(
      { host: '127.0.0.1', port: MIRROR_PORT, method: req.method, path: req.url, headers: { ...req.headers, host: MIRROR } },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    served,
    proxied: () => proxied,
    recover: () => {
      recovered = true;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
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
  /** The one ending that is right, given what was done to it (bench/support/soak-judge.ts). */
  expect: Expectation;
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
  /** When (ms after its start) its registry was up and its first platform reached its run: a build phase's length. */
  upAtMs?: number;
  verifyAtMs?: number;
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

interface ChildOptions {
  signal?: Sig;
  signalAfterMs?: number;
  /** Called as it starts, with a function that says whether it still runs. */
  onStart?: (c: ChildRun, running: () => boolean) => void;
  onStderr?: (c: ChildRun, running: () => boolean) => void;
  /** The expectation once it has ended, from what happened meanwhile (the fake registry's answers). */
  expectAtEnd?: (c: ChildRun) => Expectation;
}

async function runChild(kind: ChildKind, args: string[], expect: Expectation, o: ChildOptions = {}, spec?: RunSpec): Promise<ChildRun> {
  const c: ChildRun = {
    n: ++childCount,
    kind,
    args,
    expect,
    ...(spec ? { spec } : {}),
    startedAt: Date.now(),
    durationMs: 0,
    stdout: '',
    stderr: '',
    hung: false,
    faultInjected: false,
    watched: [],
    outliving: [],
    pending: [],
    exited: Promise.resolve(),
    problems: [],
    notes: [],
  };
  const sub = execa('node', [CLI, ...args], {
    cwd: ROOT,
    reject: false,
    buffer: false,
    stdin: 'ignore',
    forceKillAfterDelay: false,
    env: { GITHUB_STEP_SUMMARY: '' },
  });
  c.pid = sub.pid;
  let running = sub.pid !== undefined;
  const isRunning = () => running;
  c.exited = new Promise((resolve) =>
    sub.once('exit', () => {
      running = false;
      c.durationMs = Date.now() - c.startedAt;
      c.outliving = c.watched.filter(alive);
      resolve();
    }),
  );
  const send = (signal: Sig): boolean => {
    if (!running || sub.pid === undefined) return false;
    const seen = new Set(c.watched.map((p) => p.pid));
    c.watched.push(...descendants(sub.pid).filter((p) => !seen.has(p.pid)));
    return sub.kill(signal);
  };
  // The planned signal, sent while it stands still (so a run that has just exited is never counted as
  // interrupted): SIGKILL at its moment; SIGINT and SIGTERM once the harness has spoken, never once it is finishing.
  let held = false;
  const interrupt = () => {
    const signal = o.signal;
    if (!held || !signal) return;
    if (signal !== 'SIGKILL' && !hasSpoken(c.stderr)) return; // the next stderr chunk tries again
    held = false;
    c.pending.push(
      whileStopped(c, isRunning, () => {
        if (signal !== 'SIGKILL' && isEnding(c.stdout, c.stderr)) {
          c.notes.push(
            `${signal} not sent at ${secs(Date.now() - c.startedAt)}: the harness was finishing (its result or its sentence printed)`,
          );
          return;
        }
        const offset = c.stderr.length;
        const atMs = Date.now() - c.startedAt;
        if (send(signal)) {
          c.interruption = { signal, atMs, stderrOffset: offset };
          c.expect = signalExpectation(signal);
        }
      }),
    );
  };
  sub.stdout?.on('data', (d: Buffer) => {
    c.stdout += d.toString('utf8');
  });
  sub.stderr?.on('data', (d: Buffer) => {
    c.stderr += d.toString('utf8');
    const at = Date.now() - c.startedAt;
    if (c.upAtMs === undefined && REGISTRY_UP.test(c.stderr)) c.upAtMs = at;
    if (c.verifyAtMs === undefined && runPhase(c.stderr) !== 'before-verify') c.verifyAtMs = at;
    interrupt();
    o.onStderr?.(c, isRunning);
  });
  const timers: NodeJS.Timeout[] = [];
  if (o.signal) {
    timers.push(
      setTimeout(() => {
        held = true;
        if (o.signal !== 'SIGKILL' && !hasSpoken(c.stderr))
          c.notes.push(`${o.signal} due at ${secs(Date.now() - c.startedAt)}, before the harness's first line: held until it`);
        interrupt();
      }, o.signalAfterMs ?? 0),
    );
  }
  timers.push(
    setTimeout(() => {
      c.hung = true;
      send('SIGTERM');
      timers.push(setTimeout(() => send('SIGKILL'), 30_000));
    }, CHILD_TIMEOUT_MS),
  );
  o.onStart?.(c, isRunning);
  const r = await sub;
  for (const t of timers) clearTimeout(t);
  if (!c.durationMs) c.durationMs = Date.now() - c.startedAt;
  c.exitCode = r.exitCode;
  c.signal = r.signal;
  // What was started for it, including what those started in turn (a kill that waited for the verdicts).
  for (let done = 0; done < c.pending.length;) {
    const batch = c.pending.slice(done);
    done = c.pending.length;
    await Promise.all(batch);
  }
  if (o.expectAtEnd) c.expect = o.expectAtEnd(c);
  await waitForOutliving(c);
  judge(c);
  writeLog(c);
  return c;
}

/**
 * Runs act while the child is stopped (SIGSTOP ... SIGCONT), once what it wrote before has been read:
 * what act reads of its output is where the harness is, and it cannot move on until act is done.
 * Its docker processes and the engine go on meanwhile. Nothing is done when it has ended (a process
 * that exited is a zombie until reaped, state Z, not T), or did not stop within 2 s.
 */
async function whileStopped<T>(c: ChildRun, running: () => boolean, act: () => T | Promise<T>): Promise<T | undefined> {
  if (!running() || c.pid === undefined) return undefined;
  const pid = c.pid;
  try {
    process.kill(pid, 'SIGSTOP');
  } catch {
    return undefined;
  }
  stoppedChildren.add(pid);
  try {
    // Stopped, and what it wrote before read: nothing more for 30 ms (at least 50 ms).
    const t0 = Date.now();
    let seen = -1;
    let quietSince = Date.now();
    let stopped = false;
    while (Date.now() - t0 < 2000) {
      const now = c.stdout.length + c.stderr.length;
      if (now !== seen) {
        seen = now;
        quietSince = Date.now();
      }
      const state = procState(pid);
      if (state !== 'T' && state !== 't' && state !== 'D' && state !== 'R' && state !== 'S') break; // exited (Z, X, gone)
      stopped = state === 'T' || state === 't';
      if (stopped && Date.now() - t0 >= 50 && Date.now() - quietSince >= 30) break;
      await sleep(10);
    }
    if (!stopped || !running()) return undefined;
    return await act();
  } finally {
    stoppedChildren.delete(pid);
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      /* it has ended */
    }
  }
}

/** Children stopped this moment: continued whatever way this process exits (a second SIGINT exits at once). */
const stoppedChildren = new Set<number>();
process.on('exit', () => {
  for (const pid of stoppedChildren)
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      /* gone */
    }
});

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
  await Promise.race([
    new Promise((r) => {
      timer = setTimeout(r, ms);
    }),
    c.exited,
  ]);
  clearTimeout(timer);
  return running();
}

let stackTraces = 0;

function ended(c: ChildRun): string {
  return describeEnding({ ...(c.exitCode !== undefined ? { code: c.exitCode } : {}), ...(c.signal ? { signal: c.signal } : {}) });
}

function lastHarnessLine(c: ChildRun): string | undefined {
  return c.stderr.split('\n').findLast((l) => l.startsWith('multiarch-harness:'));
}

/** Whether the child's exit and output are the one expected, given what was done to it. */
function judge(c: ChildRun): void {
  const p = c.problems;
  const trace = stackTraceIn(`${c.stdout}\n${c.stderr}`);
  if (trace) {
    stackTraces++;
    p.push(`a stack trace in its output: ${trace}`);
  }
  if (stopping && (c.exitCode === 130 || c.exitCode === 143 || c.signal === 'SIGINT' || c.signal === 'SIGTERM')) {
    c.notes.push('stopped with the soak (it was signalled too)');
    return;
  }
  if (c.hung) {
    p.push(`still running after ${secs(CHILD_TIMEOUT_MS)}: a hang (stopped with SIGTERM${c.signal === 'SIGKILL' ? ', then SIGKILL' : ''})`);
    return;
  }
  const wrong = judgeEnding(c.expect, {
    ...(c.exitCode !== undefined ? { code: c.exitCode } : {}),
    ...(c.signal ? { signal: c.signal } : {}),
  });
  if (wrong) {
    const said = c.stderr
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1);
    p.push(`${wrong}${said ? ` (last line: ${clip(said)})` : ''}`);
  }
  const i = c.interruption;
  if (i && i.signal !== 'SIGKILL' && c.exitCode !== undefined) p.push(...signalOutputProblems(i.signal, c.stderr.slice(i.stderrOffset)));
  if (!i && c.exitCode === 2) {
    const one = oneSentenceProblem(c.stderr);
    if (one) p.push(one);
  }
}

function writeLog(c: ChildRun): void {
  const head = [
    `node bin/multiarch-harness.mjs ${c.args.join(' ')}`,
    `pid ${c.pid ?? '?'}, ${ended(c)} after ${secs(c.durationMs)}`,
    ...(c.interruption ? [`${c.interruption.signal} at ${secs(c.interruption.atMs)}`] : []),
    ...(c.fault ? [`fault: ${c.fault}`] : []),
    ...c.notes,
    ...c.problems.map((x) => `PROBLEM: ${x}`),
  ];
  try {
    writeFileSync(
      join(logsDir, `${String(c.n).padStart(3, '0')}-${c.kind}.log`),
      `${head.join('\n')}\n--- stdout\n${c.stdout}\n--- stderr\n${c.stderr}`,
    );
  } catch {
    /* the logs are a convenience */
  }
}

// ---------------------------------------------------------------------------------------------
// Counting
// ---------------------------------------------------------------------------------------------

const stats = {
  runs: 0,
  signals: { SIGINT: 0, SIGTERM: 0, SIGKILL: 0 } as Record<Sig, number>,
  failing: 0,
  faults: 0,
  hangs: 0,
  problems: 0,
  parallelRounds: 0,
};
const interrupted = () => stats.signals.SIGINT + stats.signals.SIGTERM + stats.signals.SIGKILL;
const durations: Record<Kind, number[]> = { 'verify-ok': [], 'verify-fail': [], build: [] };
/** Until measured: a guess of how long each kind takes on a 2-core machine with warm caches. */
const GUESS: Record<Kind, number> = { 'verify-ok': 8000, 'verify-fail': 4000, build: 12000 };

/** A build's phase from its registry up to its first platform's run (building and pushing), measured likewise. */
const buildPhases: number[] = [];
const GUESS_BUILD_PHASE = 6000;

const median = (xs: readonly number[], guess: number) => {
  const d = [...xs].sort((a, b) => a - b);
  return d.length ? d[Math.floor(d.length / 2)]! : guess;
};
const typical = (kind: Kind): number => median(durations[kind], GUESS[kind]);
const typicalBuildPhase = (): number => median(buildPhases, GUESS_BUILD_PHASE);

function count(c: ChildRun): void {
  stats.runs++;
  if (c.hung) stats.hangs++;
  if (c.interruption) stats.signals[c.interruption.signal]++;
  if (c.faultInjected) stats.faults++;
  if (c.kind === 'verify-fail' && !c.interruption && !c.hung && c.exitCode === 1) stats.failing++;
  const kind = c.kind;
  if (
    (kind === 'verify-ok' || kind === 'verify-fail' || kind === 'build') &&
    !c.interruption &&
    !c.hung &&
    !c.spec?.fault &&
    c.problems.length === 0
  ) {
    durations[kind].push(c.durationMs);
    if (kind === 'build' && c.upAtMs !== undefined && c.verifyAtMs !== undefined) buildPhases.push(c.verifyAtMs - c.upAtMs);
  }
  stats.problems += c.problems.length;
}

function printChild(c: ChildRun): void {
  const events = [
    ...(c.interruption
      ? [`${c.interruption.signal} at ${secs(c.interruption.atMs)}`]
      : c.spec?.signal
        ? [`(${c.spec.signal} planned, not sent)`]
        : []),
    ...(c.fault ? [c.fault] : []),
  ];
  const said = c.exitCode === 2 && !c.interruption ? `: ${clip(lastHarnessLine(c) ?? '(no sentence)')}` : '';
  console.log(`  #${c.n} ${c.kind}${events.length ? `: ${events.join(', ')}` : ''} -> ${ended(c)} in ${secs(c.durationMs)}${said}`);
  if (c.fault || c.interruption || c.kind === 'sweep') console.log(`      expected ${describeExpectation(c.expect)}: ${c.expect.why}`);
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
  if (spec.fault === 'registry-kill') o.onStderr = registryKiller(spec);
  if (spec.fault === 'engine-restart') {
    o.onStart = (c, running) => {
      const delay = Math.round((spec.faultAt ?? 0) * typical(spec.kind));
      c.pending.push(
        whileRunning(c, running, delay).then(async (still) => {
          if (!still) return;
          const at = Date.now() - c.startedAt;
          // dockerd gets its SIGTERM while the harness stands still: the phase read is the one the restart met.
          let restarting: Promise<string> | undefined;
          let phase: string | undefined;
          await whileStopped(c, running, () => {
            const p = runPhase(c.stderr);
            phase = p;
            c.expect = engineRestartExpectation(spec.kind, p);
            restarting = restartEngine();
          });
          if (!restarting) return;
          const what = await restarting;
          c.faultInjected = !what.startsWith('not restarted');
          if (!c.faultInjected) c.expect = normal(spec.kind);
          c.fault = `engine restarted at ${secs(at)}, ${phase === 'verdict' ? 'after the verdicts' : 'before the verdicts'} (${what})`;
        }),
      );
    };
  }
  return runChild(spec.kind, ARGS[spec.kind](native), normal(spec.kind), o, spec);
}

/**
 * Kills a build's own registry: while needed, some time into its build phase (faultAt of a typical
 * one, from "registry ... is up"); after use, as its verdicts come. Each while the harness is stopped,
 * at a phase whose exit is known (soak-judge.ts): a moment that finds it verifying waits for the verdicts.
 */
function registryKiller(spec: RunSpec): (c: ChildRun, running: () => boolean) => void {
  let state: 'waiting-up' | 'scheduled' | 'waiting-verdicts' | 'done' = 'waiting-up';
  let id: string | undefined;
  let address = '';
  const kill = (c: ChildRun, running: () => boolean) =>
    whileStopped(c, running, async () => {
      const phase = runPhase(c.stderr);
      const expect = registryKillExpectation('build', phase);
      if (!expect) return 'wait' as const;
      const at = Date.now() - c.startedAt;
      const k = await $({ nothrow: true, quiet: true, timeout: 60_000 })`docker kill ${id!}`;
      if (k.exitCode !== 0) {
        c.notes.push(`its registry ${address} was not killed at ${secs(at)}: ${clip(k.stderr.trim() || `docker kill exit ${k.exitCode}`)}`);
        return 'done' as const;
      }
      c.faultInjected = true;
      c.expect = expect;
      c.fault = `its registry ${address} (${id!.slice(0, 12)}) killed at ${secs(at)}, ${phase === 'verdict' ? 'after the verdicts (no longer needed)' : 'before any platform was verified (still needed)'}`;
      return 'done' as const;
    });
  const afterVerdicts = (c: ChildRun, running: () => boolean) => {
    if (state !== 'waiting-verdicts' || runPhase(c.stderr) !== 'verdict') return;
    state = 'done';
    c.pending.push(kill(c, running));
  };
  return (c, running) => {
    if (state === 'waiting-verdicts') {
      afterVerdicts(c, running);
      return;
    }
    if (state !== 'waiting-up') return;
    const m = REGISTRY_UP.exec(c.stderr);
    if (!m) return;
    state = 'scheduled';
    address = m[1]!;
    const upAt = Date.now();
    c.pending.push(
      (async () => {
        id = c.pid === undefined ? undefined : await registryOf(c.pid);
        if (!id) {
          state = 'done';
          if (running()) c.notes.push(`its registry ${address} was not found on the engine: not killed`);
          return;
        }
        if (spec.faultWhen === 'after-use') {
          state = 'waiting-verdicts';
          afterVerdicts(c, running);
          return;
        }
        const delay = Math.round((spec.faultAt ?? 0) * 0.9 * typicalBuildPhase()) - (Date.now() - upAt);
        if (!(await whileRunning(c, running, Math.max(0, delay)))) {
          state = 'done';
          return;
        }
        const outcome = await kill(c, running);
        if (outcome !== 'wait') {
          state = 'done';
          return;
        }
        c.notes.push(
          `the moment of its registry's kill (${secs(Date.now() - c.startedAt)}) found it verifying: killed after the verdicts instead`,
        );
        state = 'waiting-verdicts';
        afterVerdicts(c, running);
      })(),
    );
  };
}

async function fakeRegistryRound(statuses: readonly number[], native: string): Promise<ChildRun[]> {
  const fake = await startFakeRegistry(statuses);
  const args = [
    'verify',
    `${fake.address}/library/alpine:latest`,
    '--platforms',
    native,
    '--expect-uname',
    '--command',
    'uname',
    '--command=-m',
  ];
  try {
    // While it answers 500 and 429: its exit follows from whether any request got through (soak-judge.ts), never a hang.
    const faulty = await runChild('registry-faulty', args, normal('verify-ok'), {
      expectAtEnd: () => fakeRegistryExpectation(fake.served.length, fake.proxied()),
    });
    faulty.faultInjected = fake.served.length > 0;
    faulty.fault = `registry ${fake.address} answered ${fake.served.join(', ') || 'nothing'} (of ${statuses.join(', ')}) and passed ${fake.proxied()} request(s) on`;
    // Recovered: the mirror's answers passed on, and the same verify passes.
    fake.recover();
    const before = fake.proxied();
    const recovered = await runChild('registry-recovered', args, {
      code: 0,
      why: 'the registry passes every request on to the mirror: a plain passing verify',
    });
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
  if (lines.length === 0) {
    console.log('  engine state: as before the round');
    return;
  }
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
      console.log(
        `  ! ${still.length} thing(s) the SIGKILLed run of round ${awaitingSweep.round} left were not swept by this round's runs:`,
      );
      for (const k of still) console.log(`      ${describeItem(' ', after.items.get(k)!)}`);
      stats.problems++;
    } else {
      console.log(
        `  what the SIGKILLed run of round ${awaitingSweep.round} left (${awaitingSweep.keys.length} thing(s)) was swept by this round`,
      );
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
      for (const ref of i.refs ?? [])
        for (const j of items) if (j.name && (j.name === ref || j.name.startsWith(`${ref}@`))) keys.add(j.key);
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
  const when = round.runs.find((r) => r.fault)?.faultWhen;
  const faultSays =
    fault === 'registry-kill'
      ? `the run's registry killed ${when === 'after-use' ? 'once the run no longer needs it' : 'while the run needs it'}`
      : 'the engine restarted mid-run';
  console.log(`round ${index}${parallel ? `: ${round.runs.length} runs at once` : ''}${fault ? `: ${faultSays}` : ''}`);
  return Promise.all(round.runs.map((spec) => startRun(spec, native)));
}

/** A round for what is still missing after the plan (a run that ended before its signal, a fault that found nothing to kill). */
function topUp(extraRuns: number): Round | undefined {
  // Room for a few misses (a run that ended before its moment): at least 6 runs more, a quarter of the plan in the long form.
  if (extraRuns + 2 > Math.max(6, Math.ceil(RUNS / 4))) return undefined;
  if (stats.faults < TARGET_FAULTS)
    return rng() < 0.5
      ? { type: 'fake-registry', statuses: faultStatuses() }
      : { type: 'runs', runs: [{ kind: 'build', fault: 'registry-kill', faultWhen: 'while-needed', faultAt: rng() * 0.5 }] };
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
if (!(await mirrorServesAlpine()))
  refuse(`the mirror on ${MIRROR} does not serve library/alpine:latest: run \`bash setup/prepare-host.sh\` first.`);
if (!existsSync(join(ROOT, FIXTURE))) refuse(`${FIXTURE} is missing.`);
if (ENGINE_RESTART) {
  const why = engineRestartRefusal();
  if (why) refuse(why);
}
const ver = await $({ nothrow: true, quiet: true, timeout: 30_000 })`docker version --format ${'{{.Server.Os}}/{{.Server.Arch}}'}`;
const native = ver.stdout.trim();
if (ver.exitCode !== 0 || !/^\w+\/\w+$/.test(native)) refuse("`docker version` did not say the engine's platform.");
const classicUp = await engineAnswers(CLASSIC, 10_000);
if (classicUp) targets.push(CLASSIC);
logsDir = opts.logs ?? mkdtempSync(join(tmpdir(), 'multiarch-soak-'));
mkdirSync(logsDir, { recursive: true });

const rounds = plan();
const plannedRuns = rounds.reduce((n, r) => n + (r.type === 'runs' ? r.runs.length : 2), 0);
console.log(
  `soak: seed ${SEED} (again: --seed ${SEED}${SHORT ? ' --short' : ` --runs ${RUNS}`}), ${SHORT ? 'short form' : 'long form'}, engine ${native}`,
);
console.log(
  `soak: ${rounds.length} rounds, ${plannedRuns} runs planned: ${TARGET.interrupted} to interrupt, ${TARGET.failing} failing, ${TARGET_FAULTS} faults (${TARGET.registryKills} registry killed, ${TARGET.fakeRegistries} registry answering 500/429, ${TARGET.engineRestarts} engine restarts)`,
);
console.log(
  `soak: compared: ${targets.map((t) => `${t.name} (${t.host ?? 'DOCKER_HOST or the default socket'})`).join(', ')}${classicUp ? '' : `; the second engine (${CLASSIC_HOST}) does not answer, not compared`}; session records in ${join(HARNESS_STATE, 'sessions')}`,
);
console.log(`soak: each child's output in ${logsDir}; a child still running after ${secs(CHILD_TIMEOUT_MS)} is a hang`);
console.log(
  LENIENT
    ? 'soak: lenient: problems are printed, but only leaks, hangs and stack traces fail it'
    : 'soak: strict: every run expects one ending; any problem printed (exit codes, output, leftovers, the plan, leaks, hangs) fails it',
);
if (BREAK)
  console.log(`soak: MULTIARCH_SOAK_BREAK=${BREAK}: the final sweep's expected exit code is wrong on purpose; this soak must fail`);

const started = Date.now();
const baseline = await snapshot();
if (baseline.unreadable.size) refuse(`could not read ${[...baseline.unreadable].join(', ')} before the suite.`);
const labelledBefore = [...baseline.items.values()].filter((i) => i.run).length;
if (labelledBefore)
  console.log(
    `soak: ${labelledBefore} thing(s) carry the harness's run label before the suite (a killed earlier run?): the first run may sweep them, and they show as removed`,
  );

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
  for (const c of children) {
    count(c);
    printChild(c);
  }
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
  const right: Expectation = { code: 2, why: 'the mirror has no such tag: one sentence, nothing pulled' };
  const sweep = await runChild(
    'sweep',
    ['verify', `${MIRROR}/library/alpine:soak-sweep-${SEED}`, '--platforms', native],
    BREAK === 'exit-codes' ? brokenOnPurpose(right) : right,
  );
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
    console.log(
      `soak: ${healed.length} thing(s) survived the run after the one that left them, and were removed later by another run (not counted as leaks):`,
    );
    for (const k of healed) console.log(`    ${describeItem(' ', firstSeen.get(k)!.item)} (left in round ${firstSeen.get(k)!.round})`);
  }
  if (d.removed.length) {
    console.log(
      `soak: ${d.removed.length} thing(s) that existed before the suite are gone (a run removed what it did not create, or another user of the engine did):`,
    );
    for (const i of d.removed.slice(0, 25)) console.log(`    ${describeItem('-', i)}`);
  }
}

const met =
  stats.runs >= TARGET.runs && interrupted() >= TARGET.interrupted && stats.failing >= TARGET.failing && stats.faults >= TARGET_FAULTS;
const doneWhen = stats.runs >= 50 && interrupted() >= 15 && stats.failing >= 10 && stats.faults >= 5 && leaks === 0 && !unknown;
// Every problem of the suite itself, beside the runs' (counted as printed): each is one more.
const suiteProblems = [
  ...(met
    ? []
    : [
        `plan NOT reached: ${stats.runs}/${TARGET.runs} runs, ${interrupted()}/${TARGET.interrupted} interrupted, ${stats.failing}/${TARGET.failing} failing, ${stats.faults}/${TARGET_FAULTS} faults${stopping ? ' (stopped)' : ''}`,
      ]),
  ...(leaks ? [`${leaks} leak(s)`] : []),
  ...(unknown ? ['the end state could not be read: leaks unknown'] : []),
  ...(engineLost ? ['the engine was lost'] : []),
];
for (const p of suiteProblems) console.log(`soak: ! ${p}`);
const counts = {
  runs: stats.runs,
  signals: stats.signals,
  failing: stats.failing,
  faults: stats.faults,
  hangs: stats.hangs,
  leaks,
  stackTraces,
  problems: stats.problems + (met ? 0 : 1) + leaks + (unknown ? 1 : 0) + (engineLost ? 1 : 0),
  unknown,
  engineLost,
};
console.log(
  `soak: seed ${SEED}, ${secs(Date.now() - started)}, ${stats.parallelRounds} parallel round(s), ${counts.problems} problem(s) printed above, ${stackTraces} stack trace(s); plan ${met ? 'reached' : 'NOT reached'} (${TARGET.runs} runs, ${TARGET.interrupted} interrupted, ${TARGET.failing} failing, ${TARGET_FAULTS} faults)${SHORT ? '' : `; issue 11's done-when (50 runs, 15 interrupted, 10 failing, 5 faults, 0 leaks): ${doneWhen ? 'met' : 'not met'}`}`,
);
console.log(summaryLine(counts, LENIENT));
process.exitCode = suiteExitCode(counts, LENIENT);
