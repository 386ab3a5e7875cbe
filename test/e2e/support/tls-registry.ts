/**
 * An authenticated registry for e2e tests, for real: `registry:2` with htpasswd basic auth and TLS
 * from a CA the test makes, published on 127.0.0.1 only.
 *
 * - makeCertificates(): a CA and a server certificate (SAN IP:127.0.0.1, DNS:localhost), with openssl.
 * - htpasswdLine(): a bcrypt htpasswd line (distribution accepts bcrypt only), with the libc's crypt()
 *   through perl (Debian's libxcrypt has bcrypt; perl-base is Essential), or `htpasswd -B` when
 *   perl's crypt() has no bcrypt. The password goes through stdin, never a command line.
 * - startTlsRegistry(): the container, labelled, and its address once it answers over TLS.
 * - copyImage(): copies an image (an index, its manifests, their blobs, byte for byte, so every
 *   digest stays) from a plain-HTTP loopback registry (the mirror) into the TLS registry over the
 *   distribution API. No engine, no `docker login`, no certs.d: the credentials never reach a
 *   docker config the test did not write itself.
 * - secretForms() and findSecrets(): what a leaked credential looks like, and where it was found.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { execa } from 'execa';

export interface Certificates {
  /** The CA certificate (PEM): what --ca-file gets. */
  caFile: string;
  /** The server certificate and key the registry serves. */
  certFile: string;
  keyFile: string;
  ca: Buffer;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const r = await execa('openssl', args, { cwd, reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new Error(`openssl ${args[0]} failed (exit ${r.exitCode}): ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
}

/**
 * A throwaway CA (valid 2 days) and a server certificate it signs for IP:127.0.0.1 (and
 * DNS:localhost). The CA key stays in `caDir`; the server's files go to `serverDir` (what the
 * registry container gets: it never sees the CA key).
 */
export async function makeCertificates(caDir: string, serverDir: string): Promise<Certificates> {
  await mkdir(caDir, { recursive: true });
  await mkdir(serverDir, { recursive: true });
  await openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '2',
      '-subj',
      '/CN=multiarch-harness e2e test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ],
    caDir,
  );
  await writeFile(
    join(caDir, 'server.ext'),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '',
    ].join('\n'),
  );
  const keyFile = join(serverDir, 'server.key');
  const certFile = join(serverDir, 'server.crt');
  await openssl(
    ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-subj', '/CN=127.0.0.1', '-keyout', keyFile, '-out', 'server.csr'],
    caDir,
  );
  await openssl(
    [
      'x509',
      '-req',
      '-sha256',
      '-days',
      '2',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-extfile',
      'server.ext',
      '-out',
      certFile,
    ],
    caDir,
  );
  const caFile = join(caDir, 'ca.crt');
  return { caFile, certFile, keyFile, ca: await readFile(caFile) };
}

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** bcrypt's cost: each authenticated request costs one hash on the registry, so keep it low (htpasswd -B's default). */
const BCRYPT_COST = '05';
const BCRYPT_HASH = new RegExp(`^\\$2[aby]\\$${BCRYPT_COST}\\$[./A-Za-z0-9]{53}$`);

/** `user:bcrypt-hash`, as `htpasswd -nB` writes it. */
export async function htpasswdLine(user: string, password: string): Promise<string> {
  if (user.includes(':')) throw new Error('an htpasswd user name cannot contain ":"');
  // 22 salt characters; the last one carries 2 bits only, so pick one whose other bits are zero.
  const bytes = randomBytes(21);
  const salt = [...bytes].map((b) => BCRYPT_ALPHABET[b % 64]).join('') + '.Oeu'[randomBytes(1)[0]! % 4];
  const perl = await execa('perl', ['-e', 'my $p = <STDIN>; chomp $p; print crypt($p, $ARGV[0]) // ""', `$2b$${BCRYPT_COST}$${salt}`], {
    input: `${password}\n`,
    reject: false,
  });
  if (perl.exitCode === 0 && BCRYPT_HASH.test(perl.stdout.trim())) return `${user}:${perl.stdout.trim()}`;
  const htpasswd = await execa('htpasswd', ['-niB', '-C', String(Number(BCRYPT_COST)), user], { input: `${password}\n`, reject: false });
  const line = htpasswd.stdout.split('\n').find((l) => l.startsWith(`${user}:`));
  if (htpasswd.exitCode === 0 && line) return line.trim();
  throw new Error(
    "No bcrypt here for the htpasswd file: perl's crypt() has no bcrypt and htpasswd is missing (apt-get install -y apache2-utils).",
  );
}

export interface TlsRegistry {
  /** host:port as image references use it: 127.0.0.1:PORT */
  address: string;
  /** The container's name (unique, labelled). */
  name: string;
  /** The registry's own log (it logs failed logins with the user name only). */
  logs(): Promise<string>;
  /** Removes the container and its anonymous volume; safe to call twice. */
  stop(): Promise<void>;
}

export interface StartTlsRegistryOptions {
  /** A folder for the registry's files (server certificate and key, htpasswd), copied into the container. */
  dir: string;
  certificates: Certificates;
  user: string;
  password: string;
  /** `k=v` labels for the container (a Session's, so a killed run's container is swept). */
  labels: string[];
  image?: string;
  /** Called with the container's name before it starts, so that a caller can remove it whatever happens next. */
  onCreate?: (name: string) => void;
}

const MOUNT = '/mah-auth';

export async function removeContainer(name: string): Promise<void> {
  await execa('docker', ['rm', '-f', '-v', name], { reject: false });
}

export async function startTlsRegistry(o: StartTlsRegistryOptions): Promise<TlsRegistry> {
  await mkdir(o.dir, { recursive: true });
  await writeFile(join(o.dir, 'htpasswd'), `${await htpasswdLine(o.user, o.password)}\n`, { mode: 0o644 });
  await writeFile(join(o.dir, 'server.crt'), await readFile(o.certificates.certFile));
  // Readable by the registry whatever user its image runs as (the folder is inside the test's own 0700 one).
  await writeFile(join(o.dir, 'server.key'), await readFile(o.certificates.keyFile), { mode: 0o644 });
  return startRegistryContainer({
    kind: 'TLS',
    prefix: 'mah-auth-registry',
    testLabel: 'auth-registry',
    dir: o.dir,
    labels: o.labels,
    ...(o.image ? { image: o.image } : {}),
    ...(o.onCreate ? { onCreate: o.onCreate } : {}),
    env: {
      REGISTRY_HTTP_ADDR: '0.0.0.0:5000',
      REGISTRY_HTTP_TLS_CERTIFICATE: `${MOUNT}/server.crt`,
      REGISTRY_HTTP_TLS_KEY: `${MOUNT}/server.key`,
      REGISTRY_AUTH: 'htpasswd',
      REGISTRY_AUTH_HTPASSWD_REALM: 'multiarch-harness e2e',
      REGISTRY_AUTH_HTPASSWD_PATH: `${MOUNT}/htpasswd`,
      REGISTRY_STORAGE_DELETE_ENABLED: 'true',
    },
    mount: MOUNT,
    // Ready when /v2/ answers over TLS (with the CA) and asks for credentials.
    ready: async (address) => {
      const r = await request('GET', `https://${address}/v2/`, { ca: o.certificates.ca });
      return r.status === 401 || `/v2/ answered ${r.status}`;
    },
  });
}

