/**
 * A small HTTP(S) client on node:http/https, because registries need what global fetch cannot
 * take per request: a custom CA. Follows redirects (blob storage), reads bodies into memory up to
 * a limit or streams them to a file.
 */
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { createHash } from 'node:crypto';

export interface HttpOptions {
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  ca?: Buffer;
  /** httpDownload: the hash of the content to compute while it streams (the digest's algorithm). */
  digestAlgorithm?: 'sha256' | 'sha512';
  /** Refuse bodies larger than this when reading into memory. */
  maxBytes?: number;
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

function open(url: string, options: HttpOptions, redirects = 5): Promise<{ res: http.IncomingMessage; url: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.request(
      u,
      { method: options.method ?? 'GET', headers: options.headers, ...(options.ca ? { ca: options.ca } : {}), timeout: options.timeoutMs ?? 60_000 },
      (res) => {
        const location = res.headers.location;
        if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && location && redirects > 0) {
          res.resume();
          // A redirect to blob storage must not carry the registry's credentials.
          const next = new URL(location, u);
          const headers = next.host === u.host ? options.headers : Object.fromEntries(Object.entries(options.headers ?? {}).filter(([k]) => k.toLowerCase() !== 'authorization'));
          open(next.href, { ...options, ...(headers ? { headers } : {}) }, redirects - 1).then(resolve, reject);
          return;
        }
        resolve({ res, url });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${u.host} within ${(options.timeoutMs ?? 60_000) / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}

export async function httpRequest(url: string, options: HttpOptions = {}): Promise<HttpResponse> {
  const { res, url: finalUrl } = await open(url, options);
  const chunks: Buffer[] = [];
  let size = 0;
  const max = options.maxBytes ?? 64 * 1024 * 1024;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > max) {
      res.destroy();
      throw new Error(`${url} answered more than ${max} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), url: finalUrl };
}

/** Streams a body to a file; returns the status (the file is only complete for 200). */
export async function httpDownload(url: string, file: string, options: HttpOptions = {}): Promise<HttpResponse> {
  const { res, url: finalUrl } = await open(url, options);
  if (res.statusCode !== 200) {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), url: finalUrl };
  }
  // The content's digest is computed as it streams past, so checking it costs no second read.
  const hash = createHash(options.digestAlgorithm ?? 'sha256');
  const tap = new Transform({ transform(chunk: Buffer, _enc, done) { hash.update(chunk); done(null, chunk); } });
  await pipeline(res, tap, createWriteStream(file));
  return { status: 200, headers: res.headers, body: Buffer.alloc(0), url: finalUrl, contentDigest: hash.digest('hex') };
}
