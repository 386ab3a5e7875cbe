/**
 * Reads manifests and blobs from a registry over the OCI distribution API
 * (GET /v2/<name>/manifests/<reference>, GET /v2/<name>/blobs/<digest>): plain HTTP for loopback
 * registries, HTTPS (with an optional custom CA) elsewhere; bearer-token or basic auth from the
 * challenge; retries for transient 5xx answers.
 *
 * What distribution 3 (registry:3) requires of a client, kept for any registry: every manifest GET
 * names the OCI index and manifest types and Docker's two in Accept (v3 answers 404 MANIFEST_UNKNOWN
 * to a GET of an OCI index whose Accept lacks its type), and referrers() falls back to the referrers
 * tag schema (`sha256-<hex>`), since v3 has no referrers API. The client only reads, so the third
 * rule (children pushed before an index) is the pushers' (the e2e helpers').
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { CredentialHelperError, findCredentials, parseChallenge, type Credentials } from './credentials.ts';
import { EnvironmentError, withRetry } from '../base/index.ts';
import { formatBytes, HttpFailure, httpDownload, httpRequest, ResponseTooLargeError, type HttpOptions, type HttpResponse } from './http.ts';
import { isLoopbackRegistry, type ImageRef } from './image-ref.ts';
import { normalizePlatform, type Platform } from '../platform/index.ts';

/** The manifest types a GET accepts, all four in every Accept: a registry answers with the type it holds. */
const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string; 'os.version'?: string };
  annotations?: Record<string, string>;
}

/** An artifact that refers to a manifest (OCI 1.1's subject): a signature, an SBOM, an attestation. */
interface Referrer {
  /** What it is: its artifactType, else its descriptor's media type. */
  artifactType: string;
  digest: string;
  mediaType: string;
  annotations?: Record<string, string>;
}

/** A manifest's referrers, and where they were read: the referrers API, or the tag schema's tag (`sha256-<hex>`). */
export interface ReferrerList {
  referrers: Referrer[];
  from: 'api' | 'tag';
}

export interface IndexEntry {
  platform: Platform;
  digest: string;
  mediaType: string;
}

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  body: { mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
}

export interface ImageConfig {
  os?: string;
  architecture?: string;
  variant?: string;
  config?: {
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    Env?: string[];
    User?: string;
    Labels?: Record<string, string> | null;
    ExposedPorts?: Record<string, object> | null;
    Volumes?: Record<string, object> | null;
  };
}

/** Where manifests and blobs come from: a registry (RegistryClient), or an in-memory source in tests. */
export interface ImageSource {
  manifest(reference: string): Promise<FetchedManifest>;
  blobJson<T>(digest: string): Promise<T>;
  /** `size`: the blob's descriptor size; a registry that serves more is refused as the bytes come. */
  blobToFile(digest: string, file: string, size?: number): Promise<void>;
  /**
   * An image of an engine's own store only (image-source's docker-daemon:). `engineImage`: the image as
   * that engine names it (its id), run from there, never pulled or loaded. `unavailable`: why a manifest
   * its index lists cannot be read (the store lacks that platform's content), in one sentence;
   * undefined where it can be. `close`: lets go of the archive the engine exported, on disk.
   */
  readonly engineImage?: string;
  unavailable?(digest: string): string | undefined;
  close?(): Promise<void>;
  /** What refers to the manifest `digest` (a registry's sources only; a local image has none to ask). */
  referrers?(digest: string): Promise<ReferrerList>;
}

/** What an image's top-level reference lists: its platform entries, and problems of the index as a whole. */
export interface IndexView {
  entries: IndexEntry[];
  /** An attestation pointing at a manifest the index does not list, ... */
  problems: string[];
  /** False for a single-platform image (a manifest, not an index). */
  isIndex: boolean;
  /** The digest of what the reference named: the index (or the single manifest). */
  digest?: string;
}

export interface ClientOptions {
  /** PEM file of a CA to trust for this registry (besides the system's). */
  caFile?: string;
  credentials?: Credentials;
}

/**
 * The most of a manifest or an image config read into memory: 4 MiB, as the distribution registry
 * caps a manifest it accepts. A larger answer is refused (by its Content-Length, or once more bytes
 * came) without being read whole. Layers are streamed to files, never held.
 */
export const MAX_JSON_BYTES = 4 * 1024 * 1024;

