/**
 * Images made byte by byte for e2e tests, pushed over the distribution API (no engine, no build):
 * layers as tar files with exactly the entries given (a path twice in one layer, a loader that is
 * not there, a library of another machine), configs and a per-platform index. The tests get images
 * no Dockerfile would produce, and the same images honest.
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

async function putManifest(base: string, reference: string, mediaType: string, body: Buffer): Promise<string> {
  const r = await fetch(`${base}/manifests/${reference}`, { method: 'PUT', body, headers: { 'content-type': mediaType } });
  if (r.status !== 201) throw new Error(`manifest put: ${r.status} ${await r.text()}`);
  return sha(body);
}

/** Pushes an OCI index of these platforms to `registry/repository:tag`; returns the index digest. */
export async function pushImage(registry: string, repository: string, tag: string, images: readonly PlatformImage[]): Promise<string> {
  const base = `http://${registry}/v2/${repository}`;
  const manifests = [];
  for (const img of images) {
    const layers = [];
    for (const l of img.layers)
      layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: await putBlob(base, l), size: l.length });
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
    const configDigest = await putBlob(base, config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
        layers,
      }),
    );
    const digest = await putManifest(base, sha(manifest), 'application/vnd.oci.image.manifest.v1+json', manifest);
    const p = img.platform;
    manifests.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest,
      size: manifest.length,
      platform: { os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) },
    });
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
  return putManifest(base, tag, 'application/vnd.oci.image.index.v1+json', index);
}
