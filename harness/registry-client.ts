/**
 * Reads manifests from a registry over the OCI distribution API (GET /v2/<name>/manifests/<ref>),
 * with retries for transient 5xx answers.
 */
import { EnvironmentError } from './errors.ts';
import { isLoopbackRegistry, type ImageRef } from './image-ref.ts';
import { normalizePlatform, type Platform } from './platform.ts';
import { withRetry } from './retry.ts';

export const MEDIA = {
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

class TransientHttpError extends Error {}

function baseUrl(ref: ImageRef): string {
  const scheme = isLoopbackRegistry(ref.registry) ? 'http' : 'https';
  const host = ref.registry === 'docker.io' ? 'registry-1.docker.io' : ref.registry;
  return `${scheme}://${host}/v2/${ref.repository}`;
}

export async function fetchManifest(ref: ImageRef, reference = ref.digest ?? ref.tag ?? 'latest'): Promise<FetchedManifest> {
  const url = `${baseUrl(ref)}/manifests/${reference}`;
  return withRetry(
    async () => {
      let res: Response;
      try {
        res = await fetch(url, { headers: { Accept: Object.values(MEDIA).join(', ') } });
      } catch (err) {
        throw new EnvironmentError(`The registry ${ref.registry} cannot be reached (${(err as Error).cause ?? (err as Error).message}).`);
      }
      if (res.status >= 500) throw new TransientHttpError(`${res.status} from ${url}`);
      if (res.status === 404) throw new EnvironmentError(`${ref.registry}/${ref.repository} has no manifest ${reference}.`);
      if (!res.ok) throw new EnvironmentError(`${url} answered ${res.status} ${res.statusText}.`);
      const body = (await res.json()) as FetchedManifest['body'];
      return { digest: res.headers.get('docker-content-digest') ?? '', mediaType: res.headers.get('content-type') ?? body.mediaType ?? '', body };
    },
    { retryIf: (e) => e instanceof TransientHttpError, attempts: 4 },
  );
}

/** Platform entries of an index, leaving out attestation manifests (platform unknown/unknown). */
export function platformEntries(index: FetchedManifest): IndexEntry[] {
  return (index.body.manifests ?? [])
    .filter((d) => d.platform && d.platform.os !== 'unknown' && d.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest')
    .map((d) => ({ platform: normalizePlatform(d.platform!), digest: d.digest, mediaType: d.mediaType }));
}
