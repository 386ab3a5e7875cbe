// `verify` on hostile images pushed to a real registry (the run's registry:2), and on hostile
// answers from a proxy on 127.0.0.1 in front of it: layer entries named with "../" and absolute
// paths, symlinks and hard links pointing out of the image or in a loop, a decompression bomb, a
// blob longer than its descriptor says, a blob and a manifest that trickle or stall, a manifest that
// never ends. Each ends in a report (exit 1: the check that read it failed, with its sentence) or one
// sentence (exit 2), and no file is written outside the harness's own folders. Each verify is given
// a container-structure-test file without command tests and no expectation, so the image is read
// from its layers and never pulled or run by the engine; the layer and verdict caches are off, so
// every byte comes from the registry (or the proxy) each time.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Session } from '../../harness/session/session.ts';
import { probeProgram } from '../../harness/host/probe-program.ts';
import { parsePlatform, type Platform } from '../../harness/platform/platform.ts';
import { startRegistry, type LocalRegistry } from '../../harness/session/local-registry.ts';
import type { PlatformResult, SessionReport } from '../../harness/result/model.ts';
import { pushImage } from './support/oci-push.ts';
import { engineNative } from './support/host-facts.ts';
import { cli, harnessLeftovers, ROOT } from './helpers.ts';

const MiB = 1024 * 1024;
const ctx = new Session();
let registry: LocalRegistry;
let platform: Platform;
let probe: Buffer;
let work: string;
/** In every name a hostile entry gives: whatever lands on this machine's disk with it is found by it. */
const token = `mah-hostile-${process.pid}-${Date.now().toString(36)}`;
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

type Entry = { name: string; type?: 'file' | 'symlink' | 'link'; linkname?: string; data?: string | Buffer };

