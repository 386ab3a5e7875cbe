/**
 * Images made byte by byte for e2e tests, pushed over the distribution API (no engine, no build):
 * layers as tar files with exactly the entries given (a path twice in one layer, a loader that is
 * not there, a library of another machine), configs and a per-platform index. The tests get images
 * no Dockerfile would produce, and the same images honest.
 *
 * Children first, as distribution 3 (registry:3) requires: every blob, then every platform's
 * manifest by digest, then the index. `sendManifest` puts one manifest and returns the registry's
 * answer whatever it is (a test that pushes an index too early reads the refusal); `pushReferrer`
 * pushes an artifact that refers to a manifest (OCI 1.1's subject) and lists it under the referrers
 * tag schema's tag, `sha256-<hex>`, as a client does where the registry has no referrers API.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import tar from 'tar-stream';
import type { Platform } from '../../../harness/platform/platform.ts';

export interface LayerEntry {
  path: string;
  type?: 'file' | 'symlink' | 'directory';
  content?: Buffer | string;
  linkname?: string;
  mode?: number;
}

/** An uncompressed tar with these entries, in this order (duplicates kept). */
export async function tarLayer(entries: readonly LayerEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const content = type === 'file' ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
    pack.entry(
      {
        name: e.path.replace(/^\//, ''),
        type,
        mode: e.mode ?? (type === 'directory' ? 0o755 : 0o755),
        ...(e.linkname ? { linkname: e.linkname } : {}),
      },
      content,
    );
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The entries of a directory tree (files, symlinks as symlinks, directories), under `prefix` in the image. */
export async function treeEntries(root: string, prefix = '/'): Promise<LayerEntry[]> {
  const out: LayerEntry[] = [];
  const walk = async (dir: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const full = join(dir, name);
      const path = join(prefix, relative(root, full));
      const st = await lstat(full);
      if (st.isSymbolicLink()) out.push({ path, type: 'symlink', linkname: await readlink(full) });
      else if (st.isDirectory()) {
        out.push({ path, type: 'directory', mode: st.mode & 0o7777 });
        await walk(full);
      } else if (st.isFile()) out.push({ path, content: await readFile(full), mode: st.mode & 0o7777 });
    }
  };
  await walk(root);
  return out;
}

export interface PlatformImage {
  platform: Platform;
  layers: Buffer[];
  config?: { Entrypoint?: string[]; Cmd?: string[]; Env?: string[]; WorkingDir?: string };
  /** Say another platform in the config than the index does (a mislabeled config). */
  configPlatform?: Platform;
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function putBlob(base: string, body: Buffer): Promise<string> {
  const digest = sha(body);
  const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`upload start: ${start.status}`);
  const location = new URL(start.headers.get('location')!, base);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`blob put: ${put.status} ${await put.text()}`);
  return digest;
}

/** One manifest PUT, and the registry's answer as it is: its status and body. */
export async function sendManifest(
  registry: string,
  repository: string,
  reference: string,
  mediaType: string,
  body: Buffer,
): Promise<{ status: number; text: string }> {
  const r = await fetch(`http://${registry}/v2/${repository}/manifests/${reference}`, {
    method: 'PUT',
    body,
    headers: { 'content-type': mediaType },
  });
  return { status: r.status, text: await r.text() };
}

async function putManifest(base: string, reference: string, mediaType: string, body: Buffer): Promise<string> {
  const r = await fetch(`${base}/manifests/${reference}`, { method: 'PUT', body, headers: { 'content-type': mediaType } });
  if (r.status !== 201) throw new Error(`manifest put: ${r.status} ${await r.text()}`);
  return sha(body);
}

/** An image made and not pushed: its blobs, each platform's manifest, and the index that lists them. */
export interface MadeImage {
  blobs: Buffer[];
  manifests: Buffer[];
  index: Buffer;
  /** The index's digest. */
  digest: string;
}

/** The image's bytes: layers and configs as blobs, a manifest per platform, the OCI index. Nothing is pushed. */
export function makeImage(images: readonly PlatformImage[]): MadeImage {
  const blobs: Buffer[] = [];
  const made: Buffer[] = [];
  const manifests = [];
  for (const img of images) {
    const layers = [];
    for (const l of img.layers) {
      blobs.push(l);
      layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(l), size: l.length });
    }
    const cp = img.configPlatform ?? img.platform;
    const config = Buffer.from(
      JSON.stringify({
        architecture: cp.architecture,
        os: cp.os,
        ...(cp.variant ? { variant: cp.variant } : {}),
        config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ...img.config },
        rootfs: { type: 'layers', diff_ids: img.layers.map(sha) },
      }),
    );
    blobs.push(config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
        layers,
      }),
    );
    made.push(manifest);
    const p = img.platform;
    manifests.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha(manifest),
      size: manifest.length,
      platform: { os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) },
    });
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
  return { blobs, manifests: made, index, digest: sha(index) };
}

/** Pushes a made image, children first (every blob, every manifest by digest, then the index by tag); returns the index digest. */
export async function pushMade(registry: string, repository: string, tag: string, image: MadeImage): Promise<string> {
  const base = `http://${registry}/v2/${repository}`;
  for (const b of image.blobs) await putBlob(base, b);
  for (const m of image.manifests) await putManifest(base, sha(m), 'application/vnd.oci.image.manifest.v1+json', m);
  return putManifest(base, tag, 'application/vnd.oci.image.index.v1+json', image.index);
}

/** Pushes an OCI index of these platforms to `registry/repository:tag`, children first; returns the index digest. */
export async function pushImage(registry: string, repository: string, tag: string, images: readonly PlatformImage[]): Promise<string> {
  return pushMade(registry, repository, tag, makeImage(images));
}

/** The empty descriptor's content (OCI 1.1): an artifact's config when it has none. */
const EMPTY = Buffer.from('{}');

/**
 * Pushes an artifact of `artifactType` holding `payload`, whose subject is the manifest `subject`
 * (children first: its blobs, then it by digest), and lists it under the referrers tag schema's tag
 * for the subject, `sha256-<hex>` (an index of one descriptor, which carries the artifactType).
 * Returns the artifact manifest's digest.
 */
export async function pushReferrer(
  registry: string,
  repository: string,
  subject: { mediaType: string; digest: string; size: number },
  artifactType: string,
  payload: Buffer,
): Promise<string> {
  const base = `http://${registry}/v2/${repository}`;
  await putBlob(base, EMPTY);
  await putBlob(base, payload);
  const annotations = { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' };
  const artifact = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha(EMPTY), size: EMPTY.length },
      layers: [{ mediaType: artifactType, digest: sha(payload), size: payload.length }],
      subject,
      annotations,
    }),
  );
  const digest = await putManifest(base, sha(artifact), 'application/vnd.oci.image.manifest.v1+json', artifact);
  const tagIndex = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType, digest, size: artifact.length, annotations }],
    }),
  );
  await putManifest(base, subject.digest.replace(':', '-'), 'application/vnd.oci.image.index.v1+json', tagIndex);
  return digest;
}
