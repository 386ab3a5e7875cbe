/**
 * A small HTTP(S) client on node:http/https, because registries need what global fetch cannot
 * take per request: a custom CA. Follows redirects (blob storage), reads bodies into memory up to
 * a limit (refused by Content-Length before a byte is read, or as soon as more bytes came) or
 * streams them to a file.
 *
 * A request that gets no whole answer fails with an HttpFailure saying what happened (nothing
 * listens, the name does not resolve, the TLS handshake failed, no answer in time, the connection
 * closed before the answer or in the middle of it) and after how long; the registry client makes
 * it one sentence (client.ts).
 *
 * Time is bounded as well as size: the connection may stay silent for the registry stall bound
 * (60 s, MULTIARCH_HARNESS_REGISTRY_STALL_TIMEOUT_MS), before the answer or in the middle of it;
 * an answer that trickles instead (a byte now and then, so never silent that long) is stopped too:
 * its headers must be whole within two stall bounds, and its body must bring at least
 * MIN_BYTES_PER_STALL in one of every two stall bounds until it ends (ResponseTooSlowError, one
 * sentence). So a body of N bytes ends, one way or another, within about N / 32 KiB stall bounds,
 * and a trickle is stopped after two.
 */
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { createHash } from 'node:crypto';
import { boundMs, formatBound, EnvironmentError } from '../base/index.ts';

export interface HttpOptions {
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  ca?: Buffer;
  /** httpDownload: the hash of the content to compute while it streams (the digest's algorithm). */
  digestAlgorithm?: 'sha256' | 'sha512';
  /** Refuse bodies larger than this: read into memory (default 64 MiB), or streamed to a file (httpDownload: no default; a blob's descriptor size). */
  maxBytes?: number;
  /** How long the connection may stay silent, before the answer or in the middle of it (default: the registry stall bound, 60 s). */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  url: string;
  /** httpDownload: the hex hash of what was written to the file. */
  contentDigest?: string;
}

/** What happened to a request that got no whole answer. */
export type HttpFailureKind =
  /** Nothing listens at the address (ECONNREFUSED). */
  | 'refused'
  /** The host's name does not resolve (ENOTFOUND), or could not be resolved now (EAI_AGAIN). */
  | 'unresolved'
  /** The TLS handshake failed (a certificate that cannot be verified, or no TLS at all on the other side). */
  | 'tls'
  /** No answer within the time allowed: no connection (code ETIMEDOUT), or a connection that stayed silent (code "timeout"). */
  | 'timeout'
  /** Connected, and the connection closed before any answer. */
  | 'closed'
  /** The answer began and stopped in the middle: the connection closed, or went silent. */
  | 'cut'
  | 'other';

export class HttpFailure extends Error {
  override name = 'HttpFailure';
  constructor(
    message: string,
    readonly kind: HttpFailureKind,
    /** Node's code (ECONNREFUSED, ENOTFOUND, EPROTO, CERT_HAS_EXPIRED, ECONNRESET, ...), or "timeout". */
    readonly code: string,
    readonly url: string,
    /** Time from the request's start to the failure. */
    readonly afterMs: number,
    /** How long the connection was allowed to stay silent. */
    readonly silenceMs: number,
    /** 'cut': the bytes of the body received before it stopped, and whether it went silent (else it was closed). */
    readonly cut?: { received: number; silent: boolean },
  ) {
    super(message);
  }
}

/** A body larger than the reader takes: refused before it is read whole. */
export class ResponseTooLargeError extends EnvironmentError {
  override name = 'ResponseTooLargeError';
  constructor(
    message: string,
    /** The most that was taken; and the Content-Length, when that is what refused it. */ readonly limit?: {
      max: number;
      contentLength?: number;
    },
  ) {
    super(message);
  }
}

/** An answer that came so slowly it would never end in a useful time (headers or body trickling): stopped. */
class ResponseTooSlowError extends EnvironmentError {
  override name = 'ResponseTooSlowError';
}

/**
 * What a body must bring in a stall bound (60 s by default): 64 KiB, about 1 KiB/s, slower than any
 * link a registry is read over. A registry trickling below it for two stall bounds in a row is
 * stopped there, not after the hours a 4 MiB manifest (or days a layer) would take at its pace.
 */
export const MIN_BYTES_PER_STALL = 64 * 1024;

/** "4 MiB", "512 KiB", "100 bytes". */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** What the TLS library said, shortened: "wrong version number" from OpenSSL's "error:0A00010B:SSL routines:ssl3_get_record:wrong version number:...". */
function tlsReason(err: NodeJS.ErrnoException): string {
  const reason = (err as { reason?: unknown }).reason;
  if (typeof reason === 'string' && reason) return reason;
  return /SSL routines:[^:]*:([^:]+)/.exec(err.message)?.[1]?.trim() ?? err.message.split('\n')[0]!;
}

