/**
 * A session: one harness invocation's identity and the resources it created on the engine.
 * Everything a session creates carries the label io.multiarch-harness.run=<id> (and the pid that
 * owns it), so cleanup finds it on success, failure or a signal, and the next session sweeps what a
 * killed one left behind. (The label keeps its historical name: reports and sweeps read it.)
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir, pidAlive, sweepScratchFolders } from '../base/index.ts';
import {
  Engine,
  engineRequestsInFlight,
  dockerCli,
  dockerCommandsInFlight,
  currentDockerHost,
  currentEngine,
  onEngine,
  type EngineEndpoint,
} from '../engine/index.ts';
import { claimImage, releaseImage } from './image-users.ts';
import { PhaseClock } from '../result/index.ts';

/**
 * The variables besides DOCKER_HOST that reach an engine over TLS (DOCKER_TLS_VERIFY and
 * DOCKER_CERT_PATH, as a docker context with TLS files or this process's environment gave them).
 */
export type EngineTls = Partial<Record<'DOCKER_TLS' | 'DOCKER_TLS_VERIFY' | 'DOCKER_CERT_PATH', string>>;

/**
 * What a session creates that cannot carry its label (images, buildx builders, local manifest
 * lists), written to its record before it is created, so the next session can remove it when this
 * one was killed before its own cleanup. `dockerHost`: the engine it was created on, when not the
 * default; `tls`: what else reaches that engine (a TLS node named by DOCKER_HOST alone is refused).
 */
export type Resource =
  | { kind: 'image'; ref: string; dockerHost?: string; tls?: EngineTls }
  | { kind: 'builder'; name: string; dockerHost?: string; tls?: EngineTls }
  | { kind: 'manifest-list'; ref: string }
  /** Another engine the session placed work on (--node): its labelled containers are removed too. */
  | { kind: 'engine'; dockerHost: string; tls?: EngineTls };

