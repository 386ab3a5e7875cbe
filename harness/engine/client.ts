/**
 * The Docker Engine API client: one `Engine` per engine (by the variables that choose it,
 * endpoint.ts), over one transport (transport.ts), for everything the harness asks an engine that
 * its API offers: info and version, image presence, inspection, pulls, imports, loads, saves, tags and removals,
 * containers (runs: containers.ts; commits, removals, listings), networks, and what carries a
 * session's label. The docker CLI is left for what has no engine API (buildx and manifest: cli.ts).
 *
 * Each docker CLI command costs a process (about 10 ms of this process's CPU to start it and 15 ms
 * of the CLI's own); a verify of 8 platforms made 25 of them, which was half the harness's CPU. Not
 * dockerode (testcontainers brings it): loading it costs 0.09 s of CPU and 24 MiB at every start,
 * it reads no docker context, and its ssh ignores the user's ssh configuration.
 *
 * Which engine: `Engine.current()` is the one the current work is placed on (engine-scope.ts), else
 * the one this process's variables choose, as the CLI chooses.
 */
import type { IncomingMessage } from 'node:http';
import { pipeline, Transform, type Duplex, type Readable } from 'node:stream';
import { EnvironmentError, transientText } from '../base/index.ts';
import type { Platform } from '../platform/index.ts';
import { processVariables, reachOf, type EngineVariables } from './endpoint.ts';
import { EngineError } from './engine-error.ts';
import { placedVariables } from './engine-scope.ts';
import { transportOf, type Transport } from './transport.ts';

export interface ApiRequest {
  query?: Record<string, string | number | boolean | readonly string[] | undefined>;
  body?: unknown;
  /** A body sent as it is (an image's tar), instead of JSON. */
  raw?: Buffer;
  /** A tar body sent as it is made (an image archive to load), chunked: its length is not known before it ends. */
  stream?: Readable;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** What the harness reads of GET /info (what `docker info --format '{{json .}}'` prints). */
export interface EngineInfo {
  ID?: string;
  Name?: string;
  KernelVersion?: string;
  ServerVersion?: string;
  OSType?: string;
  Architecture?: string;
  DriverStatus?: Array<[string, string]>;
  ServerErrors?: string[];
}

export interface EngineVersion {
  Version?: string;
  ApiVersion?: string;
  Os?: string;
  Arch?: string;
  Components?: Array<{ Name?: string }>;
}

/** Which image store `docker info`'s DriverStatus describes: the containerd store names its snapshotter. */
export function imageStoreOf(driverStatus: ReadonlyArray<[string, string]> | undefined): 'containerd' | 'classic' {
  return (driverStatus ?? []).some(([k, v]) => k === 'driver-type' && v.includes('snapshotter')) ? 'containerd' : 'classic';
}

/** Whether an API version ("1.45", as /version states it) is at least another ("1.48"); an unknown one is not. */
export function apiAtLeast(version: string | undefined, least: string): boolean {
  const [major, minor] = (version ?? '').split('.').map(Number);
  const [leastMajor = 0, leastMinor = 0] = least.split('.').map(Number);
  if (!Number.isInteger(major) || !Number.isInteger(minor)) return false;
  return major! > leastMajor || (major === leastMajor && minor! >= leastMinor);
}

/** What the harness reads of GET /images/{name}/json. */
export interface ImageRecord {
  /** Its id: the config's digest on the classic store, the image's index (or manifest) digest on the containerd store. */
  Id?: string;
  RepoTags?: string[];
  Os?: string;
  Architecture?: string;
  Variant?: string;
  /** The containerd store, API 1.48 and later, when asked (manifests=1): each manifest its index lists. */
  Manifests?: ImageManifestSummary[];
}

/** One manifest of an image's index, as the containerd store lists it (API 1.48). */
export interface ImageManifestSummary {
  ID?: string;
  Descriptor?: { mediaType: string; digest: string; size: number; platform?: Platform; annotations?: Record<string, string> };
  /** Whether the engine's store holds its content (a platform not pulled has none). */
  Available?: boolean;
  Kind?: 'image' | 'attestation' | 'unknown';
  ImageData?: { Platform?: Platform };
  AttestationData?: { For?: string };
}

function pathOf(path: string, query: ApiRequest['query']): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v as readonly string[]) q.append(k, x);
    else q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

let inFlight = 0;

/** How many API requests of this process await their answer now (one may be creating a container). */
export function engineRequestsInFlight(): number {
  return inFlight;
}

const engines = new Map<string, Engine>();

export class Engine {
  private transportMade?: Transport;

  private constructor(readonly variables: EngineVariables) {}

