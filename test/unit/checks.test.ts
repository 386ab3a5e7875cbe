// Each check is a unit with one signature: what it needs in, a CheckResult out. Here they run
// against an in-memory image source (manifests and blobs in maps, layers as tar files made here),
// with the harness's own probe programs as the binaries: small, real ELF files of each platform.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkEntryBinary } from '../../harness/checks/binary-check.ts';
import { checkConfig } from '../../harness/checks/config-check.ts';
import { checkIndex } from '../../harness/checks/index-check.ts';
import { probeProgram } from '../../harness/host/probe-program.ts';
import type { PlatformExecution } from '../../harness/platform/execution-mode.ts';
import { parsePlatform, type Platform } from '../../harness/platform/platform.ts';
import { readIndex, type FetchedManifest, type ImageConfig, type ImageSource } from '../../harness/registry/client.ts';

class MemorySource implements ImageSource {
  readonly manifests = new Map<string, FetchedManifest>();
  readonly blobs = new Map<string, Buffer>();
  async manifest(reference: string): Promise<FetchedManifest> {
    const m = this.manifests.get(reference);
    if (!m) throw new Error(`no manifest ${reference}`);
    return m;
  }
  async blobJson<T>(digest: string): Promise<T> {
    return JSON.parse(this.blobs.get(digest)!.toString('utf8')) as T;
  }
  async blobToFile(digest: string, file: string): Promise<void> {
    await writeFile(file, this.blobs.get(digest)!);
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

/** An image whose config says `claims` and whose /probe is the probe program of `holds`. */
async function image(
  source: MemorySource,
  name: string,
  claims: Platform,
  holds: Platform,
): Promise<{ digest: string; platform: Platform }> {
  const config: ImageConfig = {
    os: claims.os,
    architecture: claims.architecture,
    ...(claims.variant ? { variant: claims.variant } : {}),
    config: { Entrypoint: ['/probe'] },
  };
  source.blobs.set(`sha256:${name}-config`, Buffer.from(JSON.stringify(config)));
  source.blobs.set(`sha256:${name}-layer`, await layerWith({ probe: probeProgram(holds) }));
  const digest = `sha256:${name}-manifest`;
  source.manifests.set(digest, {
    digest,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    body: {
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${name}-config`, size: 1 },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${name}-layer`, size: 1 }],
    },
  });
  return { digest, platform: claims };
}

const qemu = (p: Platform): PlatformExecution => ({
  platform: p,
  mode: 'qemu',
  timeoutFactor: 20,
  observed: true,
  emulator: { handler: 'qemu-aarch64', interpreter: '/q', flags: 'PF' },
});
const amd64 = parsePlatform('linux/amd64');
const arm64 = parsePlatform('linux/arm64');