const TLS_VARIABLES = ['DOCKER_TLS', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH'] as const;

/** The TLS variables the current work's docker commands get (the placed engine's over this process's), the empty ones left out. */
function currentTls(engine: EngineEndpoint | undefined = currentEngine()): EngineTls | undefined {
  const seen: Record<string, string | undefined> = { ...process.env, ...engine?.env };
  const tls: EngineTls = {};
  for (const v of TLS_VARIABLES) if (seen[v]) tls[v] = seen[v];
  return Object.keys(tls).length ? tls : undefined;
}

/**
 * The engine a recorded resource lives on, as every command and request of its cleanup names it:
 * its DOCKER_HOST and its TLS variables (a context's certificates included), whatever the
 * environment of the process that cleans up says; undefined: the default engine.
 */
function engineOf(r: { dockerHost?: string; tls?: EngineTls }): EngineEndpoint | undefined {
  if (!r.dockerHost) return undefined;
  // A recorded engine without TLS variables is spoken to without them, even where this process sets them.
  const tls = Object.fromEntries(TLS_VARIABLES.map((v) => [v, r.tls?.[v] ?? '']));
  return { name: r.dockerHost, env: { DOCKER_HOST: r.dockerHost, ...tls } };
}

interface SessionRecord {
  id: string;
  pid: number;
  startedAt: string;
  resources: Resource[];
}

const recordsDir = () => join(stateDir(), 'sessions');

function debug(message: string): void {
  if (process.env.MULTIARCH_DEBUG) console.error(`[debug] ${message}`);
}

/** The label naming the session a resource belongs to. Its key keeps the old word: sweeps read what older versions labelled. */
export const SESSION_LABEL = 'io.multiarch-harness.run';
export const PID_LABEL = 'io.multiarch-harness.pid';

/** `--label k=v` arguments for docker commands, from `k=v` labels. */
export function labelArgs(labels: readonly string[]): string[] {
  return labels.flatMap((l) => ['--label', l]);
}

export class Session {
  readonly id = `mah-${randomBytes(4).toString('hex')}`;
  /** The run's time per phase: whatever this session's work does is timed here (result/phases.ts). */
  readonly phases = new PhaseClock();
  private readonly cleanups: Array<{ what: string; fn: () => Promise<unknown> }> = [];
  private readonly record: SessionRecord = { id: this.id, pid: process.pid, startedAt: new Date().toISOString(), resources: [] };
  private cleaned = false;

  get labels(): string[] {
    return [`${SESSION_LABEL}=${this.id}`, `${PID_LABEL}=${process.pid}`];
  }

  get labelRecord(): Record<string, string> {
    return Object.fromEntries(this.labels.map((l) => l.split('=') as [string, string]));
  }

  /** `--label k=v` arguments for docker commands. */
  labelArgs(): string[] {
    return labelArgs(this.labels);
  }

  /** Registers a cleanup step; steps run in reverse order. */
  defer(what: string, fn: () => Promise<unknown>): void {
    this.cleanups.push({ what, fn });
  }

  /**
   * Records a resource before it is created (synchronously: a SIGKILL right after still finds it on
   * disk); cleanup removes it, or the next session's sweep when this process died first.
   */
  track(resource: Resource): void {
    if (this.record.resources.some((r) => JSON.stringify(r) === JSON.stringify(resource))) return;
    this.record.resources.push(resource);
    writeRecord(this.record);
  }

  /**
   * An image this session pulls or builds into the engine's store, recorded before it does. At the
   * end it is removed, unless the engine had it before (`present`) or another live session still
   * uses it (image-users.ts): then the last user removes it.
   */
  trackImage(ref: string, options: { present?: boolean; dockerHost?: string } = {}): void {
    // The engine it lives on: the one named, else the one this process talks to.
    const dockerHost = options.dockerHost ?? currentDockerHost();
    claimImage(this.id, ref, dockerHost, Boolean(options.present));
    this.track({ kind: 'image', ref, ...this.reach(dockerHost, options.dockerHost === undefined) });
  }

  /** A buildx builder this session creates, removed at the end (`buildx rm --force`). */
  trackBuilder(name: string, dockerHost?: string): void {
    this.track({ kind: 'builder', name, ...this.reach(dockerHost ?? currentDockerHost(), dockerHost === undefined) });
  }

  /**
   * How a resource's engine is recorded: its DOCKER_HOST and the TLS variables that reach it, those
   * of the current work when it is on that engine, else those of the engine this session uses by that host.
   */
  private reach(dockerHost: string | undefined, current: boolean): { dockerHost?: string; tls?: EngineTls } {
    if (!dockerHost) return {};
    const known = this.engines.get(dockerHost);
    const tls = current ? currentTls() : known ? currentTls(known) : undefined;
    return { dockerHost, ...(tls ? { tls } : {}) };
  }

  /** Other engines this session works on (--node), by DOCKER_HOST, with the variables that reach them. */
  private readonly engines = new Map<string, EngineEndpoint>();

  /** Records an engine before any work is placed on it: cleanup removes what carries this session's label there too. */
  useEngine(engine: EngineEndpoint): void {
    const host = engine.env.DOCKER_HOST;
    if (!host || this.engines.has(host)) return;
    this.engines.set(host, engine);
    const tls = currentTls(engine);
    this.track({ kind: 'engine', dockerHost: host, ...(tls ? { tls } : {}) });
  }

  /** True once cleanup has begun: nothing new may be started on the engine for this session. */
  get closing(): boolean {
    return this.cleaned;
  }

  async cleanup(): Promise<string[]> {
    if (this.cleaned) return [];
    this.cleaned = true;
    // A docker command already on its way (a run started just before) may create a container after the first sweep.
    const inFlight = dockerCommandsInFlight() + engineRequestsInFlight() > 0;
    const problems: string[] = [];
    for (const { what, fn } of this.cleanups.reverse()) {
      try {
        debug(`cleanup: ${what}`);
        await fn();
      } catch (err) {
        problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    debug(`cleanup: removing what carries ${SESSION_LABEL}=${this.id}`);
    const everywhere = async () => {
      await removeLabelled(`${SESSION_LABEL}=${this.id}`);
      for (const engine of this.engines.values()) await onEngine(engine, () => removeLabelled(`${SESSION_LABEL}=${this.id}`));
    };
    await everywhere();
    await settleRecord(this.record);
    // Once more when a docker command was on its way when cleanup began: it may have created its container since.
    if (inFlight) await everywhere();
    return problems;
  }
}

function writeRecord(r: SessionRecord): void {
  try {
    mkdirSync(recordsDir(), { recursive: true });
    const file = join(recordsDir(), `${r.id}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(r));
    renameSync(`${file}.tmp`, file);
  } catch (err) {
    debug(`the session record could not be written: ${(err as Error).message}`);
  }
}

/**
 * Removes what a record lists (builders first: their containers hold images; then manifest lists and
 * images) and then the record. What could not be removed stays in the record, which is left for the
 * next session's sweep (with no live pid).
 */
async function settleRecord(record: SessionRecord): Promise<void> {
  const failed: Resource[] = [];
  for (const r of record.resources) {
    if (r.kind !== 'builder') continue;
    // On the engine it was created on, with the variables that reach it (a TLS engine's too).
    const x = await onEngine(engineOf(r), () => dockerCli(['buildx', 'rm', '--force', r.name], { check: false, timeoutMs: 120_000 }));
    if (x.exitCode !== 0 && !/no builder .* found|not found/i.test(x.stderr)) failed.push(r);
  }
  for (const r of record.resources) {
    if (r.kind === 'manifest-list') await dockerCli(['manifest', 'rm', r.ref], { check: false, timeoutMs: 60_000 });
  }
  // Images: removed per engine, all of an engine's at once (a missing one is as good as removed).
  const byHost = new Map<string, Array<Extract<Resource, { kind: 'image' }>>>();
  for (const r of record.resources) {
    if (r.kind !== 'image' || !releaseImage(record.id, r.ref, r.dockerHost, sessionAlive)) continue;
    const list = byHost.get(r.dockerHost ?? '') ?? [];
    list.push(r);
    byHost.set(r.dockerHost ?? '', list);
  }
  for (const [host, images] of byHost) {
    // Reached with the TLS variables recorded for it (on the image, or on the engine the session used).
    const tls =
      images.find((i) => i.tls)?.tls ??
      record.resources.find(
        (x): x is Extract<Resource, { kind: 'engine' }> => x.kind === 'engine' && x.dockerHost === host && Boolean(x.tls),
      )?.tls;
    const engine = engineOf({ ...(host ? { dockerHost: host } : {}), ...(tls ? { tls } : {}) });
    // All at once, through the engine's API; gone already (404) is as good as removed.
    const answers = await onEngine(engine, () => {
      const client = Engine.current();
      return Promise.all(images.map((i) => client.removeImage(i.ref).catch(() => 0)));
    });
    images.forEach((r, i) => {
      if (answers[i] === 200 || answers[i] === 404) return;
      // Something else failed: the image stays in the record, for the next sweep.
      failed.push(r);
      claimImage(record.id, r.ref, r.dockerHost, false);
    });
  }
  if (failed.length) writeRecord({ ...record, pid: 0, resources: failed });
  else rmSync(join(recordsDir(), `${record.id}.json`), { force: true });
}

/** A session is alive while its record names a live process. */
function sessionAlive(id: string): boolean {
  try {
    const r = JSON.parse(readFileSync(join(recordsDir(), `${id}.json`), 'utf8')) as SessionRecord;
    return pidAlive(r.pid);
  } catch {
    return false;
  }
}

/** Removes the containers, networks, volumes and images that carry a label filter, on the engine of the current work. */
async function removeLabelled(label: string): Promise<void> {
  const ids = await Engine.current().removeLabelled(label);
  debug(`containers with ${label}: ${ids.join(' ') || 'none'}`);
}

/**
 * Removes what earlier sessions left behind when their process is gone (killed with SIGKILL, a
 * crash): labelled containers, networks and volumes, what their records list (images, builders,
 * manifest lists), and their scratch folders. Returns how many sessions were swept.
 * Also removes $STATE/bundles, kept by earlier versions (the one-file CLI's code cache and
 * testcontainers' bundle), which nothing reads any more.
 */
export async function sweepStaleSessions(): Promise<number> {
  try {
    rmSync(join(stateDir(), 'bundles'), { recursive: true, force: true });
  } catch {
    // A state folder that cannot be written: the old files stay, harmless.
  }
  // Their scratch folders too (scratch-folders.ts), beside the engine's answer.
  const folders = sweepScratchFolders();
  const labelled = await Engine.current()
    .labelledContainers(SESSION_LABEL)
    .catch(() => [] as Array<{ Labels?: Record<string, string> }>);
  const stale = new Set<string>();
  for (const c of labelled) {
    const id = c.Labels?.[SESSION_LABEL];
    if (id && !pidAlive(Number(c.Labels?.[PID_LABEL]))) stale.add(id);
  }
  for (const id of stale) await removeLabelled(`${SESSION_LABEL}=${id}`);
  for (const record of staleRecords()) {
    stale.add(record.id);
    await removeLabelled(`${SESSION_LABEL}=${record.id}`);
    for (const r of record.resources) {
      if (r.kind === 'engine') await onEngine(engineOf(r), () => removeLabelled(`${SESSION_LABEL}=${record.id}`));
    }
    await settleRecord(record);
  }
  await folders;
  return stale.size;
}

/** Session records whose process is gone. */
function staleRecords(): SessionRecord[] {
  let names: string[];
  try {
    names = readdirSync(recordsDir()).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: SessionRecord[] = [];
  for (const n of names) {
    try {
      const r = JSON.parse(readFileSync(join(recordsDir(), n), 'utf8')) as SessionRecord;
      if (!pidAlive(r.pid)) out.push(r);
    } catch {
      rmSync(join(recordsDir(), n), { force: true });
    }
  }
  return out;
}
