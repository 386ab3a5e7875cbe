/**
 * Content kept by digest across runs (registry/blob-cache.ts): manifests and configs named by their
 * digest are asked of the registry once, then read from the state folder, also by a later process;
 * a tag is always asked; a kept file that is not whole is asked for again.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { withBlobCache } from '../../harness/registry/blob-cache.ts';
import type { FetchedManifest, ImageSource } from '../../harness/registry/client.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const CONFIG = `sha256:${'b'.repeat(64)}`;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mah-blob-cache-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A registry that counts what it is asked (a repository of its own when named). */
function countingSource(repository?: string) {
  const asked: string[] = [];
  const source: ImageSource & { registry?: string; repository?: string } = {
    ...(repository ? { registry: '127.0.0.1:5000', repository } : {}),
    async manifest(reference) {
      asked.push(`manifest ${reference}`);
      return {
        digest: reference.startsWith('sha256:') ? reference : DIGEST,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        body: { config: { mediaType: 'c', digest: CONFIG, size: 2 } },
      } as FetchedManifest;
    },
    async blobJson<T>(digest: string) {
      asked.push(`blob ${digest}`);
      return { architecture: 'arm64', os: 'linux' } as T;
    },
    async blobToFile() {
      throw new Error('not asked here');
    },
  };
  return { source, asked };
}

describe('manifests and configs kept by digest', () => {
  test('asked once by digest, then read back, by a later process too; a tag is always asked', async () => {
    const first = countingSource();
    const cache = withBlobCache(first.source, dir);
    const m1 = await cache.manifest(DIGEST);
    const m2 = await cache.manifest(DIGEST);
    expect(m2).toEqual(m1);
    expect(await cache.blobJson(CONFIG)).toEqual({ architecture: 'arm64', os: 'linux' });
    await cache.blobJson(CONFIG);
    await cache.manifest('latest');
    await cache.manifest('latest');
    expect(first.asked).toEqual([`manifest ${DIGEST}`, `blob ${CONFIG}`, 'manifest latest', 'manifest latest']);

    const later = countingSource();
    const again = withBlobCache(later.source, dir);
    expect(await again.manifest(DIGEST)).toEqual(m1);
    expect(await again.blobJson(CONFIG)).toEqual({ architecture: 'arm64', os: 'linux' });
    expect(later.asked).toEqual([]);
    expect((await readdir(dir)).filter((n) => n.endsWith('.partial'))).toEqual([]);
  });

  test('another repository asks its registry again: it may not hold the content, or refuse it', async () => {
    const one = countingSource('team/app');
    await withBlobCache(one.source, dir).manifest(DIGEST);
    await withBlobCache(countingSource('team/app').source, dir).manifest(DIGEST);
    const other = countingSource('someone/else');
    await withBlobCache(other.source, dir).manifest(DIGEST);
    expect(one.asked).toEqual([`manifest ${DIGEST}`]);
    expect(other.asked).toEqual([`manifest ${DIGEST}`]);
  });

  test('a digest that is not whole is always asked for', async () => {
    const s = countingSource();
    const c = withBlobCache(s.source, dir);
    await c.manifest('sha256:abc');
    await c.manifest('sha256:abc');
    expect(s.asked).toEqual(['manifest sha256:abc', 'manifest sha256:abc']);
  });

  test('a kept file that is not whole is asked for again and written anew', async () => {
    const file = join(
      dir,
      (await readdir(dir)).find((n) => n.startsWith('json-') && n.endsWith(`${CONFIG.replace(':', '-')}.json`))!,
    );
    await writeFile(file, '{"architec');
    const s = countingSource();
    expect(await withBlobCache(s.source, dir).blobJson(CONFIG)).toEqual({ architecture: 'arm64', os: 'linux' });
    expect(s.asked).toEqual([`blob ${CONFIG}`]);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ architecture: 'arm64', os: 'linux' });
  });

  test('MULTIARCH_BLOB_CACHE=off keeps nothing', async () => {
    process.env.MULTIARCH_BLOB_CACHE = 'off';
    try {
      const s = countingSource();
      const c = withBlobCache(s.source, join(dir, 'off'));
      await c.manifest(DIGEST);
      await c.manifest(DIGEST);
      expect(s.asked).toEqual([`manifest ${DIGEST}`, `manifest ${DIGEST}`]);
    } finally {
      delete process.env.MULTIARCH_BLOB_CACHE;
    }
  });
});
