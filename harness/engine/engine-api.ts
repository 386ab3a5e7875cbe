/**
 * The Docker Engine API, spoken over HTTP from this process, for the calls a run makes many times:
 * the probe's questions, listings, image presence, pulls, removals and the run's containers. Each
 * docker CLI command costs a process (about 10 ms of this process's CPU to start it and 15 ms of
 * the CLI's own); a verify of 8 platforms made 25 of them, which was half the harness's CPU.
 *
 * Not dockerode (testcontainers brings it): loading it costs 0.09 s of CPU and 24 MiB at every
 * start, more than the calls it would save. The API is small and stable; this is its transport.
 *
 * Which engine: the one the current work is placed on (engine-scope.ts), else DOCKER_HOST, else the
 * docker context in use, else /var/run/docker.sock, as the CLI chooses. unix:// and plain tcp://
 * are dialled directly, and so is a context whose endpoint is a unix socket; anything else (ssh://,
 * TLS) through `docker system dial-stdio`, the CLI's own tunnel to the engine, so every transport
 * the CLI knows works the same way (MULTIARCH_ENGINE_TUNNEL=1 sends everything through it).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { EnvironmentError } from '../errors.ts';
import { transientText } from './docker.ts';
import { placedVariables } from './engine-scope.ts';

/** An answer of the engine that is not a success: its status and its own message. */
export class EngineApiError extends EnvironmentError {
  override name = 'EngineApiError';
  constructor(
    readonly status: number,
    message: string,
    transient = status >= 500 && transientText(message),
  ) {
    super(message, { transient });
  }
}

interface Transport {
  /** For the cache: where the engine is. */
  key: string;
  agent: Agent;
  socketPath?: string;
  host?: string;
  port?: number;
}

const transports = new Map<string, Transport>();

/**
 * What reaches an engine besides its DOCKER_HOST (a node named by a docker context with TLS files:
 * DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), by that DOCKER_HOST, for this process's life. Work that
 * names such an engine by its DOCKER_HOST alone (the session's removal of the images it pulled
 * there, engine/session.ts) reaches it the same way instead of speaking plain HTTP to a TLS port.
 */
const reachedWith = new Map<string, Record<string, string>>();

/** Remembers the variables that reach an engine, by its DOCKER_HOST (engine/nodes.ts, for a node from a docker context). */
export function rememberEngine(env: Readonly<Record<string, string>>): void {
  const { DOCKER_HOST: host, ...rest } = env;
  if (host && Object.keys(rest).length) reachedWith.set(host, rest);
}

/** The variables that choose the engine, as docker commands of the current work get them: the placed engine's over this process's. */
function engineEnv(): Record<string, string | undefined> {
  const e = process.env;
  const own = {
    DOCKER_HOST: e.DOCKER_HOST,
    DOCKER_CONTEXT: e.DOCKER_CONTEXT,
    DOCKER_CONFIG: e.DOCKER_CONFIG,
    DOCKER_TLS_VERIFY: e.DOCKER_TLS_VERIFY,
    DOCKER_CERT_PATH: e.DOCKER_CERT_PATH,
    MULTIARCH_ENGINE_TUNNEL: e.MULTIARCH_ENGINE_TUNNEL,
  };
  const chosen = { ...own, ...placedVariables() };
  const known = chosen.DOCKER_HOST ? reachedWith.get(chosen.DOCKER_HOST) : undefined;
  return known ? { ...chosen, ...known } : chosen;
}

/** The context the CLI would use when DOCKER_HOST is not set: DOCKER_CONTEXT, else the config's currentContext. */
function contextInUse(env: Record<string, string | undefined>): string | undefined {
  if (env.DOCKER_CONTEXT) return env.DOCKER_CONTEXT === 'default' ? undefined : env.DOCKER_CONTEXT;
  try {
    const config = JSON.parse(readFileSync(join(configDir(env), 'config.json'), 'utf8')) as { currentContext?: string };
    return config.currentContext && config.currentContext !== 'default' ? config.currentContext : undefined;
  } catch {
    return undefined;
  }
}