function classify(
  err: NodeJS.ErrnoException,
  url: string,
  started: number,
  silenceMs: number,
  state: { timedOut: boolean; connected: boolean },
): HttpFailure {
  const code = err.code ?? '';
  const afterMs = Date.now() - started;
  const failure = (kind: HttpFailureKind, c: string, message = err.message) => new HttpFailure(message, kind, c, url, afterMs, silenceMs);
  if (state.timedOut)
    return state.connected
      ? failure('timeout', 'timeout', 'connected, and no answer came')
      : failure('timeout', 'ETIMEDOUT', 'no connection');
  if (code === 'ECONNREFUSED') return failure('refused', code);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' || code === 'EAI_NODATA') return failure('unresolved', code);
  if (
    code === 'EPROTO' ||
    code.startsWith('ERR_SSL_') ||
    code.startsWith('ERR_TLS_') ||
    code.startsWith('CERT_') ||
    /CERT|SIGNATURE|ISSUER/.test(code) ||
    /before secure TLS connection/.test(err.message)
  ) {
    return failure('tls', code || 'TLS', tlsReason(err));
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') return failure('closed', code);
  return failure('other', code || err.name);
}

interface Opened {
  res: http.IncomingMessage;
  url: string;
  started: number;
  silenceMs: number;
  /** Whether the connection went silent for longer than allowed (the request was destroyed for it). */
  timedOut(): boolean;
}

function open(url: string, options: HttpOptions, redirects = 5, started = Date.now()): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    const state = { timedOut: false, connected: false };
    const silenceMs = options.timeoutMs ?? boundMs('registryStall');
    let answered = false;
    // Headers that trickle (a byte before each silence would end) keep the socket's timeout from
    // firing: they must be whole within two stall bounds. An interval, not a timeout: fake clocks
    // of tests that pace retries move timeouts, never this.
    let ticks = 0;
    let slowHead = false;
    const headWatch = setInterval(() => {
      if (++ticks < 2) return;
      clearInterval(headWatch);
      slowHead = true;
      req.destroy(new Error('headers too slow'));
    }, silenceMs);
    headWatch.unref();
    const req = lib.request(
      u,
      { method: options.method ?? 'GET', headers: options.headers, ...(options.ca ? { ca: options.ca } : {}), timeout: silenceMs },
      (res) => {
        answered = true;
        clearInterval(headWatch);
        const location = res.headers.location;
        if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && location && redirects > 0) {
          // Its body is not read: one cut off is no failure.
          res.on('error', () => undefined);
          res.resume();
          // A redirect to blob storage must not carry the registry's credentials.
          const next = new URL(location, u);
          const headers =
            next.host === u.host
              ? options.headers
              : Object.fromEntries(Object.entries(options.headers ?? {}).filter(([k]) => k.toLowerCase() !== 'authorization'));
          open(next.href, { ...options, ...(headers ? { headers } : {}) }, redirects - 1, started).then(resolve, reject);
          return;
        }
        resolve({ res, url, started, silenceMs, timedOut: () => state.timedOut });
      },
    );
    req.on('socket', (socket) => {
      // A socket kept alive by the agent is connected already.
      if (!socket.connecting) state.connected = true;
      else
        socket.once('connect', () => {
          state.connected = true;
        });
    });
    req.on('timeout', () => {
      state.timedOut = true;
      req.destroy(new Error(`no answer from ${u.host} within ${silenceMs / 1000} s`));
    });
    // After the answer began, its body's reader sees the failure (bodyFailure).
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearInterval(headWatch);
      if (answered) return;
      if (slowHead)
        reject(
          new ResponseTooSlowError(
            `The answer to ${url} came too slowly: its headers were not whole after ${formatBound(2 * silenceMs)}, twice the ${formatBound(silenceMs)} the harness lets a registry stay silent (MULTIARCH_HARNESS_REGISTRY_STALL_TIMEOUT_MS): stopped there.`,
          ),
        );
      else reject(classify(err, url, started, silenceMs, state));
    });
    req.on('close', () => clearInterval(headWatch));
    req.end();
  });
}

/**
 * Stops a body that brings fewer than MIN_BYTES_PER_STALL bytes in each of two stall bounds in a
 * row (the socket's own timeout sees only silence): its reader fails with a ResponseTooSlowError.
 * A window with nothing at all is silence, which the socket's timeout says ("went silent"): a few
 * bytes and then nothing is that, not a trickle. Returns the stop of the watch.
 */
