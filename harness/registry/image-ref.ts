/**
 * Image references: [registry/]repository[:tag][@digest], with Docker Hub's defaults.
 */
import { UsageError } from '../base/index.ts';

export interface ImageRef {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const REPO = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;

export function parseImageRef(text: string): ImageRef {
  const fail = () => new UsageError(`"${text}" is not an image reference: write it as [registry/]repository[:tag][@sha256:...].`);
  let rest = text.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw fail();
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw fail();
  }
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  let registry = 'docker.io';
  let repository = rest;
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    repository = rest.slice(slash + 1);
  }
  if (registry === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  if (!REPO.test(repository)) throw fail();
  if (!tag && !digest) tag = 'latest';
  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** A tag as Docker writes it (what may follow the last ':' of a reference). */
export const isTag = (text: string): boolean => TAG.test(text);

export function formatImageRef(r: ImageRef): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** The same repository pinned to a digest (the tag dropped): what a run of one platform uses. */
export function pinned(r: ImageRef, digest: string): string {
  return `${r.registry}/${r.repository}@${digest}`;
}

/** Loopback registries speak plain HTTP, as Docker itself assumes for 127.0.0.0/8 and localhost. */
export function isLoopbackRegistry(registry: string): boolean {
  return /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(registry);
}
