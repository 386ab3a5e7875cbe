/**
 * A registry with token auth for e2e tests, for real: `registry:2` configured with `auth: token:`
 * (realm, service, issuer, rootcertbundle), published on 127.0.0.1 only, and its token service, a
 * node:http server in the test's own process on 127.0.0.1.
 *
 * - makeTokenSigner(): a key and its self-signed certificate (openssl, argument arrays); the
 *   certificate is the registry's rootcertbundle, the key signs the tokens (RS256, JWTs as
 *   distribution 2.8 reads them: `kid` is the key's libtrust fingerprint, `aud` one string).
 * - issueToken(): a token for the access asked (the test pushes with one it issues itself).
 * - startTokenService(): the realm. It checks Basic credentials (GET, as the harness and the
 *   engine ask) or a password grant (POST, OAuth2's form), the service, and grants pull (and
 *   push) on the repositories it serves; it records every request, never a credential.
 * - startTokenRegistry(): the container, labelled; its address once /v2/ asks for a token.
 *
 * The registry never talks to the token service: it checks a token's signature offline, against
 * the certificate. Whoever pulls does: the harness's own reads, and the engine's pull of each
 * platform (dockerd, in this machine's network namespace, reaches 127.0.0.1 as the test does).
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { request, startRegistryContainer, type TlsRegistry } from './tls-registry.ts';

export interface TokenSigner {
  /** The certificate (PEM): the registry's rootcertbundle. */
  certFile: string;
  key: KeyObject;
  /** The key's libtrust fingerprint, as distribution looks a `kid` up among the bundle's keys. */
  kid: string;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * libtrust's key ID (github.com/docker/libtrust, keyIDFromCryptoKey): SHA-256 of the DER
 * SubjectPublicKeyInfo, its first 240 bits in base32, in 12 groups of 4 joined by ":".
 */
export function libtrustKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const id = base32(createHash('sha256').update(der).digest().subarray(0, 30));
  return id.match(/.{4}/g)!.join(':');
}

/** A throwaway RSA key and its self-signed certificate (valid 2 days), in `dir`. */
export async function makeTokenSigner(dir: string): Promise<TokenSigner> {
  await mkdir(dir, { recursive: true });
  const r = await execa(
    'openssl',
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
      '/CN=multiarch-harness e2e token issuer',
      '-keyout',
      'token.key',
      '-out',
      'token.crt',
    ],
    { cwd: dir, reject: false, stdin: 'ignore' },
  );
  if (r.exitCode !== 0) throw new Error(`openssl req failed (exit ${r.exitCode}): ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
  const key = createPrivateKey(await readFile(join(dir, 'token.key')));
  return { certFile: join(dir, 'token.crt'), key, kid: libtrustKeyId(createPublicKey(key)) };
}

export interface Access {
  type: 'repository';
  name: string;
  actions: string[];
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** A JWT distribution 2.8 accepts: RS256, `kid`, iss/aud/sub, nbf/exp (it allows 60 s of skew), the access granted. */
export function issueToken(
  signer: TokenSigner,
  o: { issuer: string; service: string; subject: string; access: Access[]; ttlSeconds?: number },
): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'RS256', kid: signer.kid };
  const claims = {
    iss: o.issuer,
    sub: o.subject,
    aud: o.service,
    exp: now + (o.ttlSeconds ?? 900),
    nbf: now - 10,
    iat: now,
    jti: randomBytes(12).toString('hex'),
    access: o.access,
  };
  const signed = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${signed}.${b64url(sign('sha256', Buffer.from(signed), signer.key))}`;
}

/** One request the token service got: who asked (its User-Agent), whether its credentials were right, what for. */
export interface TokenRequest {
  method: string;
  userAgent: string;
  /** The user name it gave, if any (never the password). */
  user: string | undefined;
  credentials: 'right' | 'wrong' | 'none';
  service: string | null;
  scopes: string[];
  /** The status it was answered. */
  status: number;
}

export interface TokenService {
  /** http://127.0.0.1:PORT/token */
  realm: string;
  requests: TokenRequest[];
  /** Every token it issued (a bearer token is a credential too: none may be printed). */
  issued: string[];
  close(): Promise<void>;
}