  /** The client of the engine these variables choose: one per engine for the process's life. */
  static for(variables: EngineVariables): Engine {
    const key = JSON.stringify(Object.entries(variables).sort(([a], [b]) => a.localeCompare(b)));
    let e = engines.get(key);
    if (!e) engines.set(key, (e = new Engine(variables)));
    return e;
  }

  /** The engine the current work is placed on (--node), else this process's. */
  static current(): Engine {
    const placed = placedVariables();
    const own = processVariables();
    if (!placed) return Engine.for(own);
    // A placed engine's variables over this process's (a context of the environment unset).
    const chosen: EngineVariables = { ...own };
    for (const [k, v] of Object.entries(placed)) {
      if (v === undefined) delete chosen[k as keyof EngineVariables];
      else chosen[k as keyof EngineVariables] = v;
    }
    return Engine.for(chosen);
  }

  private get transport(): Transport {
    return (this.transportMade ??= transportOf(reachOf(this.variables)));
  }

  /** Sends one request; the response is handed over unread. */
  request(method: string, path: string, o: ApiRequest = {}): Promise<IncomingMessage> {
    const t = this.transport;
    const body = o.raw ?? (o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body)));
    const timeoutMs = o.timeoutMs ?? 60_000;
    inFlight++;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = t.request(
        {
          agent: t.agent,
          method,
          path: pathOf(path, o.query),
          ...t.target,
          headers: {
            ...(t.tls ? {} : { Host: 'docker' }),
            ...(body ? { 'Content-Type': o.raw ? 'application/x-tar' : 'application/json', 'Content-Length': String(body.length) } : {}),
            ...(o.stream ? { 'Content-Type': 'application/x-tar' } : {}),
            ...o.headers,
          },
          timeout: timeoutMs,
        },
        resolve,
      );
      req.on('timeout', () =>
        req.destroy(
          new EnvironmentError(`the Docker engine did not answer ${method} ${path} within ${timeoutMs / 1000} s`, { transient: true }),
        ),
      );
      req.on('error', (err) => reject(noEngine(err)));
      const stream = o.stream;
      if (!stream) {
        req.end(body);
        return;
      }
      // A body that fails as it is made (a blob that did not match its digest) ends the request with its error;
      // a request that ends first (the engine closed it) stops the body's making.
      stream.on('error', (err) => req.destroy(err));
      req.on('close', () => stream.destroy());
      stream.pipe(req);
    }).finally(() => {
      inFlight--;
    });
  }

  /**
   * A request the engine answers by switching protocols (101): the raw connection, for attaching to a
   * container's output. Whatever came with the switch is put back in front of the stream.
   */
  upgrade(method: string, path: string, o: ApiRequest = {}): Promise<Duplex> {
    const t = this.transport;
    const timeoutMs = o.timeoutMs ?? 60_000;
    return new Promise((resolve, reject) => {
      const req = t.request({
        agent: t.agent,
        method,
        path: pathOf(path, o.query),
        ...t.target,
        headers: { ...(t.tls ? {} : { Host: 'docker' }), Connection: 'Upgrade', Upgrade: 'tcp', ...o.headers },
      });
      req.on('upgrade', (_res, socket, head) => {
        if (head.length) socket.unshift(head);
        resolve(socket);
      });
      req.on('response', (res) => {
        readAll(res).then(
          (text) => reject(new EngineError(messageOf(res, text), { status: res.statusCode ?? 500 })),
          (err: Error) => reject(noEngine(err)),
        );
      });
      req.setTimeout(timeoutMs, () =>
        req.destroy(
          new EnvironmentError(`the Docker engine did not answer ${method} ${path} within ${timeoutMs / 1000} s`, { transient: true }),
        ),
      );
      req.on('error', (err) => reject(noEngine(err)));
      req.end();
    });
  }

  /** A request whose answer is JSON (or nothing); a status of 400 or more is an EngineError. */
  async json<T>(method: string, path: string, o: ApiRequest = {}): Promise<T> {
    return responseJson<T>(await this.request(method, path, o));
  }

  /** The status alone (404 is an answer here: "no such image"), the body read and dropped. */
  async status(method: string, path: string, o: ApiRequest = {}): Promise<{ status: number; message: string }> {
    const res = await this.request(method, path, o);
    const text = await readAll(res);
    const status = res.statusCode ?? 500;
    return { status, message: status >= 400 ? messageOf(res, text) : '' };
  }

  /**
   * A request whose answer is a stream of JSON lines (a pull's or an import's progress): each line to
   * `onLine`. A line with "error" is the engine's failure, reported after the stream ends, as the CLI does.
   */
  async jsonLines(method: string, path: string, o: ApiRequest & { onLine?: (line: Record<string, unknown>) => void } = {}): Promise<void> {
    const res = await this.request(method, path, o);
    if ((res.statusCode ?? 500) >= 400) {
      const text = await readAll(res);
      throw new EngineError(messageOf(res, text), { status: res.statusCode ?? 500 });
    }
    let pending = '';
    let failure: string | undefined;
    try {
      for await (const chunk of res) {
        pending += (chunk as Buffer).toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines.filter((l) => l.trim())) {
          let data: Record<string, unknown>;
          try {
            data = JSON.parse(line) as Record<string, unknown>;
          } catch {
            continue; // Not a progress line: nothing to learn from it.
          }
          // "error" is the engine's sentence; "errorDetail.message" the same, where an engine sends only that.
          const error = typeof data.error === 'string' ? data.error : (data.errorDetail as { message?: unknown } | undefined)?.message;
          if (typeof error === 'string') failure ??= error;
          o.onLine?.(data);
        }
      }
    } catch (err) {
      // A connection that ends mid-stream (the engine restarted, a reset) may go better a second time.
      throw new EngineError(`the engine's answer ended early (connection reset: ${(err as Error).message})`, {
        status: 500,
        transient: true,
      });
    }
    if (failure) throw new EngineError(failure, { status: 500, transient: transientText(failure) });
  }

  // What the harness asks of an engine.

  info(o: { timeoutMs?: number } = {}): Promise<EngineInfo> {
    return this.json<EngineInfo>('GET', '/info', o);
  }

  version(o: { timeoutMs?: number } = {}): Promise<EngineVersion> {
    return this.json<EngineVersion>('GET', '/version', o);
  }

  /** Which of these images the engine has: one request each, all at once (404: it has not); undefined when an answer was odd. */
  async imagesPresent(refs: readonly string[], o: { timeoutMs?: number } = {}): Promise<Set<string> | undefined> {
    const answers = await Promise.all(
      refs.map((ref) =>
        this.status('GET', `/images/${ref}/json`, o).then(
          (a) => a.status,
          () => 0,
        ),
      ),
    );
    if (answers.some((s) => s !== 200 && s !== 404)) return undefined;
    return new Set(refs.filter((_, i) => answers[i] === 200));
  }

  /**
   * An image's record (undefined: the engine has no such image). `manifests`: each manifest its index
   * lists, with whether its content is in the store (the containerd store, API 1.48 and later; an
   * older engine leaves the parameter unread, and the record has no Manifests).
   */
  async inspectImage(ref: string, o: { manifests?: boolean } = {}): Promise<ImageRecord | undefined> {
    const res = await this.request('GET', `/images/${ref}/json`, o.manifests ? { query: { manifests: '1' } } : {});
    if (res.statusCode === 404) {
      await readAll(res);
      return undefined;
    }
    return responseJson(res);
  }

  /**
   * `docker save NAME...`: the engine's archive of these images (GET /images/get), as the engine
   * sends it, unread. `platforms`: only those of a multi-platform image, each a JSON-encoded OCI
   * platform (API 1.48 and later, the containerd store; more than one in a request, API 1.52). A
   * refusal before the archive starts is an EngineError; one after it started, which the engine
   * writes after the bytes sent so far as a JSON error, ends the stream with an EngineError.
   */
  async saveImage(names: readonly string[], o: { platforms?: readonly Platform[]; timeoutMs?: number } = {}): Promise<Readable> {
    const res = await this.request('GET', '/images/get', {
      query: {
        names,
        ...(o.platforms?.length
          ? {
              platform: o.platforms.map((p) =>
                JSON.stringify({ os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) }),
              ),
            }
          : {}),
      },
      // The socket's idle time: the engine is silent while it gathers a large image's first layer.
      timeoutMs: o.timeoutMs ?? 600_000,
    });
    if ((res.statusCode ?? 500) >= 400) throw new EngineError(messageOf(res, await readAll(res)), { status: res.statusCode ?? 500 });
    // A connection that ends mid-archive ends the stream with its error too.
    return pipeline(res, failingTail(), () => undefined);
  }

  /** Pulls an image (`docker pull [--platform P] name:tag` or `name@digest`), with the registry's credentials when given. */
  pullImage(ref: string, o: { platform?: string; auth?: string; timeoutMs?: number } = {}): Promise<void> {
    const { repo: fromImage, tag } = repoAndTag(ref);
    return this.jsonLines('POST', '/images/create', {
      query: { fromImage, tag, platform: o.platform },
      ...(o.auth ? { headers: { 'X-Registry-Auth': o.auth } } : {}),
      timeoutMs: o.timeoutMs ?? 300_000,
    });
  }

  /** `docker import --platform P --change ... - ref`: an image from a tar of its file system. */
  importImage(tar: Buffer, o: { ref: string; platform: string; changes?: readonly string[]; timeoutMs?: number }): Promise<void> {
    const { repo, tag } = repoAndTag(o.ref);
    return this.jsonLines('POST', '/images/create', {
      query: {
        fromSrc: '-',
        repo,
        tag,
        platform: o.platform,
        changes: o.changes ?? [],
      },
      raw: tar,
      timeoutMs: o.timeoutMs ?? 60_000,
    });
  }

  /**
   * `docker load`: an image archive streamed to the engine as it is made (POST /images/load, quiet),
   * and what the engine says it loaded: its "Loaded image: NAME" and "Loaded image ID: sha256:..."
   * lines. An error in its answer is one EngineError; an archive that failed as it was made fails the
   * load with its own error, whatever the engine made of the upload cut short.
   */
  async loadImage(archive: Readable, o: { timeoutMs?: number } = {}): Promise<string[]> {
    let unmade: Error | undefined;
    archive.on('error', (err) => (unmade ??= err));
    const loaded: string[] = [];
    try {
      await this.jsonLines('POST', '/images/load', {
        query: { quiet: '1' },
        stream: archive,
        // The engine answers once every layer is in and unpacked, silent meanwhile.
        timeoutMs: o.timeoutMs ?? 600_000,
        onLine: (line) => {
          if (typeof line.stream !== 'string') return;
          for (const text of line.stream.split('\n')) if (/^Loaded image( ID)?: /.test(text.trim())) loaded.push(text.trim());
        },
      });
    } catch (err) {
      throw unmade ?? err;
    }
    return loaded;
  }

  /** `docker tag SOURCE REF`: another name for an image the engine has (its id, or a name). */
  async tagImage(source: string, ref: string): Promise<void> {
    await this.json('POST', `/images/${source}/tag`, { query: repoAndTag(ref), timeoutMs: 60_000 });
  }

  /** Removes an image (force: whatever uses it); the engine's status (404: it had none). */
  async removeImage(ref: string, o: { timeoutMs?: number } = {}): Promise<number> {
    return (await this.status('DELETE', `/images/${ref}`, { query: { force: 'true' }, timeoutMs: o.timeoutMs ?? 120_000 })).status;
  }

  /** Removes a container whatever state it is in (gone already is fine). */
  removeContainer(id: string): Promise<unknown> {
    return this.status('DELETE', `/containers/${id}`, { query: { force: 'true', v: 'true' }, timeoutMs: 120_000 }).catch(() => undefined);
  }

  /** `docker commit CONTAINER REF`. */
  async commitContainer(container: string, ref: string): Promise<void> {
    await this.json('POST', '/commit', {
      query: { container, ...repoAndTag(ref) },
      timeoutMs: 120_000,
    });
  }

  /** Whether the engine has a network of that name (undefined: it did not answer). */
  async networkExists(name: string): Promise<boolean | undefined> {
    const a = await this.status('GET', `/networks/${encodeURIComponent(name)}`, { timeoutMs: 20_000 }).catch(() => undefined);
    if (!a) return undefined;
    return a.status === 200 ? true : a.status === 404 ? false : undefined;
  }

  /** The containers (running or not) that carry a label, with their labels. */
  labelledContainers(label: string): Promise<Array<{ Id: string; Labels?: Record<string, string> }>> {
    return this.json('GET', '/containers/json', { query: { all: 'true', filters: JSON.stringify({ label: [label] }) } });
  }

  /** Removes the containers, networks, volumes and images that carry a label (`k` or `k=v`). */
  async removeLabelled(label: string): Promise<string[]> {
    const query = { filters: JSON.stringify({ label: [label] }) };
    const list = <T>(path: string, extra: Record<string, string> = {}) =>
      this.json<T>('GET', path, { query: { ...query, ...extra } }).catch(() => undefined);
    // Listed at once; removed in order: containers first (they hold networks, volumes and images).
    const [containers, nets, vols, images] = await Promise.all([
      list<Array<{ Id: string }>>('/containers/json', { all: 'true' }),
      list<Array<{ Id: string }>>('/networks'),
      list<{ Volumes?: Array<{ Name: string }> | null }>('/volumes'),
      list<Array<{ Id: string }>>('/images/json'),
    ]);
    const ids = (containers ?? []).map((c) => c.Id);
    const remove = (path: string, q: Record<string, string> = {}) =>
      this.status('DELETE', path, { query: q, timeoutMs: 120_000 }).catch(() => undefined);
    await Promise.all(ids.map((id) => remove(`/containers/${id}`, { force: 'true', v: 'true' })));
    await Promise.all([
      ...(nets ?? []).map((n) => remove(`/networks/${n.Id}`)),
      ...(vols?.Volumes ?? []).map((v) => remove(`/volumes/${v.Name}`, { force: 'true' })),
      ...[...new Set((images ?? []).map((i) => i.Id))].map((id) => remove(`/images/${id}`, { force: 'true' })),
    ]);
    return ids;
  }
}

