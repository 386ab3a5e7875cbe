/**
 * Layers, manifests and configs kept on disk by digest, across runs: a second verify of the same
 * image (or of another image sharing its base layers) reads them from here instead of the registry. Only content whose
 * bytes were checked against its digest is kept (the registry client checks every blob), written
 * under a temporary name and renamed, so concurrent sessions never see half a file. Files unused for
 * two weeks are removed when a cache is opened, and the least recently used ones beyond 4 GiB
 * (MULTIARCH_BLOB_CACHE_MAX_GIB). MULTIARCH_BLOB_CACHE=off turns it off.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, link, mkdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pruneStateFolder, stateDir } from '../base/index.ts';
import type { ImageSource } from './client.ts';

const MAX_IDLE_MS = 14 * 24 * 3600_000;
let pruned = false;

function blobCacheDir(): string {
  return join(stateDir(), 'blobs');
}

/** The cache's size limit: MULTIARCH_BLOB_CACHE_MAX_GIB, default 4 GiB; least recently used go first. */
function maxBytes(): number {
  const gib = Number(process.env.MULTIARCH_BLOB_CACHE_MAX_GIB ?? 4);
  return (Number.isFinite(gib) && gib > 0 ? gib : 4) * 2 ** 30;
}

async function prune(dir: string): Promise<void> {
  if (pruned) return;
  pruned = true;
  await pruneStateFolder(dir, { idleMs: MAX_IDLE_MS, maxBytes: maxBytes() });
}

/** A hard link where it can (same file system), a copy where it cannot. */
async function place(from: string, to: string): Promise<void> {
  await rm(to, { force: true });
  await link(from, to).catch(() => copyFile(from, to));
}

/**
 * JSON content named by its digest (a manifest, a config), read from the registry once (which
 * checks its bytes against the digest) and kept here; 16 registry requests fewer for a verify of 8
 * platforms seen before. Kept per repository (`origin`): a repository that does not hold the
 * content, or refuses it, still says so. A reference that is not a whole digest is always asked for.
 */
async function keptJson<T>(dir: string, kind: string, origin: string, reference: string, fetch: () => Promise<T>): Promise<T> {
  if (!/^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/.test(reference)) return fetch();
  const kept = join(dir, `${kind}-${origin}-${reference.replace(':', '-')}.json`);
  // Read synchronously: a few hundred bytes, cheaper than a round through libuv's threads.
  let text: string | undefined;
  try {
    text = readFileSync(kept, 'utf8');
  } catch {
    text = undefined;
  }
  if (text !== undefined) {
    // Not touched on use (unlike a layer): a few hundred bytes, asked for again two weeks after it was written.
    try {
      return JSON.parse(text) as T;
    } catch {
      // Not whole (a disk that filled up): asked again and written anew.
    }
  }
  const value = await fetch();
  const partial = `${kept}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.partial`;
  await mkdir(dir, { recursive: true })
    .then(() => writeFile(partial, JSON.stringify(value)))
    .then(() => rename(partial, kept))
    .catch(() => rm(partial, { force: true }));
  return value;
}

/** Which repository a source reads (a RegistryClient's registry and repository), hashed for file names. */
function originOf(source: ImageSource): string {
  const where = source as { registry?: unknown; repository?: unknown };
  const name =
    typeof where.registry === 'string' && typeof where.repository === 'string' ? `${where.registry}/${where.repository}` : 'source';
  return createHash('sha256').update(name).digest('hex').slice(0, 12);
}

export function withBlobCache(source: ImageSource, dir = blobCacheDir()): ImageSource {
  if (process.env.MULTIARCH_BLOB_CACHE === 'off') return source;
  const origin = originOf(source);
  return {
    // A manifest or config named by its digest cannot change: read once, checked, then kept (by tag: always asked).
    manifest: (reference) => keptJson(dir, 'manifest', origin, reference, () => source.manifest(reference)),
    // Referrers come and go (a signature added after the push): always asked.
    ...(source.referrers ? { referrers: (digest: string) => source.referrers!(digest) } : {}),
    blobJson: (digest) => keptJson(dir, 'json', origin, digest, () => source.blobJson(digest)),
    async blobToFile(digest, file, size) {
      const name = digest.replace(':', '-');
      if (!/^sha(256|512)-[0-9a-f]+$/.test(name)) return source.blobToFile(digest, file, size);
      await mkdir(dir, { recursive: true });
      void prune(dir);
      const cached = join(dir, name);
      if (
        await stat(cached).then(
          () => true,
          () => false,
        )
      ) {
        const now = new Date();
        await utimes(cached, now, now).catch(() => undefined);
        // Another session's pruning may take it away in between: then it is downloaded.
        const placed = await place(cached, file).then(
          () => true,
          () => false,
        );
        if (placed) return;
      }
      const partial = `${cached}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.partial`;
      try {
        await source.blobToFile(digest, partial, size);
        await rename(partial, cached);
      } finally {
        await rm(partial, { force: true });
      }
      return place(cached, file);
    },
  };
}