describe('the checks, on an in-memory image', () => {
  const source = new MemorySource();
  let tmp = '';
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'mah-checks-'));
    const honest = await image(source, 'honest', arm64, arm64);
    const liar = await image(source, 'liar', arm64, amd64);
    const confused = await image(source, 'confused', amd64, amd64);
    source.manifests.set('latest', {
      digest: 'sha256:index',
      mediaType: 'application/vnd.oci.image.index.v1+json',
      body: {
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: honest.digest,
            size: 1,
            platform: { os: 'linux', architecture: 'arm64' },
          },
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: liar.digest,
            size: 1,
            platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
          },
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: confused.digest,
            size: 1,
            platform: { os: 'linux', architecture: 's390x' },
          },
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: 'sha256:att',
            size: 1,
            platform: { os: 'unknown', architecture: 'unknown' },
            annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': 'sha256:gone' },
          },
        ],
      },
    });
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  test('readIndex lists platform entries, leaves out attestations, and names an attestation of a missing manifest', async () => {
    const index = await readIndex(source, 'latest');
    expect(index.entries.map((e) => e.platform)).toEqual([arm64, parsePlatform('linux/arm/v7'), parsePlatform('linux/s390x')]);
    expect(index.problems).toEqual([expect.stringMatching(/refers to sha256:gone, which the index does not list/)]);
  });

  test('index: a listed platform has its entry; a missing one fails naming what is listed', async () => {
    const index = { ...(await readIndex(source, 'latest')), problems: [] };
    expect(checkIndex(index, arm64)).toMatchObject({ result: { status: 'pass' }, entry: { digest: 'sha256:honest-manifest' } });
    expect(checkIndex(index, parsePlatform('linux/riscv64')).result).toEqual({
      status: 'fail',
      message: expect.stringMatching(/no entry for linux\/riscv64 \(it lists linux\/arm64, linux\/arm\/v7, linux\/s390x\)/),
    });
  });

  test("index: a platform an engine's store lists without its content fails, with the source's sentence; the others pass", () => {
    const index = { entries: [{ platform: arm64, digest: 'sha256:a', mediaType: '' }], problems: [], isIndex: true };
    const missing =
      "linux/arm64 is listed by the image's index but its content is not in the engine's store (pull it with --platform linux/arm64, or pull the whole image)";
    const source = { unavailable: (digest: string) => (digest === 'sha256:a' ? missing : undefined) };
    expect(checkIndex(index, arm64, source)).toMatchObject({ result: { status: 'fail', message: missing }, entry: { digest: 'sha256:a' } });
    expect(checkIndex(index, arm64, { unavailable: () => undefined }).result.status).toBe('pass');
  });

  test("config: the config must declare the index entry's platform", async () => {
    const index = await readIndex(source, 'latest');
    expect((await checkConfig(source, index.entries[0]!, arm64)).result).toEqual({ status: 'pass', message: 'linux/arm64' });
    const s390x = await checkConfig(source, index.entries[2]!, parsePlatform('linux/s390x'));
    expect(s390x.result).toEqual({ status: 'fail', message: 'the image config says linux/amd64, the index says linux/s390x' });
  });

  test('binary: the entry program must fit the platform; an amd64 program in an arm64 entry fails, and running it would prove nothing', async () => {
    const honest = await checkConfig(source, { platform: arm64, digest: 'sha256:honest-manifest', mediaType: '' }, arm64);
    const ok = await checkEntryBinary({
      source,
      manifest: honest.manifest!,
      config: honest.config!,
      exec: qemu(arm64),
      native: amd64,
      tmp,
    });
    expect(ok.result.status).toBe('pass');
    expect(ok.summary).toMatch(/^\/probe: ELF 64-bit LSB AArch64/);
    const liar = await checkConfig(source, { platform: arm64, digest: 'sha256:liar-manifest', mediaType: '' }, arm64);
    const bad = await checkEntryBinary({ source, manifest: liar.manifest!, config: liar.config!, exec: qemu(arm64), native: amd64, tmp });
    expect(bad.result.status).toBe('fail');
    expect(bad.result.message).toMatch(
      /x86-64.*runs natively on this linux\/amd64 host, not under qemu-aarch64, so running it proves nothing/,
    );
  });

  test("binary: with --command, the program a run starts is that command line, also where its program is the image's own", async () => {
    const honest = await checkConfig(source, { platform: arm64, digest: 'sha256:honest-manifest', mediaType: '' }, arm64);
    const plain = await checkEntryBinary({
      source,
      manifest: honest.manifest!,
      config: honest.config!,
      exec: qemu(arm64),
      native: amd64,
      tmp,
    });
    const own = plain.binary!.argv[0]!;
    const same = await checkEntryBinary({
      source,
      manifest: honest.manifest!,
      config: honest.config!,
      exec: qemu(arm64),
      native: amd64,
      tmp,
      command: [own, '--other'],
    });
    // The command replaces CMD (the ENTRYPOINT stays, as docker run does): the command line differs from the image's own.
    expect(same.binary!.argv.slice(-2)).toEqual([own, '--other']);
    expect(same.binary!.argv).not.toEqual(plain.binary!.argv);
  });
});