/**
 * A reference as the API's query takes it: the repository, and the tag (a digest takes the tag's
 * place, as `docker pull repo@sha256:...` asks it; no tag is latest). A colon before the last slash
 * is a registry's port.
 */
function repoAndTag(ref: string): { repo: string; tag: string } {
  const at = ref.lastIndexOf('@');
  if (at >= 0) return { repo: ref.slice(0, at), tag: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) } : { repo: ref, tag: 'latest' };
}

function noEngine(err: Error): Error {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES' || (code === 'ECONNRESET' && /socket hang up/.test(err.message))) {
    const why =
      code === 'EACCES'
        ? 'permission denied on its socket'
        : code === 'ECONNRESET'
          ? 'the connection to it was closed'
          : 'nothing listens on its socket';
    return new EnvironmentError(
      `No Docker engine answers (${why}): start one (Docker Engine with buildx), or point DOCKER_HOST or a docker context at one.`,
    );
  }
  // TLS: the engine refused this client (no certificate, a wrong one) or this client the engine's certificate.
  if (
    code.startsWith('ERR_SSL') ||
    code.startsWith('ERR_TLS') ||
    /certificate|ssl|tls/i.test(code) ||
    /alert|certificate/i.test(err.message)
  ) {
    const reason = err.message.replace(/^.*routines:/, '').replace(/:.*$/, '') || err.message;
    return new EnvironmentError(`No Docker engine answers over TLS (${reason.toLowerCase().replace(/_/g, ' ')}).`);
  }
  return err;
}