function watchBody(o: Opened, received: () => number): () => void {
  let before = received();
  let twoAgo: number | undefined;
  const timer = setInterval(() => {
    const now = received();
    const trickle = now > before && now - before < MIN_BYTES_PER_STALL;
    if (trickle && twoAgo !== undefined) {
      clearInterval(timer);
      o.res.destroy(
        new ResponseTooSlowError(
          `The answer to ${o.url} came too slowly: ${formatBytes(now - twoAgo)} in the last ${formatBound(2 * o.silenceMs)}, where the harness waits for ${formatBytes(MIN_BYTES_PER_STALL)} every ${formatBound(o.silenceMs)} (MULTIARCH_HARNESS_REGISTRY_STALL_TIMEOUT_MS): stopped there, after ${formatBytes(now)} in all, the rest not read.`,
        ),
      );
      return;
    }
    twoAgo = trickle ? before : undefined;
    before = now;
  }, o.silenceMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** The failure of a body that stopped after `received` bytes. */
function bodyFailure(err: NodeJS.ErrnoException, o: Opened, received: number): HttpFailure {
  const silent = o.timedOut();
  return new HttpFailure(
    silent ? 'the connection went silent' : err.message,
    'cut',
    silent ? 'timeout' : (err.code ?? err.name),
    o.url,
    Date.now() - o.started,
    o.silenceMs,
    { received, silent },
  );
}

/** Reads a body into memory: at most `max` bytes, refused by its Content-Length or as soon as more came; `truncate` keeps the first `max` bytes instead. */
async function readBody(o: Opened, max: number, truncate = false): Promise<Buffer> {
  const { res, url } = o;
  const cap = formatBytes(max);
  const length = Number(res.headers['content-length']);
  if (!truncate && Number.isFinite(length) && length > max) {
    res.destroy();
    throw new ResponseTooLargeError(
      `The answer to ${url} is ${formatBytes(length)} (its Content-Length), more than the ${cap} the harness reads of it: refused without reading it.`,
      { max, contentLength: length },
    );
  }
  const tooLarge = () =>
    new ResponseTooLargeError(
      `The answer to ${url} went past ${cap}, the most the harness reads of it: refused there, the rest not read.`,
      { max },
    );
  const chunks: Buffer[] = [];
  let size = 0;
  const unwatch = watchBody(o, () => size);
  try {
    for await (const chunk of res) {
      const c = chunk as Buffer;
      if (size + c.length > max) {
        if (truncate) chunks.push(c.subarray(0, max - size));
        res.destroy();
        if (truncate) return Buffer.concat(chunks);
        throw tooLarge();
      }
      size += c.length;
      chunks.push(c);
    }
  } catch (err) {
    if (err instanceof ResponseTooLargeError || err instanceof ResponseTooSlowError) throw err;
    throw bodyFailure(err as NodeJS.ErrnoException, o, size);
  } finally {
    unwatch();
  }
  return Buffer.concat(chunks);
}

export async function httpRequest(url: string, options: HttpOptions = {}): Promise<HttpResponse> {
  const opened = await open(url, options);
  const body = await readBody(opened, options.maxBytes ?? 64 * 1024 * 1024);
  return { status: opened.res.statusCode ?? 0, headers: opened.res.headers, body, url: opened.url };
}

/** The most of an error's body kept: what a message quotes of it. */
const ERROR_BODY_BYTES = 64 * 1024;

/** Streams a body to a file; returns the status (the file is only complete for 200). */
export async function httpDownload(url: string, file: string, options: HttpOptions = {}): Promise<HttpResponse> {
  const opened = await open(url, options);
  const { res, url: finalUrl } = opened;
  if (res.statusCode !== 200) {
    // Not content: read only what a message would quote.
    return { status: res.statusCode ?? 0, headers: res.headers, body: await readBody(opened, ERROR_BODY_BYTES, true), url: finalUrl };
  }
  // No more than maxBytes (a blob's descriptor size): refused by its Content-Length, or as soon as more came.
  const max = options.maxBytes;
  const length = Number(res.headers['content-length']);
  if (max !== undefined && Number.isFinite(length) && length > max) {
    res.destroy();
    throw new ResponseTooLargeError(
      `The answer to ${finalUrl} is ${formatBytes(length)} (its Content-Length), more than the ${formatBytes(max)} the harness reads of it: refused without reading it.`,
      { max, contentLength: length },
    );
  }
  // The content's digest is computed as it streams past, so checking it costs no second read.
  const hash = createHash(options.digestAlgorithm ?? 'sha256');
  let received = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (max !== undefined && received + chunk.length > max) {
        done(
          new ResponseTooLargeError(
            `The answer to ${finalUrl} went past ${formatBytes(max)}, the most the harness reads of it: refused there, the rest not read.`,
            { max },
          ),
        );
        return;
      }
      hash.update(chunk);
      received += chunk.length;
      done(null, chunk);
    },
  });
  const out = createWriteStream(file);
  let writeFailed = false;
  out.once('error', () => {
    writeFailed = true;
  });
  const unwatch = watchBody(opened, () => received);
  try {
    await pipeline(res, tap, out);
  } catch (err) {
    // The file's own errors (a full disk) pass as they are; anything else is the answer that stopped.
    if (writeFailed || err instanceof ResponseTooLargeError || err instanceof ResponseTooSlowError) throw err;
    throw bodyFailure(err as NodeJS.ErrnoException, opened, received);
  } finally {
    unwatch();
  }
  return { status: 200, headers: res.headers, body: Buffer.alloc(0), url: finalUrl, contentDigest: hash.digest('hex') };
}