export interface TokenServiceOptions {
  signer: TokenSigner;
  issuer: string;
  service: string;
  user: string;
  password: string;
  /** The repositories the user may pull and push. */
  repositories: string[];
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The realm, on 127.0.0.1 (a port the system picks). */
export async function startTokenService(o: TokenServiceOptions): Promise<TokenService> {
  const requests: TokenRequest[] = [];
  const issued: string[] = [];
  const answer = (res: ServerResponse, status: number, json: object) => {
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(json));
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname !== '/token') return answer(res, 404, { details: 'not found' });
      // GET with Basic credentials (the harness; the engine without a refresh token), or OAuth2's password grant (POST).
      let user: string | undefined;
      let password: string | undefined;
      let params = url.searchParams;
      if (req.method === 'POST') {
        params = new URLSearchParams(await body(req));
        if (params.get('grant_type') === 'password') {
          user = params.get('username') ?? undefined;
          password = params.get('password') ?? undefined;
        }
      } else {
        const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
        const decoded = basic ? Buffer.from(basic, 'base64').toString('utf8') : undefined;
        const colon = decoded?.indexOf(':') ?? -1;
        if (decoded && colon > 0) [user, password] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
      }
      const credentials = user === undefined ? 'none' : user === o.user && password === o.password ? 'right' : 'wrong';
      const scopes = params
        .getAll('scope')
        .flatMap((s) => s.split(' '))
        .filter(Boolean);
      const record: TokenRequest = {
        method: req.method ?? '',
        userAgent: String(req.headers['user-agent'] ?? ''),
        user,
        credentials,
        service: params.get('service'),
        scopes,
        status: 0,
      };
      requests.push(record);
      const reply = (status: number, json: object) => {
        record.status = status;
        answer(res, status, json);
      };
      if (credentials !== 'right') return reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
      if (params.get('service') !== o.service)
        return reply(400, { errors: [{ code: 'DENIED', message: `unknown service ${params.get('service') ?? ''}` }] });
      // What was asked, granted only where the user may: pull and push on its repositories.
      const access: Access[] = [];
      for (const scope of scopes) {
        const [type, name, actions] = [scope.split(':')[0], scope.split(':').slice(1, -1).join(':'), scope.split(':').at(-1) ?? ''];
        if (type !== 'repository' || !o.repositories.includes(name)) continue;
        const granted = actions.split(',').filter((a) => a === 'pull' || a === 'push');
        if (granted.length) access.push({ type: 'repository', name, actions: granted });
      }
      const token = issueToken(o.signer, { issuer: o.issuer, service: o.service, subject: o.user, access });
      issued.push(token);
      reply(200, { token, access_token: token, expires_in: 900, issued_at: new Date().toISOString() });
    })().catch((err: unknown) => answer(res, 500, { details: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const realm = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  return {
    realm,
    requests,
    issued,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The container: its address (127.0.0.1:PORT), name, log and removal. */
export type TokenRegistry = TlsRegistry;

export interface StartTokenRegistryOptions {
  /** A folder for the files copied into the container (the certificate). */
  dir: string;
  signer: TokenSigner;
  realm: string;
  service: string;
  issuer: string;
  labels: string[];
  image?: string;
  onCreate?: (name: string) => void;
}

const MOUNT = '/mah-token';

/** `registry:2` with token auth, plain HTTP on 127.0.0.1 (a port the engine picks); ready when /v2/ answers 401 with a Bearer challenge. */
export async function startTokenRegistry(o: StartTokenRegistryOptions): Promise<TokenRegistry> {
  await mkdir(o.dir, { recursive: true });
  await writeFile(join(o.dir, 'token.crt'), await readFile(o.signer.certFile), { mode: 0o644 });
  return startRegistryContainer({
    kind: 'token',
    prefix: 'mah-token-registry',
    testLabel: 'token-registry',
    dir: o.dir,
    labels: o.labels,
    ...(o.image ? { image: o.image } : {}),
    ...(o.onCreate ? { onCreate: o.onCreate } : {}),
    env: {
      REGISTRY_HTTP_ADDR: '0.0.0.0:5000',
      REGISTRY_AUTH: 'token',
      REGISTRY_AUTH_TOKEN_REALM: o.realm,
      REGISTRY_AUTH_TOKEN_SERVICE: o.service,
      REGISTRY_AUTH_TOKEN_ISSUER: o.issuer,
      REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE: `${MOUNT}/token.crt`,
      REGISTRY_STORAGE_DELETE_ENABLED: 'true',
    },
    mount: MOUNT,
    // Ready when /v2/ answers 401 with a Bearer challenge.
    ready: async (address) => {
      const r = await request('GET', `http://${address}/v2/`);
      const challenge = String(r.headers['www-authenticate'] ?? '');
      return (r.status === 401 && /^Bearer /.test(challenge)) || `/v2/ answered ${r.status} (${challenge || 'no challenge'})`;
    },
  });
}