/** How much of an archive's end is kept to look for the engine's error: more than its longest message. */
const TAIL_BYTES = 64 * 1024;

/**
 * An archive's bytes passed on as they come; at its end, an error the engine wrote after them
 * (moby's streamformatter: `{"errorDetail":{"message":...},"error":...}`; a tar ends with zero
 * blocks, never with JSON) ends the stream with that error instead.
 */
function failingTail(): Transform {
  let tail = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      tail = Buffer.concat([tail, chunk]);
      if (tail.length > TAIL_BYTES) tail = tail.subarray(tail.length - TAIL_BYTES);
      done(null, chunk);
    },
    flush(done) {
      const text = tail.toString('utf8');
      const at = text.lastIndexOf('{"error');
      if (at < 0 || !/\}\s*$/.test(text)) return done();
      try {
        const data = JSON.parse(text.slice(at)) as { error?: unknown; errorDetail?: { message?: unknown } };
        const message = typeof data.error === 'string' ? data.error : data.errorDetail?.message;
        if (typeof message === 'string') return done(new EngineError(message, { status: 500, transient: false }));
      } catch {
        // Not the engine's error: the archive's own bytes.
      }
      done();
    },
  });
}

/** The whole answer as text (by events: a stream's async iterator costs more than most answers' reading). */
function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    // Ended without its end (the connection closed mid-answer): as the stream's iterator would, an error.
    res.on('close', () => {
      if (!res.complete) reject(new Error('the engine closed the connection before the end of its answer'));
    });
  });
}

/** The engine's own words for a failed request ({"message": ...}), or the status line. */
function messageOf(res: IncomingMessage, text: string): string {
  try {
    return (JSON.parse(text) as { message?: string }).message ?? `${res.statusCode} ${res.statusMessage}`;
  } catch {
    return text.trim() || `${res.statusCode} ${res.statusMessage}`;
  }
}

/** An answer under way, read whole as JSON (or nothing); a status of 400 or more, or text that is not JSON, is an EngineError. */
export async function responseJson<T>(res: IncomingMessage): Promise<T> {
  const text = await readAll(res);
  if ((res.statusCode ?? 500) >= 400) throw new EngineError(messageOf(res, text), { status: res.statusCode ?? 500 });
  try {
    return (text ? JSON.parse(text) : undefined) as T;
  } catch {
    throw new EngineError(`the engine answered what is not JSON: ${text.slice(0, 120)}`, { status: res.statusCode ?? 500 });
  }
}