function configDir(env: Record<string, string | undefined>): string {
  return env.DOCKER_CONFIG ?? join(homedir(), '.docker');
}

/**
 * A context's engine endpoint when it is a plain unix socket with no TLS (rootless Docker, Docker
 * Desktop, colima): read from the CLI's context store (contexts/meta/<sha256 of the name>/meta.json),
 * so it is dialled directly. Anything else is left to the CLI's tunnel.
 */
function contextSocket(env: Record<string, string | undefined>, name: string): string | undefined {
  const id = createHash('sha256').update(name).digest('hex');
  try {
    const meta = JSON.parse(readFileSync(join(configDir(env), 'contexts', 'meta', id, 'meta.json'), 'utf8')) as {
      Endpoints?: { docker?: { Host?: string } };
    };
    const host = meta.Endpoints?.docker?.Host;
    if (!host?.startsWith('unix://') || existsSync(join(configDir(env), 'contexts', 'tls', id))) return undefined;
    return host.slice('unix://'.length);
  } catch {
    return undefined;
  }
}

function transportFor(env: Record<string, string | undefined>): Transport {
  // Known by the variables that choose it (a context named in the config is read once per process).
  const key = JSON.stringify([
    env.DOCKER_HOST,
    env.DOCKER_CONTEXT,
    env.DOCKER_CONFIG,
    env.DOCKER_TLS_VERIFY,
    env.DOCKER_CERT_PATH,
    env.MULTIARCH_ENGINE_TUNNEL,
  ]);
  const known = transports.get(key);
  if (known) return known;
  const host = env.DOCKER_HOST || undefined;
  const context = host ? undefined : contextInUse(env);
  const contextPath = context ? contextSocket(env, context) : undefined;
  const tls = Boolean(env.DOCKER_TLS_VERIFY || env.DOCKER_CERT_PATH);
  let t: Transport;
  if (env.MULTIARCH_ENGINE_TUNNEL === '1') {
    // Asked for: every request through the CLI's tunnel (an engine only the CLI can reach; the tunnel's own test).
    t = tunnelTransport(key, { ...process.env, ...env });
  } else if (contextPath) {
    t = { key, agent: new Agent({ keepAlive: true }), socketPath: contextPath };
  } else if (!context && (!host || host.startsWith('unix://'))) {
    t = { key, agent: new Agent({ keepAlive: true }), socketPath: host ? host.slice('unix://'.length) : '/var/run/docker.sock' };
  } else if (!context && !tls && host?.startsWith('tcp://')) {
    const url = new URL(host.replace(/^tcp:/, 'http:'));
    t = { key, agent: new Agent({ keepAlive: true }), host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 2375) };
  } else {
    t = tunnelTransport(key, { ...process.env, ...env });
  }
  transports.set(key, t);
  return t;
}

/**
 * The CLI's tunnel, `docker system dial-stdio`: it dials the engine as the CLI would (ssh, TLS, a
 * context) and relays bytes. One tunnel per request (no keep-alive: a kept tunnel would be a
 * process holding this one open).
 */
function tunnelTransport(key: string, env: Record<string, string | undefined>): Transport {
  const agent = new Agent({ keepAlive: false });
  (agent as unknown as { createConnection: () => Duplex }).createConnection = () => dialStdio(env);
  return { key, agent, host: 'docker' };
}