export interface RegistryContainerOptions {
  /** How the failure sentence names it: "the TLS registry did not start: ...". */
  kind: string;
  prefix: string;
  testLabel: string;
  /** Copied into the container at `mount` before it starts. */
  dir: string;
  mount: string;
  env: Record<string, string>;
  labels: string[];
  image?: string;
  onCreate?: (name: string) => void;
  /** true when the registry answers as it should, or what it answered instead. */
  ready(address: string): Promise<true | string>;
}

/**
 * A `registry:2` container on 127.0.0.1 (a port the engine picks), its files copied in (no bind
 * mount, so no assumption that the engine shares this file system or may read this user's 0700
 * folder): create, cp, start, then asked until `ready` says so (60 s), or removed with a sentence.
 * Its configuration is `env` (REGISTRY_* variables), which distribution 2 and 3 both read: no
 * configuration file is copied, so an `image` of registry:3 (which reads /etc/distribution/config.yml,
 * not /etc/docker/registry/config.yml) is configured the same way.
 */
export async function startRegistryContainer(o: RegistryContainerOptions): Promise<TlsRegistry> {
  const name = `${o.prefix}-${randomBytes(4).toString('hex')}`;
  o.onCreate?.(name);
  const created = await execa(
    'docker',
    [
      'create',
      '--name',
      name,
      ...o.labels.flatMap((l) => ['--label', l]),
      '--label',
      `io.multiarch-harness.test=${o.testLabel}`,
      // Loopback only, a port the engine picks.
      '-p',
      '127.0.0.1::5000',
      ...Object.entries(o.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
      o.image ?? 'registry:2',
    ],
    { reject: false },
  );
  const logs = async () => {
    const r = await execa('docker', ['logs', name], { reject: false });
    return `${r.stdout}\n${r.stderr}`;
  };
  const fail = async (why: string): Promise<never> => {
    const tail = (await logs()).split('\n').filter(Boolean).slice(-5).join(' | ');
    await removeContainer(name);
    throw new Error(`the ${o.kind} registry did not start: ${why}${tail ? ` (its log: ${tail})` : ''}`);
  };
  const lastLine = (r: { stderr: string; exitCode?: number | undefined }) =>
    r.stderr.trim().split('\n').at(-1) || `exit code ${r.exitCode}`;
  if (created.exitCode !== 0) return fail(`docker create: ${lastLine(created)}`);
  const copied = await execa('docker', ['cp', `${o.dir}/.`, `${name}:${o.mount}`], { reject: false });
  if (copied.exitCode !== 0) return fail(`docker cp: ${lastLine(copied)}`);
  const started = await execa('docker', ['start', name], { reject: false });
  if (started.exitCode !== 0) return fail(`docker start: ${lastLine(started)}`);
  const port = await execa('docker', ['port', name, '5000/tcp'], { reject: false });
  const address = port.stdout
    .split('\n')
    .map((l) => l.trim())
    .find((l) => /^127\.0\.0\.1:\d+$/.test(l));
  if (!address) return fail(`its port 5000 is not published on 127.0.0.1 (docker port: ${port.stdout.trim() || port.stderr.trim()})`);
  const deadline = Date.now() + 60_000;
  let last: string;
  for (;;) {
    try {
      const answer = await o.ready(address);
      if (answer === true) break;
      last = answer;
    } catch (err) {
      last = (err as Error).message;
    }
    const state = await execa('docker', ['inspect', '-f', '{{.State.Running}}', name], { reject: false });
    if (state.stdout.trim() !== 'true') return fail('the container exited');
    if (Date.now() > deadline) return fail(`no answer as expected within 60 s (${last})`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return { address, name, logs, stop: () => removeContainer(name) };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP(S) request, body in memory. Errors name the method and URL only, never a header. */
export function request(
  method: string,
  url: string,
  o: { headers?: Record<string, string>; body?: Buffer; ca?: Buffer } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    const headers = { ...o.headers, ...(o.body ? { 'Content-Length': String(o.body.length) } : {}) };
    const req = lib.request(u, { method, headers, ...(o.ca ? { ca: o.ca } : {}), timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${u.origin}${u.pathname}: no answer within 60 s`)));
    req.on('error', (err) =>
      reject(new Error(`${method} ${u.origin}${u.pathname}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)),
    );
    req.end(o.body);
  });
}

export interface RegistryEndpoint {
  /** host:port */
  address: string;
  scheme: 'http' | 'https';
  ca?: Buffer;
  user?: string;
  password?: string;
  /** A bearer token to send instead of Basic credentials (a registry with token auth). */
  token?: string;
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

interface ManifestBody {
  mediaType?: string;
  manifests?: Array<{ digest: string; mediaType: string; platform?: { os: string; architecture: string; variant?: string } }>;
  config?: { digest: string };
  layers?: Array<{ digest: string }>;
}

class Endpoint {
  constructor(
    readonly e: RegistryEndpoint,
    readonly repository: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { ...extra };
    if (this.e.token !== undefined) h.Authorization = `Bearer ${this.e.token}`;
    else if (this.e.user !== undefined && this.e.password !== undefined)
      h.Authorization = `Basic ${Buffer.from(`${this.e.user}:${this.e.password}`).toString('base64')}`;
    return h;
  }

  url(path: string): string {
    return `${this.e.scheme}://${this.e.address}/v2/${this.repository}/${path}`;
  }

  async call(method: string, urlOrPath: string, headers: Record<string, string> = {}, body?: Buffer): Promise<Answer> {
    const url = /^https?:\/\//.test(urlOrPath) ? urlOrPath : this.url(urlOrPath);
    return request(method, url, { headers: this.headers(headers), ...(body ? { body } : {}), ...(this.e.ca ? { ca: this.e.ca } : {}) });
  }

  async expect(
    what: string,
    method: string,
    urlOrPath: string,
    ok: number[],
    headers: Record<string, string> = {},
    body?: Buffer,
  ): Promise<Answer> {
    const r = await this.call(method, urlOrPath, headers, body);
    if (!ok.includes(r.status))
      throw new Error(`${this.e.address}: ${what} answered ${r.status}: ${r.body.toString('utf8').slice(0, 200)}`);
    return r;
  }
}

export interface CopiedImage {
  /** The digest of the top-level manifest (the same in both registries). */
  digest: string;
  /** The platform entries the index lists (os/arch[/variant] and manifest digest), attestation entries left out. */
  entries: Array<{ platform: string; digest: string }>;
}

/**
 * Copies `repository:tag` from one registry to another, byte for byte: every blob (monolithic
 * upload: POST, then PUT with the digest), every child manifest by digest, then the index by tag.
 */
export async function copyImage(
  from: RegistryEndpoint & { repository: string; reference: string },
  to: RegistryEndpoint & { repository: string; tag: string },
): Promise<CopiedImage> {
  const src = new Endpoint(from, from.repository);
  const dst = new Endpoint(to, to.repository);
  const accept = { Accept: MANIFEST_TYPES.join(', ') };

  const copyBlob = async (digest: string) => {
    if ((await dst.call('HEAD', `blobs/${digest}`)).status === 200) return;
    const blob = (await src.expect(`blob ${digest}`, 'GET', `blobs/${digest}`, [200])).body;
    const started = await dst.expect('starting an upload', 'POST', 'blobs/uploads/', [202], { 'Content-Length': '0' });
    const location = started.headers.location;
    if (!location) throw new Error(`${to.address}: the upload of ${digest} has no Location`);
    const at = new URL(location, `${to.scheme}://${to.address}`);
    at.searchParams.set('digest', digest);
    await dst.expect(`uploading ${digest}`, 'PUT', at.href, [201], { 'Content-Type': 'application/octet-stream' }, blob);
  };

  const copyManifest = async (reference: string, tag?: string): Promise<{ digest: string; body: ManifestBody }> => {
    const got = await src.expect(`manifest ${reference}`, 'GET', `manifests/${reference}`, [200], accept);
    const body = JSON.parse(got.body.toString('utf8')) as ManifestBody;
    const mediaType = String(got.headers['content-type'] ?? body.mediaType ?? '').split(';')[0]!;
    if (body.manifests) {
      for (const m of body.manifests) await copyManifest(m.digest);
    } else {
      for (const d of [...(body.config ? [body.config.digest] : []), ...(body.layers ?? []).map((l) => l.digest)]) await copyBlob(d);
    }
    const header = got.headers['docker-content-digest'];
    const digest = String(Array.isArray(header) ? header[0] : (header ?? reference));
    const put = await dst.expect(
      `putting manifest ${digest}`,
      'PUT',
      `manifests/${tag ?? digest}`,
      [201],
      { 'Content-Type': mediaType },
      got.body,
    );
    const stored = put.headers['docker-content-digest'];
    if (stored && String(stored) !== digest) throw new Error(`${to.address} stored ${reference} as ${String(stored)}, not ${digest}`);
    return { digest, body };
  };

  const top = await copyManifest(from.reference, to.tag);
  const entries = (top.body.manifests ?? [])
    .filter((m) => m.platform && !(m.platform.os === 'unknown' && m.platform.architecture === 'unknown'))
    .map((m) => ({
      platform: [m.platform!.os, m.platform!.architecture, m.platform!.variant].filter(Boolean).join('/'),
      digest: m.digest,
    }));
  return { digest: top.digest, entries };
}

/**
 * What a leaked credential looks like: the password itself and the base64 forms a client sends
 * (`Authorization: Basic`) or a docker config stores (`auth`), each named `<label> <form>`.
 */
export function secretForms(user: string, password: string, label = 'password'): Record<string, string> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const forms: Record<string, string> = {
    [label]: password,
    [`${label}: base64(user:password)`]: b64(`${user}:${password}`),
    [`${label}: base64(password)`]: b64(password),
    [`${label}: base64url(user:password)`]: Buffer.from(`${user}:${password}`).toString('base64url'),
  };
  // Padding may be cut: the unpadded forms must not appear either.
  for (const [k, v] of Object.entries(forms)) if (v.endsWith('=')) forms[`${k} without padding`] = v.replace(/=+$/, '');
  return forms;
}

/** `where: form` for every secret form found in the texts. */
export function findSecrets(texts: Record<string, string>, forms: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [where, text] of Object.entries(texts)) {
    for (const [form, secret] of Object.entries(forms)) if (secret && text.includes(secret)) found.push(`${where}: ${form}`);
  }
  return found;
}

/** Every regular file under a folder (recursively), with its content as text. */
export async function readTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const path = join(e.parentPath, e.name);
    if (
      !e.isFile() ||
      !(await stat(path).then(
        (s) => s.size < 64 * 1024 * 1024,
        () => false,
      ))
    )
      continue;
    out[path] = await readFile(path, 'latin1');
  }
  return out;
}
