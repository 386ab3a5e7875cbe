/**
 * A fake `PlatformContext` (harness/checks/check.ts) for unit tests of one check: every input is given
 * (or left out), nothing is read from a registry or an engine, and each input counts how often it
 * was asked. Also an in-memory image source that counts its reads, for tests of the real context.
 */
import { writeFile } from 'node:fs/promises';
import tar from 'tar-stream';
import type { KeptVerdict } from '../../harness/checks/binary-check-cache.ts';
import type { PlatformContext, Problem, VerifyRequest } from '../../harness/checks/check.ts';
import type { Session } from '../../harness/session/session.ts';
import type { HostProbe } from '../../harness/host/probe.ts';
import type { ImageFilesystem } from '../../harness/image/filesystem.ts';
import type { PlatformExecution } from '../../harness/platform/execution-mode.ts';
import { formatPlatform, parsePlatform, type Platform } from '../../harness/platform/platform.ts';
import type { FetchedManifest, ImageConfig, ImageSource, IndexEntry, IndexView } from '../../harness/registry/client.ts';

/** A session as far as the checks' inputs need one: no phase clock, nothing to clean up. */
export const fakeSession = { phases: undefined } as unknown as Session;

/** A probe as far as the checks read one: the engine's platform and image store, an engine elsewhere. */
export const fakeProbe = (native: Platform = parsePlatform('linux/amd64')): HostProbe =>
  ({ native, imageStore: 'containerd', engineIsLocal: false, dockerEngine: true }) as unknown as HostProbe;

export const fakeRequest = (over: Partial<VerifyRequest> = {}): VerifyRequest => ({
  target: { kind: 'registry', ref: { registry: 'registry.test', repository: 'app', tag: 'latest' } },
  allowForeign: [],
  network: 'none',
  allowSkip: false,
  ...over,
});

export interface FakeInputs {
  exec: PlatformExecution;
  request?: Partial<VerifyRequest>;
  /** The index entry; none: the index does not list the platform. */
  entry?: IndexEntry;
  manifestAndConfig?: { manifest: FetchedManifest; config: ImageConfig } | Problem;
  filesystem?: ImageFilesystem | Problem;
  binaryVerdict?: KeptVerdict;
  present?: boolean;
}

export interface FakePlatformContext extends PlatformContext {
  /** How often each input was asked. */
  readonly asked: Record<
    'entry' | 'runImage' | 'loadRunImage' | 'imagePresent' | 'manifestAndConfig' | 'filesystem' | 'releaseFilesystem' | 'binaryVerdict',
    number
  >;
  /** The progress states said, in order. */
  readonly states: string[];
}

export function fakePlatformContext(i: FakeInputs): FakePlatformContext {
  const asked = {
    entry: 0,
    runImage: 0,
    loadRunImage: 0,
    imagePresent: 0,
    manifestAndConfig: 0,
    filesystem: 0,
    releaseFilesystem: 0,
    binaryVerdict: 0,
  };
  const states: string[] = [];
  const entries = i.entry ? [i.entry] : [];
  const index: IndexView = { entries, problems: [], isIndex: true, digest: `sha256:${'0'.repeat(64)}` };
  const unasked = (what: string) => new Error(`the fake context was asked for ${what}, which the test did not give`);
  return {
    session: fakeSession,
    engineName: 'default',
    probe: fakeProbe(),
    exec: i.exec,
    request: fakeRequest(i.request),
    source: {
      manifest: () => Promise.reject(unasked('a manifest')),
      blobJson: () => Promise.reject(unasked('a blob')),
      blobToFile: () => Promise.reject(unasked('a blob')),
    },
    index,
    scratch: '/nonexistent',
    asked,
    states,
    progress: (state) => void states.push(state),
    entry: () => (asked.entry++, i.entry),
    runImage: () => {
      asked.runImage++;
      if (!i.entry) throw unasked('a pinned image');
      return `registry.test/app@${i.entry.digest}`;
    },
    loadRunImage: async () => void asked.loadRunImage++,
    imagePresent: () => (asked.imagePresent++, i.present),
    manifestAndConfig: async () => {
      asked.manifestAndConfig++;
      if (!i.manifestAndConfig) throw unasked('the manifest and config');
      return i.manifestAndConfig;
    },
    filesystem: async () => {
      asked.filesystem++;
      if (!i.filesystem) throw unasked('the file system');
      return i.filesystem;
    },
    releaseFilesystem: () => void asked.releaseFilesystem++,
    binaryVerdict: async () => (asked.binaryVerdict++, i.binaryVerdict),
  };
}

/** An entry of the index for a platform. */
export const entryFor = (platform: Platform, digest = `sha256:${formatPlatform(platform).replace(/\W/g, '-')}`): IndexEntry => ({
  platform,
  digest,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
});

/** Manifests and blobs in maps, counting every read. */
export class CountingSource implements ImageSource {
  readonly manifests = new Map<string, FetchedManifest>();
  readonly blobs = new Map<string, Buffer>();
  readonly reads = { manifest: 0, blobJson: 0, blobToFile: 0 };
  async manifest(reference: string): Promise<FetchedManifest> {
    this.reads.manifest++;
    const m = this.manifests.get(reference);
    if (!m) throw new Error(`no manifest ${reference}`);
    return m;
  }
  async blobJson<T>(digest: string): Promise<T> {
    this.reads.blobJson++;
    return JSON.parse(this.blobs.get(digest)!.toString('utf8')) as T;
  }
  async blobToFile(digest: string, file: string): Promise<void> {
    this.reads.blobToFile++;
    await writeFile(file, this.blobs.get(digest)!);
  }

  /** One image: a config declaring `platform` with `Entrypoint: ['/probe']`, one layer holding /probe; its manifest's digest. */
  async addImage(name: string, platform: Platform, probe: Uint8Array): Promise<string> {
    const config: ImageConfig = {
      os: platform.os,
      architecture: platform.architecture,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: { Entrypoint: ['/probe'] },
    };
    this.blobs.set(`sha256:${name}-config`, Buffer.from(JSON.stringify(config)));
    this.blobs.set(`sha256:${name}-layer`, await layerWith({ probe }));
    const digest = `sha256:${name}-manifest`;
    this.manifests.set(digest, {
      digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      body: {
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${name}-config`, size: 1 },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${name}-layer`, size: 1 }],
      },
    });
    return digest;
  }
}

async function layerWith(files: Record<string, Uint8Array>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name, mode: 0o755 }, Buffer.from(content));
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
