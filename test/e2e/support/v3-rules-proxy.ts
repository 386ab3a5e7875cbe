/**
 * Distribution 3's rules (registry:3), enforced by an HTTP proxy on 127.0.0.1 (a port the system
 * picks) in front of the registry stand-in. It is NOT registry:3: it is a wrapper that applies three
 * of v3's rules in front of distribution 2.8 (the registry:2 stand-in), because no package of
 * distribution v3 is reachable here (Debian, sid included, has 2.8.x), so registry:3 cannot be built
 * as a stand-in. What passes the proxy's tests keeps these rules; whatever else v3 changed is not
 * tested by it.
 *
 * The rules, each answered by the proxy itself, as v3 answers:
 * - a GET or HEAD of a manifest that is an OCI index, whose Accept lacks
 *   `application/vnd.oci.image.index.v1+json`: 404 MANIFEST_UNKNOWN (what the manifest is, the proxy
 *   asks the backend with HEAD and every type in Accept);
 * - a PUT of an index (OCI, or Docker's manifest list) that lists a child manifest the backend does
 *   not hold (HEAD by digest): 400 MANIFEST_BLOB_UNKNOWN;
 * - anything under /v2/<name>/referrers/: 404, as v3 has no referrers API (Go's "404 page not found").
 * Everything else passes through untouched, the Host header included, so the backend's upload
 * Locations name the proxy. Every answer the proxy gave itself is recorded (`answered`).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const EVERY_TYPE = [
  OCI_INDEX,
  DOCKER_LIST,
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface ProxyAnswer {
  method: string;
  path: string;
  status: number;
  /** The distribution error code, or "page not found" for the referrers route. */
  code: string;
}

export interface V3RulesProxy {
  /** 127.0.0.1:PORT, as image references name it. */
  address: string;
  /** What the proxy answered itself (each rule it applied), in order. */
  answered: ProxyAnswer[];
  close(): Promise<void>;
}

interface Backend {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request to the backend, body in memory (manifests only: small). */
function ask(backend: string, method: string, path: string, headers: http.OutgoingHttpHeaders, body?: Buffer): Promise<Backend> {
  const [host, port] = backend.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port: Number(port), method, path, headers, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: the backend did not answer within 60 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The media types an Accept header names (its parameters dropped). */
const accepted = (header: string | string[] | undefined): string[] =>
  (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((t) => t.split(';')[0]!.trim());

const typeOf = (headers: http.IncomingHttpHeaders): string =>
  String(headers['content-type'] ?? '')
    .split(';')[0]!
    .trim();

export async function startV3RulesProxy(backend: string): Promise<V3RulesProxy> {
  const answered: ProxyAnswer[] = [];
  const refuse = (req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string, detail?: unknown) => {
    answered.push({ method: req.method ?? 'GET', path: new URL(req.url ?? '/', 'http://x').pathname, status, code });
    if (code === 'page not found') {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }
    const body = JSON.stringify({ errors: [{ code, message, ...(detail !== undefined ? { detail } : {}) }] });
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Docker-Distribution-Api-Version': 'registry/2.0' });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  /** The request as it came, to the backend, and the backend's answer back, both streamed. */
  const pass = (req: IncomingMessage, res: ServerResponse, body?: Buffer) => {
    const [host, port] = backend.split(':') as [string, string];
    const out = http.request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => res.destroy());
    if (body) out.end(body);
    else req.pipe(out);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (/^\/v2\/.+\/referrers\/[^/]+$/.test(path)) return refuse(req, res, 404, 'page not found', '');
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
    if (!manifest) return pass(req, res);
    const [, name] = manifest as unknown as [string, string];
    if (req.method === 'GET' || req.method === 'HEAD') {
      const head = await ask(backend, 'HEAD', path, { host: req.headers.host, accept: EVERY_TYPE });
      if (head.status === 200 && typeOf(head.headers) === OCI_INDEX && !accepted(req.headers.accept).includes(OCI_INDEX))
        return refuse(req, res, 404, 'MANIFEST_UNKNOWN', 'OCI index found, but accept header does not support OCI indexes');
      return pass(req, res);
    }
    if (req.method !== 'PUT') return pass(req, res);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const type = typeOf(req.headers);
    if (type === OCI_INDEX || type === DOCKER_LIST) {
      let children: Array<{ digest?: unknown }> = [];
      try {
        const parsed = JSON.parse(body.toString('utf8')) as { manifests?: Array<{ digest?: unknown }> };
        children = Array.isArray(parsed.manifests) ? parsed.manifests : [];
      } catch {
        // Not JSON: the backend says so itself.
      }
      for (const child of children) {
        const digest = String(child.digest);
        const there = await ask(backend, 'HEAD', `/v2/${name}/manifests/${digest}`, { host: req.headers.host, accept: EVERY_TYPE });
        if (there.status !== 200) return refuse(req, res, 400, 'MANIFEST_BLOB_UNKNOWN', 'blob unknown to registry', digest);
      }
    }
    return pass(req, res, body);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    answered,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