/** Node's TLS error codes for a certificate it cannot verify. */
const CERTIFICATE_ERRORS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export class RegistryClient implements ImageSource {
  private token: string | undefined;
  private ca: Buffer | undefined;
  private credentials: Credentials | undefined;
  /** Why there are no credentials, when a credential helper failed: said only if the registry refuses. */
  private credentialProblem: CredentialHelperError | undefined;
  private ready: Promise<void>;
  /** HTTPS for every registry but a loopback one, which speaks it when given a CA or when it says so. */
  private https: boolean;

  constructor(
    readonly registry: string,
    readonly repository: string,
    options: ClientOptions = {},
  ) {
    this.https = !isLoopbackRegistry(registry) || Boolean(options.caFile);
    this.ready = (async () => {
      if (options.caFile)
        this.ca = await readFile(options.caFile).catch(() => {
          throw new EnvironmentError(`The CA file ${options.caFile} cannot be read.`);
        });
      // A helper that failed matters only where the registry asks for credentials (docker pull goes on without them too).
      this.credentials =
        options.credentials ??
        (await findCredentials(registry).catch((err: unknown) => {
          if (!(err instanceof CredentialHelperError)) throw err;
          this.credentialProblem = err;
          return undefined;
        }));
    })();
  }

  static for(ref: ImageRef, options: ClientOptions = {}): RegistryClient {
    return new RegistryClient(ref.registry, ref.repository, options);
  }

  private base(): string {
    const scheme = this.https ? 'https' : 'http';
    const host = this.registry === 'docker.io' ? 'registry-1.docker.io' : this.registry;
    return `${scheme}://${host}/v2/${this.repository}`;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const h = { ...extra };
    if (this.token) h.Authorization = this.token;
    return h;
  }

  /** One request with auth: on 401, answer the challenge once and retry. */
  private async send(url: string, options: HttpOptions, download?: string): Promise<HttpResponse> {
    await this.ready;
    const go = () => {
      const opts = { ...options, headers: this.headers(options.headers), ...(this.ca ? { ca: this.ca } : {}) };
      const target = this.https ? url.replace(/^http:\/\//, 'https://') : url;
      return download ? httpDownload(target, download, opts) : httpRequest(target, opts);
    };
    // What the pauses between attempts added up to: a registry's Retry-After counts against RETRY_AFTER_MAX_MS.
    let paused = 0;
    const attempt = async () => {
      let res: HttpResponse;
      try {
        res = await go();
        if (!this.https && res.status === 400 && /HTTP request to an HTTPS server/i.test(res.body.subarray(0, 200).toString('utf8'))) {
          // A loopback registry that speaks TLS (Go's servers answer plain HTTP with this 400).
          this.https = true;
          res = await go();
        }
        if (res.status === 401 && (await this.authenticate(res))) res = await go();
      } catch (err) {
        if (err instanceof EnvironmentError) throw err;
        if (err instanceof HttpFailure) throw this.failed(err, options.method ?? 'GET');
        const cause = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        throw new EnvironmentError(`The registry ${this.registry} cannot be reached (${cause}).`);
      }
      // 5xx and 429 (too many requests) are passing states: tried again, after the pause the
      // registry asks for (Retry-After), else a growing delay.
      if (res.status >= 500 || res.status === 429) {
        throw new RegistryBusy(
          `The registry ${this.registry} answered ${statusText(res.status)} to ${options.method ?? 'GET'} ${url}`,
          retryAfterMs(res.headers['retry-after']),
        );
      }
      return res;
    };
    return withRetry(attempt, {
      attempts: 4,
      pauseMs: (err, delayMs) => {
        const asked = err instanceof RegistryBusy ? err.retryAfterMs : undefined;
        if (asked !== undefined && paused + asked > RETRY_AFTER_MAX_MS) throw (err as RegistryBusy).askedTooLong(paused);
        paused += asked ?? delayMs;
        return asked ?? delayMs;
      },
    });
  }

  /**
   * One sentence for a request that got no whole answer: what happened and where, and for an
   * answer cut off, after how long and how much. A connection closed (before or in the middle of
   * an answer) and a name server that did not answer are passing states, tried again.
   */
  private failed(f: HttpFailure, method: string): EnvironmentError {
    const u = new URL(f.url);
    const address = `${u.hostname}:${u.port || (u.protocol === 'https:' ? 443 : 80)}`;
    const ownHost = u.host === new URL(this.base()).host;
    const who = ownHost ? `The registry ${this.registry}` : `${u.host} (where the registry ${this.registry} sent the request)`;
    const after = `after ${seconds(f.afterMs)}`;
    switch (f.kind) {
      case 'refused':
        return new EnvironmentError(`${who} cannot be reached (ECONNREFUSED): nothing listens on ${address}.`);
      case 'unresolved':
        return f.code === 'EAI_AGAIN'
          ? new EnvironmentError(`${who} cannot be reached (EAI_AGAIN): no name server answered for ${u.hostname}.`, { transient: true })
          : new EnvironmentError(`${who} cannot be reached (${f.code}): the name ${u.hostname} does not resolve.`);
      case 'tls':
        if (CERTIFICATE_ERRORS.has(f.code)) {
          return new EnvironmentError(
            `${who} presents a TLS certificate that cannot be verified (${f.code}): pass the CA that signed it with --ca-file PEM.`,
          );
        }
        return new EnvironmentError(
          `The TLS handshake with ${ownHost ? `the registry ${this.registry}` : u.host} failed (${f.code}: ${f.message})${/wrong version number|packet length too long|unknown protocol/i.test(f.message) ? `: what answers on ${address} does not speak TLS` : ''}.`,
        );
      case 'timeout':
        return f.code === 'ETIMEDOUT'
          ? new EnvironmentError(`${who} cannot be reached (ETIMEDOUT): no connection to ${address} within ${seconds(f.silenceMs)}.`)
          : new EnvironmentError(`${who} was reached but did not answer ${method} ${f.url} (nothing came for ${seconds(f.silenceMs)}).`);
      case 'closed':
        return new EnvironmentError(
          `${who} was reached but closed the connection before answering ${method} ${f.url} (${f.code}, ${after}).`,
          { transient: true },
        );
      case 'cut': {
        const then = f.cut?.silent ? `then nothing for ${seconds(f.silenceMs)}` : `then it closed the connection (${f.code})`;
        return new EnvironmentError(
          `${who} stopped answering in the middle of its answer to ${method} ${f.url}: ${formatBytes(f.cut?.received ?? 0)} came in ${seconds(Math.max(0, f.afterMs - (f.cut?.silent ? f.silenceMs : 0)))}, ${then}.`,
          { transient: true },
        );
      }
      default:
        return new EnvironmentError(`${who} cannot be reached (${f.code}: ${f.message}).`);
    }
  }

  private async authenticate(res: HttpResponse): Promise<boolean> {
    const header = res.headers['www-authenticate'];
    if (!header) return false;
    // A token that is refused has expired (a long QEMU run outlives it): ask for a new one, once per refusal.
    if (this.token) this.token = undefined;
    const { scheme, params } = parseChallenge(Array.isArray(header) ? header[0]! : header);
    const basic = this.credentials
      ? `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`
      : undefined;
    if (scheme === 'basic') {
      if (!basic) return false;
      this.token = basic;
      return true;
    }
    if (scheme !== 'bearer' || !params.realm) return false;
    const url = new URL(params.realm);
    // Credentials go to a token service over HTTPS only (or on this machine).
    if (url.protocol !== 'https:' && !isLoopbackRegistry(url.host)) {
      throw new EnvironmentError(
        `${this.registry} asks for credentials at ${url.origin}, which is not HTTPS: the harness does not send them there.`,
      );
    }
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', params.scope ?? `repository:${this.repository}:pull`);
    const r = await httpRequest(url.href, { headers: basic ? { Authorization: basic } : {}, ...(this.ca ? { ca: this.ca } : {}) });
    // A token service that is busy or failing for a moment: the request is tried again, as the registry's own 5xx and 429 are.
    if (r.status >= 500 || r.status === 429) {
      throw new RegistryBusy(
        `The token service ${url.host} of the registry ${this.registry} answered ${statusText(r.status)} to GET ${url.origin}${url.pathname}`,
        retryAfterMs(r.headers['retry-after']),
      );
    }
    if (r.status !== 200) return false;
    const body = this.json<{ token?: string; access_token?: string }>(r, `a token from ${url.host}`);
    const token = body.token ?? body.access_token;
    if (!token) return false;
    this.token = `Bearer ${token}`;
    return true;
  }

  private explain(status: number, what: string): EnvironmentError {
    if (status === 401 || status === 403) {
      if (this.credentialProblem) {
        const why = this.credentialProblem.message.replace(/^The /, 'the ');
        return new EnvironmentError(`${this.registry} refused ${what} (${status}), and the harness has no credentials for it: ${why}`);
      }
      return new EnvironmentError(
        `${this.registry} refused ${what} (${status}): log in with \`docker login ${this.registry}\` or set MULTIARCH_REGISTRY_USERNAME and MULTIARCH_REGISTRY_PASSWORD.`,
      );
    }
    if (status === 404) return new EnvironmentError(`${this.registry}/${this.repository} has no ${what} (404).`);
    return new EnvironmentError(`The registry ${this.registry} answered ${statusText(status)} for ${what}.`);
  }

  /**
   * A manifest, checked against its digest: the one asked for when the reference is a digest, else
   * the one the registry states (Docker-Content-Digest). Its digest is that of the bytes received.
   */
  async manifest(reference: string): Promise<FetchedManifest> {
    const res = await this.send(`${this.base()}/manifests/${reference}`, {
      headers: { Accept: Object.values(MEDIA).join(', ') },
      maxBytes: MAX_JSON_BYTES,
    });
    if (res.status !== 200) throw this.explain(res.status, `manifest ${reference}`);
    const header = res.headers['docker-content-digest'];
    const stated = Array.isArray(header) ? header[0] : header;
    const wanted = isDigest(reference) ? reference : stated && isDigest(stated) ? stated : undefined;
    const digest = wanted ? checkDigest(wanted, res.body, `the manifest ${reference}`, this.registry) : digestOf('sha256', res.body);
    const body = this.json<FetchedManifest['body']>(res, `manifest ${reference}`);
    return { digest, mediaType: String(res.headers['content-type'] ?? body.mediaType ?? ''), body };
  }

  /**
   * The artifacts that refer to the manifest `digest`: GET /v2/<name>/referrers/<digest> (OCI 1.1),
   * and where that is 404 (distribution 2 and 3 have no such API) or answers something other than
   * an index, the referrers tag schema: the index tagged `sha256-<hex>`, asked with HEAD first (a
   * HEAD costs nothing of Docker Hub's pull limit). Neither there: none. Any other refusal is one
   * sentence, as for a manifest.
   */
  async referrers(digest: string): Promise<ReferrerList> {
    if (!isDigest(digest)) throw new EnvironmentError(`"${digest}" is not a manifest digest: its referrers cannot be asked for.`);
    const options = { headers: { Accept: MEDIA.ociIndex }, maxBytes: MAX_JSON_BYTES };
    const api = await this.send(`${this.base()}/referrers/${digest}`, options);
    if (api.status === 200) {
      const listed = referrersOf(api);
      if (listed) return { referrers: listed, from: 'api' };
    } else if (api.status !== 404) throw this.explain(api.status, `referrers of ${digest}`);
    // The tag schema's tag: the algorithm, a dash, the hex digest, cut at 128 characters (a tag's longest).
    const tag = digest.replace(':', '-').slice(0, 128);
    const head = await this.send(`${this.base()}/manifests/${tag}`, { ...options, method: 'HEAD' });
    if (head.status === 404) return { referrers: [], from: 'tag' };
    if (head.status !== 200) throw this.explain(head.status, `manifest ${tag}`);
    const res = await this.send(`${this.base()}/manifests/${tag}`, options);
    if (res.status === 404) return { referrers: [], from: 'tag' };
    if (res.status !== 200) throw this.explain(res.status, `manifest ${tag}`);
    return { referrers: referrersOf(res) ?? [], from: 'tag' };
  }

  async blobJson<T>(digest: string): Promise<T> {
    const res = await this.send(`${this.base()}/blobs/${digest}`, { maxBytes: MAX_JSON_BYTES });
    if (res.status !== 200) throw this.explain(res.status, `blob ${digest}`);
    checkDigest(digest, res.body, `the blob ${digest}`, this.registry);
    return this.json<T>(res, `blob ${digest}`);
  }

  /** The body as JSON, or one sentence saying what answered instead (a web page, a proxy's error). */
  private json<T>(res: HttpResponse, what: string): T {
    try {
      return JSON.parse(res.body.toString('utf8')) as T;
    } catch {
      const type = String(res.headers['content-type'] ?? 'no content type');
      const start = res.body.toString('utf8', 0, 80).replace(/\s+/g, ' ').trim();
      throw new EnvironmentError(
        `${this.registry} answered the request for ${what} with ${type} ("${start}${res.body.length > 80 ? '...' : ''}"), not JSON: is it a container registry (the OCI distribution API under /v2/)?`,
      );
    }
  }

  async blobToFile(digest: string, file: string, size?: number): Promise<void> {
    const algorithm = digestAlgorithm(digest);
    // No longer than its descriptor says: an endless or padded answer is refused as it comes, before its digest could be.
    const bounded = size !== undefined && Number.isSafeInteger(size) && size >= 0;
    const options: HttpOptions = { ...(algorithm ? { digestAlgorithm: algorithm } : {}), ...(bounded ? { maxBytes: size } : {}) };
    const res = await this.send(`${this.base()}/blobs/${digest}`, options, file).catch((err: unknown) => {
      if (!bounded || !(err instanceof ResponseTooLargeError)) throw err;
      const length = err.limit?.contentLength;
      throw new DigestMismatchError(
        length !== undefined
          ? `${this.registry} answered ${formatBytes(length)} (its Content-Length) for the blob ${digest}, more than the ${formatBytes(size)} its descriptor states: refused without reading it.`
          : `${this.registry} served more than the ${formatBytes(size)} its descriptor states for the blob ${digest}: refused there, the rest not read.`,
      );
    });
    if (res.status !== 200) throw this.explain(res.status, `blob ${digest}`);
    const got = `${algorithm ?? 'sha256'}:${res.contentDigest}`;
    if (got !== digest)
      throw new DigestMismatchError(`${this.registry} served other content for the blob ${digest}: its bytes have the digest ${got}.`);
  }
}

/**
 * The longest pause a registry may ask for with Retry-After, and the most all pauses before one
 * request's attempts may add up to: 60 s, the time the harness lets a registry stay silent
 * (http.ts, the README's bound for a registry). A registry that asks for more is down as far as
 * this run is concerned: waiting longer would look like a hang while QEMU runs and the engine's
 * pulls stall behind it, so it is one sentence at once instead of a long sleep.
 */
export const RETRY_AFTER_MAX_MS = 60_000;

/** A passing failure of a registry (5xx, 429): its sentence without the final stop, and the pause it asked for (Retry-After). */
class RegistryBusy extends EnvironmentError {
  override name = 'RegistryBusy';
  constructor(
    private readonly said: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`${said}.`, { transient: true });
  }

  /** The registry asked for a pause longer than what is left of RETRY_AFTER_MAX_MS: not tried again. */
  askedTooLong(pausedMs: number): EnvironmentError {
    const already = pausedMs > 0 ? `, after ${seconds(pausedMs)} of pauses already` : '';
    return new EnvironmentError(
      `${this.said} and asked to be asked again in ${seconds(this.retryAfterMs ?? 0)} (Retry-After), more than the ${seconds(RETRY_AFTER_MAX_MS)} the harness waits for a registry${already}.`,
    );
  }
}

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
/** The three forms of an HTTP-date (RFC 9110, 5.6.7): IMF-fixdate, RFC 850's, asctime's (which is in GMT, though it does not say so). */
const HTTP_DATES = [
  new RegExp(`^${DAY}, \\d{2} ${MONTH} \\d{4} \\d{2}:\\d{2}:\\d{2} GMT$`),
  new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \\d{2}-${MONTH}-\\d{2} \\d{2}:\\d{2}:\\d{2} GMT$`),
  new RegExp(`^${DAY} ${MONTH} [ \\d]\\d \\d{2}:\\d{2}:\\d{2} \\d{4}$`),
];

/**
 * The pause a Retry-After header asks for, in milliseconds: delay-seconds, or an HTTP-date (a
 * date past is no pause). Undefined when there is none, or it is neither.
 */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const form = HTTP_DATES.findIndex((re) => re.test(value));
  if (form < 0) return undefined;
  const at = Date.parse(form === 2 ? `${value} GMT` : value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Content whose bytes do not have the digest (or the size) that names them: the registry (or something
 * between) served other bytes, or a local image's file was changed.
 */
export class DigestMismatchError extends EnvironmentError {
  override name = 'DigestMismatchError';
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

/** "503 (Service Unavailable)". */
function statusText(status: number): string {
  const text = STATUS_CODES[status];
  return text ? `${status} (${text})` : String(status);
}

/** A whole sha256 or sha512 digest, as a manifest names content. */
export const isDigest = (s: string) => /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/.test(s);
const digestAlgorithm = (d: string): 'sha256' | 'sha512' | undefined =>
  d.startsWith('sha512:') ? 'sha512' : d.startsWith('sha256:') ? 'sha256' : undefined;
const digestOf = (algorithm: 'sha256' | 'sha512', bytes: Buffer) => `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;

/**
 * The digest of the bytes, which must be `wanted`; otherwise one sentence with both digests. `registry`
 * starts the sentence: a registry's name, or where a local image is ("The OCI layout ./out").
 */
export function checkDigest(wanted: string, bytes: Buffer, what: string, registry: string): string {
  const got = digestOf(digestAlgorithm(wanted) ?? 'sha256', bytes);
  if (got !== wanted)
    throw new DigestMismatchError(`${registry} served other content for ${what}: expected the digest ${wanted}, its bytes have ${got}.`);
  return got;
}

/** The descriptors of an OCI index answer (the referrers API's, or the tag schema's index); undefined for anything else. */
function referrersOf(res: HttpResponse): Referrer[] | undefined {
  let body: { mediaType?: unknown; manifests?: unknown };
  try {
    body = JSON.parse(res.body.toString('utf8')) as typeof body;
  } catch {
    return undefined;
  }
  const type = String(res.headers['content-type'] ?? body.mediaType ?? '')
    .split(';')[0]!
    .trim();
  if (type !== MEDIA.ociIndex || !Array.isArray(body.manifests)) return undefined;
  return (body.manifests as Array<Partial<Descriptor> & { artifactType?: string }>)
    .filter((d) => typeof d.digest === 'string')
    .map((d) => ({
      artifactType: d.artifactType ?? d.mediaType ?? 'unknown',
      digest: d.digest!,
      mediaType: d.mediaType ?? '',
      ...(d.annotations ? { annotations: d.annotations } : {}),
    }));
}

function isAttestation(d: Descriptor): boolean {
  return (
    d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
    (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown')
  );
}

/** Platform entries of an index, leaving out attestation manifests (platform unknown/unknown). */
function platformEntries(index: FetchedManifest): IndexEntry[] {
  return (index.body.manifests ?? [])
    .filter((d) => d.platform && !isAttestation(d))
    .map((d) => ({ platform: normalizePlatform(d.platform!), digest: d.digest, mediaType: d.mediaType }));
}

/** The platform an image config declares, normalised. */
export function configPlatform(config: ImageConfig): Platform {
  return normalizePlatform({
    os: config.os ?? 'unknown',
    architecture: config.architecture ?? 'unknown',
    ...(config.variant ? { variant: config.variant } : {}),
  });
}

/** Reads the index (or single manifest) a reference names, as platform entries. */
export async function readIndex(source: ImageSource, reference: string): Promise<IndexView> {
  const top = await source.manifest(reference);
  if (!top.body.manifests) {
    if (!top.body.config?.digest) {
      // '' names a local layout's only image: the sentence then has no name to start with.
      throw new EnvironmentError(
        `${reference || 'The image'} is neither an image index nor an image manifest (its JSON has no "manifests" and no "config").`,
      );
    }
    const config = await source.blobJson<ImageConfig>(top.body.config.digest);
    return {
      entries: [{ platform: configPlatform(config), digest: top.digest, mediaType: top.mediaType }],
      problems: [],
      isIndex: false,
      digest: top.digest,
    };
  }
  const digests = new Set(top.body.manifests.map((d) => d.digest));
  const problems: string[] = [];
  for (const d of top.body.manifests.filter(isAttestation)) {
    const target = d.annotations?.['vnd.docker.reference.digest'];
    if (target && !digests.has(target))
      problems.push(`the attestation ${d.digest.slice(0, 19)} refers to ${target.slice(0, 19)}, which the index does not list`);
  }
  return { entries: platformEntries(top), problems, isIndex: true, digest: top.digest };
}