/** A gzip-compressed tar of exactly these entries, in this order. */
async function layer(entries: readonly Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    const type = e.type ?? 'file';
    pack.entry(
      { name: e.name, type, mode: 0o755, ...(e.linkname !== undefined ? { linkname: e.linkname } : {}) },
      type === 'file' ? Buffer.from(e.data ?? '') : Buffer.alloc(0),
    );
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

/** A ustar header block written by hand: it may claim any size. */
function ustarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000755\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write('00000000000\0', 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write('0', 156, 'latin1');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/** A gzip stream of members: a tar header for `mib` MiB of zeros, then the zeros, 1 MiB a member (about 1 KiB each). */
function bomb(mib: number): Buffer {
  const zeros = gzipSync(Buffer.alloc(MiB));
  return Buffer.concat([
    gzipSync(ustarHeader(`${token}-bomb`, mib * MiB)),
    ...Array.from({ length: mib }, () => zeros),
    gzipSync(Buffer.alloc(1024)),
  ]);
}

/** The probe program of this host's platform, as /usr/bin/probe, started through /bin/app. */
const entryLayer = async () =>
  layer([
    { name: 'usr/bin/probe', data: probe },
    { name: 'bin/app', type: 'symlink', linkname: '../../../../../../usr/bin/probe' },
  ]);

async function push(name: string, layers: Buffer[]): Promise<string> {
  await pushImage(registry.address, `hostile/${name}`, 'test', [{ platform, layers, config: { Entrypoint: ['/bin/app'] } }]);
  return `${registry.address}/hostile/${name}:test`;
}

/** A container-structure-test file of these tests: no command tests, so the image is only read, never run. */
async function testFile(name: string, yaml: string): Promise<string> {
  const file = join(work, `${name}.yaml`);
  await writeFile(file, `schemaVersion: 2.0.0\n${yaml}`);
  return file;
}
const EXISTS = 'fileExistenceTests:\n- name: the entry link\n  path: /bin/app\n  shouldExist: true\n';

async function verify(
  ref: string,
  config: string,
  env: Record<string, string> = {},
): Promise<{ code: number | undefined; out: string; stderr: string; report: SessionReport | null }> {
  const file = `${ROOT}reports/e2e-hostile-${Math.random().toString(36).slice(2, 8)}.json`;
  const r = await cli(['verify', ref, '--quiet', '--json', file, '--config', config], {
    MULTIARCH_BLOB_CACHE: 'off',
    MULTIARCH_CHECK_CACHE: 'off',
    ...env,
  });
  const report = JSON.parse(await readFile(file, 'utf8').catch(() => 'null')) as SessionReport | null;
  await rm(file, { force: true });
  return { code: r.exitCode, out: `${r.stdout}\n${r.stderr}`, stderr: r.stderr, report };
}
const only = (report: SessionReport | null): PlatformResult => {
  expect(report?.platforms).toHaveLength(1);
  return report!.platforms[0]!;
};

function oneSentence(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines[0]).toMatch(/^multiarch-harness: /);
  expect(stderr).not.toMatch(/^\s+at /m);
  return lines[0]!;
}

/** Files and folders named with the token anywhere a hostile name could have reached, and scratch folders left behind. */
async function written(scratchBefore: ReadonlySet<string>): Promise<string[]> {
  const found: string[] = [];
  for (const dir of [tmpdir(), '/tmp', ROOT, `${ROOT}reports`, homedir(), work, '/']) {
    for (const n of await readdir(dir).catch(() => [] as string[])) if (n.includes(token)) found.push(join(dir, n));
  }
  for (const n of await readdir(tmpdir())) if (/^mah-verify-/.test(n) && !scratchBefore.has(n)) found.push(join(tmpdir(), n));
  return found;
}
const scratchNow = async () => new Set((await readdir(tmpdir())).filter((n) => n.startsWith('mah-verify-')));

beforeAll(async () => {
  platform = parsePlatform(await engineNative());
  probe = Buffer.from(probeProgram(platform));
  registry = await startRegistry(ctx);
  work = await mkdtemp(join(tmpdir(), 'mah-e2e-hostile-'));
}, 5 * 60_000);

afterAll(async () => {
  await ctx.cleanup();
  await rm(work, { recursive: true, force: true });
  expect(await harnessLeftovers()).toEqual([]);
});

describe('hostile layers', () => {
  test('"../" and absolute names, links out of the image and in a loop: read inside the image, nothing written outside the harness\'s folders', async () => {
    const ref = await push('escape', [
      await entryLayer(),
      await layer([
        { name: `${'../'.repeat(12)}tmp/${token}-dotdot`, data: 'climbed' },
        { name: `/tmp/${token}-absolute`, data: 'absolute' },
        { name: `${'../'.repeat(12)}${ROOT.replace(/^\//, '')}${token}-root`, data: 'into the checkout' },
        { name: 'etc/passwd', data: `root:x:0:0:${token}:/root:/bin/sh\n` },
        { name: 'app/passwd', type: 'symlink', linkname: `${'../'.repeat(12)}etc/passwd` },
        { name: 'app/hostname', type: 'symlink', linkname: '/etc/hostname' },
        { name: 'app/shadow', type: 'link', linkname: `${'../'.repeat(12)}etc/passwd` },
        { name: 'app/hosts', type: 'link', linkname: '/etc/hosts' },
        { name: 'loop', type: 'symlink', linkname: 'loop' },
      ]),
    ]);
    const config = await testFile(
      'escape',
      [
        'fileExistenceTests:',
        `- name: climbed\n  path: /tmp/${token}-dotdot\n  shouldExist: true`,
        `- name: absolute\n  path: /tmp/${token}-absolute\n  shouldExist: true`,
        `- name: checkout\n  path: ${ROOT}${token}-root\n  shouldExist: true`,
        'fileContentTests:',
        `- name: symlink out\n  path: /app/passwd\n  expectedContents: ['${token}']`,
        `- name: hard link out\n  path: /app/shadow\n  expectedContents: ['${token}']`,
        `- name: this machine's hostname\n  path: /app/hostname\n  expectedContents: ['.']`,
        `- name: this machine's hosts\n  path: /app/hosts\n  expectedContents: ['localhost']`,
        `- name: loop\n  path: /loop\n  expectedContents: ['.']`,
        '',
      ].join('\n'),
    );
    const before = await scratchNow();
    const r = await verify(ref, config);
    expect(r.code, r.out).toBe(1);
    const p = only(r.report);
    expect(p.checks.binary.status, p.checks.binary.message).toBe('pass');
    expect(p.binary).toMatch(/^\/bin\/app: ELF/);
    expect(p.structureTests!.map((t) => [t.name, t.status, t.status === 'fail' ? t.message : ''])).toEqual([
      ['climbed', 'pass', ''],
      ['absolute', 'pass', ''],
      ['checkout', 'pass', ''],
      ['symlink out', 'pass', ''],
      ['hard link out', 'pass', ''],
      ["this machine's hostname", 'fail', 'cannot read /app/hostname: /app/hostname does not exist in the image'],
      ["this machine's hosts", 'fail', 'cannot read /app/hosts: /app/hosts does not exist in the image'],
      ['loop', 'fail', 'cannot read /loop: too many levels of symbolic links at /loop'],
    ]);
    expect(await written(before)).toEqual([]);
  });

  test('a decompression bomb is stopped at the bound with one sentence, its partial tar removed with the scratch folder', async () => {
    // 64 MiB of zeros from about 70 KiB; the bound made 16 MiB so the test writes little (the default is 1 GiB).
    const ref = await push('bomb', [await entryLayer(), bomb(64)]);
    const before = await scratchNow();
    const r = await verify(ref, await testFile('bomb', EXISTS), { MULTIARCH_LAYER_MIN_INFLATED_MIB: '16' });
    expect(r.code, r.out).toBe(1);
    const p = only(r.report);
    expect(p.checks.binary).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(
        /^the file system of [^ ]+ cannot be read: layer 2 of 2 inflates past 16 MiB, the most the harness lets [\d.]+ KiB of compressed layers become \(100 times, or 16 MiB\): a decompression bomb, stopped there/,
      ),
    });
    expect(p.structureTests!.map((t) => t.status)).toEqual(['fail']);
    expect(await written(before)).toEqual([]);
  });
});