function dialStdio(env: Record<string, string | undefined>): Duplex {
  const child = spawn('docker', ['system', 'dial-stdio'], { env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  // node:http times a request out through its socket's idle timer ('timeout' events): a pipe has none, so this is it.
  let idleMs = 0;
  let idle: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(idle);
    if (idleMs > 0) idle = setTimeout(() => duplex.emit('timeout'), idleMs);
  };
  const duplex = new Duplex({
    write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void) {
      touch();
      child.stdin.write(chunk, cb);
    },
    final(cb: () => void) {
      child.stdin.end();
      cb();
    },
    read() {
      child.stdout.resume();
    },
    destroy(err: Error | null, cb: (err: Error | null) => void) {
      clearTimeout(idle);
      // SIGKILL: the CLI answers a first SIGTERM by cancelling its context only, and its pipes would keep this process alive.
      child.kill('SIGKILL');
      child.stdin.destroy();
      child.stdout.destroy();
      child.stderr.destroy();
      cb(err);
    },
  });
  // What node:http asks of a socket besides reading and writing.
  Object.assign(duplex, {
    setTimeout: (ms: number, onTimeout?: () => void) => {
      idleMs = ms;
      if (onTimeout) duplex.once('timeout', onTimeout);
      touch();
      return duplex;
    },
    setKeepAlive: () => duplex,
    setNoDelay: () => duplex,
    ref: () => duplex,
    unref: () => duplex,
  });
  child.stdout.on('data', (d: Buffer) => {
    touch();
    if (!duplex.push(d)) child.stdout.pause();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  child.stdin.on('error', (err) => duplex.destroy(err));
  child.on('error', (err) => {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    duplex.destroy(
      missing ? new EnvironmentError('The docker CLI is needed to reach this engine (ssh://, TLS): it was not found on PATH.') : err,
    );
  });
  // The stream ends when the tunnel has exited: a tunnel that failed says why (ssh's own words), not "socket hang up".
  child.on('close', (code) => {
    clearTimeout(idle);
    if (duplex.destroyed) return;
    if (code)
      duplex.destroy(
        new EnvironmentError(
          `No Docker engine answers through \`docker system dial-stdio\` (${stderr.trim().split('\n').at(-1) || `exit ${code}`}).`,
        ),
      );
    else duplex.push(null);
  });
  return duplex;
}

export interface ApiRequest {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

function pathOf(path: string, query: ApiRequest['query']): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/**
 * No TLS server name to work out (the engine's API here is plain HTTP): Node's agent would test the
 * Host header for an IP address, compiling its IPv6 pattern on the first request (4 ms a process).
 */
const NO_SERVER_NAME = { servername: '' } as object;

/** Sends one request to the engine the current work is placed on; the response is handed over unread. */
export function engineRequest(method: string, path: string, o: ApiRequest = {}): Promise<IncomingMessage> {
  const t = transportFor(engineEnv());
  const body = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
  inFlight++;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(
      {
        agent: t.agent,
        method,
        path: pathOf(path, o.query),
        ...NO_SERVER_NAME,
        ...(t.socketPath ? { socketPath: t.socketPath } : { host: t.host, port: t.port }),
        headers: {
          Host: 'docker',
          ...(body ? { 'Content-Type': 'application/json', 'Content-Length': String(body.length) } : {}),
          ...o.headers,
        },
        timeout: o.timeoutMs ?? 60_000,
      },
      resolve,
    );
    req.on('timeout', () =>
      req.destroy(
        new EnvironmentError(`the Docker engine did not answer ${method} ${path} within ${(o.timeoutMs ?? 60_000) / 1000} s`, {
          transient: true,
        }),
      ),
    );
    req.on('error', (err) => reject(noEngine(err)));
    req.end(body);
  }).finally(() => {
    inFlight--;
  });
}

let inFlight = 0;

/** How many API requests of this process await their answer now (one may be creating a container). */
export function engineRequestsInFlight(): number {
  return inFlight;
}

/**
 * A request the engine answers by switching protocols (101): the raw connection, for attaching to a
 * container's output. Whatever came with the switch is put back in front of the stream.
 */
export function engineUpgrade(method: string, path: string, o: ApiRequest = {}): Promise<Duplex> {
  const t = transportFor(engineEnv());
  return new Promise((resolve, reject) => {
    const req = request({
      agent: t.agent,
      method,
      path: pathOf(path, o.query),
      ...NO_SERVER_NAME,
      ...(t.socketPath ? { socketPath: t.socketPath } : { host: t.host, port: t.port }),
      headers: { Host: 'docker', Connection: 'Upgrade', Upgrade: 'tcp', ...o.headers },
    });
    req.on('upgrade', (_res, socket, head) => {
      if (head.length) socket.unshift(head);
      resolve(socket);
    });
    req.on('response', (res) => {
      readAll(res).then(
        (text) => reject(new EngineApiError(res.statusCode ?? 500, messageOf(res, text))),
        (err: Error) => reject(noEngine(err)),
      );
    });
    req.setTimeout(o.timeoutMs ?? 60_000, () =>
      req.destroy(
        new EnvironmentError(`the Docker engine did not answer ${method} ${path} within ${(o.timeoutMs ?? 60_000) / 1000} s`, {
          transient: true,
        }),
      ),
    );
    req.on('error', (err) => reject(noEngine(err)));
    req.end();
  });
}

function noEngine(err: Error): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES' || (code === 'ECONNRESET' && /socket hang up/.test(err.message))) {
    const why =
      code === 'EACCES'
        ? 'permission denied on its socket'
        : code === 'ECONNRESET'
          ? 'the connection to it was closed'
          : 'nothing listens on its socket';
    return new EnvironmentError(
      `No Docker engine answers (${why}): start one, or run \`bash setup/prepare-host.sh\` as root on Debian/Ubuntu.`,
    );
  }
  return err;
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