describe('hostile answers, from a proxy in front of the registry', () => {
  type Mode = 'padded-blob' | 'trickle-blob' | 'endless-manifest' | 'stall-manifest';
  let mode: Mode;
  let victim = '';
  let proxy: http.Server;
  let proxied = '';
  let ref = '';

  beforeAll(async () => {
    const entry = await entryLayer();
    await push('answers', [entry]);
    const { createHash } = await import('node:crypto');
    victim = `sha256:${createHash('sha256').update(entry).digest('hex')}`;
    const port = Number(registry.address.split(':')[1]);
    proxy = http.createServer((req, res) => {
      const up = http.request({ host: '127.0.0.1', port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        const blob = req.url?.endsWith(`/blobs/${victim}`) && req.method === 'GET';
        const manifest = req.url?.endsWith('/manifests/test') && req.method === 'GET';
        if (blob && mode === 'padded-blob') {
          // Its bytes, then zeros for as long as the reader reads, with no length announced.
          const { 'content-length': _, ...headers } = r.headers;
          res.writeHead(200, headers);
          r.on('data', (c: Buffer) => res.write(c));
          r.on('end', () => {
            const more = () => {
              while (!res.destroyed && res.write(Buffer.alloc(64 * 1024)));
              if (!res.destroyed) res.once('drain', more);
            };
            more();
          });
          return;
        }
        if (blob && mode === 'trickle-blob') {
          res.writeHead(200, r.headers);
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => {
            const body = Buffer.concat(chunks);
            let at = 0;
            const timer = setInterval(() => {
              if (at < body.length) res.write(body.subarray(at, ++at));
            }, 10);
            res.on('close', () => clearInterval(timer));
          });
          return;
        }
        if (manifest && mode === 'endless-manifest') {
          r.resume();
          res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
          const more = () => {
            while (!res.destroyed && res.write(Buffer.alloc(64 * 1024, 0x20)));
            if (!res.destroyed) res.once('drain', more);
          };
          more();
          return;
        }
        if (manifest && mode === 'stall-manifest') {
          res.writeHead(200, r.headers);
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          // Half of it, then nothing.
          r.on('end', () => res.write(Buffer.concat(chunks).subarray(0, 100)));
          return;
        }
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxied = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    ref = `${proxied}/hostile/answers:test`;
  });
  afterAll(async () => {
    proxy.closeAllConnections();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  });

  test('a blob longer than its descriptor says is refused as the bytes come, before its digest could be checked', async () => {
    mode = 'padded-blob';
    const before = await scratchNow();
    const r = await verify(ref, await testFile('padded', EXISTS));
    expect(r.code, r.out).toBe(1);
    expect(only(r.report).checks.binary.message).toMatch(
      new RegExp(
        `cannot be read: ${re(proxied)} served more than the [^ ]+ (bytes|KiB|MiB) its descriptor states for the blob ${victim}: refused there, the rest not read\\.$`,
      ),
    );
    expect(await written(before)).toEqual([]);
  });

  test('a blob that trickles is stopped after two stall bounds (made 1 s here)', async () => {
    mode = 'trickle-blob';
    const before = await scratchNow();
    const r = await verify(ref, await testFile('trickle', EXISTS), { MULTIARCH_HARNESS_REGISTRY_STALL_TIMEOUT_MS: '1000' });
    expect(r.code, r.out).toBe(1);
    expect(only(r.report).checks.binary.message).toMatch(
      new RegExp(
        `The answer to http://${re(proxied)}/v2/hostile/answers/blobs/${victim} came too slowly: \\d+ bytes in the last 2 s, where the harness waits for 64 KiB every 1 s \\(MULTIARCH_HARNESS_REGISTRY_STALL_TIMEOUT_MS\\): stopped there`,
      ),
    );
    expect(await written(before)).toEqual([]);
  });

  test('a manifest that never ends: one sentence at 4 MiB, exit 2', async () => {
    mode = 'endless-manifest';
    const before = await scratchNow();
    const r = await verify(ref, await testFile('endless', EXISTS));
    expect(r.code, r.out).toBe(2);
    expect(oneSentence(r.stderr)).toMatch(
      new RegExp(
        `The answer to http://${re(proxied)}/v2/hostile/answers/manifests/test went past 4 MiB, the most the harness reads of it: refused there, the rest not read\\.`,
      ),
    );
    expect(await written(before)).toEqual([]);
  });

  test('a manifest that stalls in the middle: cut after the stall bound, tried again, then one sentence, exit 2', async () => {
    mode = 'stall-manifest';
    const before = await scratchNow();
    const r = await verify(ref, await testFile('stall', EXISTS), { MULTIARCH_HARNESS_REGISTRY_STALL_TIMEOUT_MS: '1000' });
    expect(r.code, r.out).toBe(2);
    expect(oneSentence(r.stderr)).toMatch(
      new RegExp(
        `stopped answering in the middle of its answer to GET http://${re(proxied)}/v2/hostile/answers/manifests/test: 100 bytes came in [\\d.]+ s, then nothing for 1\\.0 s\\.`,
      ),
    );
    expect(await written(before)).toEqual([]);
  });
});