/** A request whose answer is JSON (or nothing); a status of 400 or more is an EngineApiError. */
export async function engineJson<T>(method: string, path: string, o: ApiRequest = {}): Promise<T> {
  return responseJson<T>(await engineRequest(method, path, o));
}

/** An answer under way, read whole as JSON (or nothing); a status of 400 or more, or text that is not JSON, is an EngineApiError. */
export async function responseJson<T>(res: IncomingMessage): Promise<T> {
  const text = await readAll(res);
  if ((res.statusCode ?? 500) >= 400) throw new EngineApiError(res.statusCode ?? 500, messageOf(res, text));
  try {
    return (text ? JSON.parse(text) : undefined) as T;
  } catch {
    throw new EngineApiError(res.statusCode ?? 500, `the engine answered what is not JSON: ${text.slice(0, 120)}`);
  }
}

/** The status alone (404 is an answer here: "no such image"), the body read and dropped. */
export async function engineStatus(method: string, path: string, o: ApiRequest = {}): Promise<{ status: number; message: string }> {
  const res = await engineRequest(method, path, o);
  const text = await readAll(res);
  const status = res.statusCode ?? 500;
  return { status, message: status >= 400 ? messageOf(res, text) : '' };
}

/**
 * A request whose answer is a stream of JSON lines (a pull's progress): each line to `onLine`. A
 * line with "error" is the engine's failure, reported after the stream ends, as the CLI does.
 */
export async function engineJsonLines(
  method: string,
  path: string,
  o: ApiRequest & { onLine?: (line: Record<string, unknown>) => void } = {},
): Promise<void> {
  const res = await engineRequest(method, path, o);
  if ((res.statusCode ?? 500) >= 400) {
    const text = await readAll(res);
    throw new EngineApiError(res.statusCode ?? 500, messageOf(res, text));
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
        if (typeof data.error === 'string') failure ??= data.error;
        o.onLine?.(data);
      }
    }
  } catch (err) {
    // A connection that ends mid-stream (the engine restarted, a reset) may go better a second time.
    throw new EngineApiError(500, `the engine's answer ended early (connection reset: ${(err as Error).message})`, true);
  }
  if (failure) throw new EngineApiError(500, failure, transientText(failure));
}
