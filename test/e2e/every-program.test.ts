// verify judges every program an image can run, on images made byte by byte from real software
// nobody here wrote (esbuild's Go release binaries and Sentry's Rust CLI from npm, Debian's
// dynamically linked hello with its loader and libraries, Debian's static busybox), pushed to a
// real registry: honest images pass every check on every platform; the same material mislabeled
// the ways people get it wrong fails on exactly the mislabeled platforms, each failure branch of
// the binary check with its own image, and a registry that lies about a layer is caught.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Session } from '../../harness/session/session.ts';
import { formatPlatform, parsePlatform } from '../../harness/platform/platform.ts';
import { startRegistry, type LocalRegistry } from '../../harness/session/local-registry.ts';
import type { PlatformResult, SessionReport } from '../../harness/result/model.ts';
import { debianDynamicCorpus, goCorpus, rustCorpus, type CorpusTree } from '../support/corpus.ts';
import { debianBusybox } from '../support/real-binaries.ts';
import { pushImage, tarLayer, treeEntries, type LayerEntry, type PlatformImage } from './support/oci-push.ts';
import { cli, harnessLeftovers, ROOT } from './helpers.ts';

const ctx = new Session();
let registry: LocalRegistry;
let go: CorpusTree[];
let rust: CorpusTree[];
let debian: CorpusTree[];
const busybox: Record<string, Buffer> = {};

const byPlatform = (trees: CorpusTree[], p: string) => trees.find((t) => formatPlatform(t.platform) === p)!;

/** One platform's image from a corpus tree, optionally published as another platform. */
async function fromTree(t: CorpusTree, as?: string): Promise<PlatformImage> {
  const platform = as ? parsePlatform(as) : t.platform;
  return { platform, layers: [await tarLayer(await treeEntries(t.root))], config: { Entrypoint: t.command } };
}

async function push(name: string, images: PlatformImage[], reg = registry.address): Promise<string> {
  await pushImage(reg, `every/${name}`, 'test', images);
  return `${reg}/every/${name}:test`;
}

async function verify(ref: string, ...args: string[]): Promise<{ code: number | undefined; report: SessionReport; out: string }> {
  const file = `${ROOT}reports/e2e-every-${Math.random().toString(36).slice(2, 8)}.json`;
  const r = await cli(['verify', ref, '--quiet', '--json', file, ...args]);
  return {
    code: r.exitCode,
    out: `${r.stdout}\n${r.stderr}`,
    report: JSON.parse(await readFile(file, 'utf8').catch(() => 'null')) as SessionReport,
  };
}

const failedOnes = (report: SessionReport) =>
  report.platforms
    .filter((p) => p.status === 'fail')
    .map((p) => p.platform)
    .sort();
const binaryOf = (report: SessionReport, p: string): PlatformResult['checks']['binary'] =>
  report.platforms.find((x) => x.platform === p)!.checks.binary;

beforeAll(async () => {
  registry = await startRegistry(ctx);
  [go, rust, debian] = await Promise.all([goCorpus(), rustCorpus(), debianDynamicCorpus()]);
  for (const arch of ['amd64', 'arm64']) busybox[arch] = await readFile(await debianBusybox(arch));
}, 20 * 60_000);

afterAll(async () => {
  await ctx.cleanup();
  expect(await harnessLeftovers()).toEqual([]);
});

describe('real software, honest and mislabeled', () => {
  for (const [corpus, trees, mislabel] of [
    // esbuild (Go): an arm64 entry holding the amd64 build (runs natively here, so only the binary check sees it); an arm/v6 entry holding the GOARM=7 build (QEMU runs it).
    ['esbuild (Go)', () => go, { 'linux/arm64': 'linux/amd64', 'linux/arm/v6': 'linux/arm/v7' }],
    // Sentry's CLI (Rust, musl): amd64 and arm64 swapped.
    ['sentry-cli (Rust)', () => rust, { 'linux/amd64': 'linux/arm64', 'linux/arm64': 'linux/amd64' }],
    // Debian's hello (C, dynamic): "arm" taken to mean arm64, and armhf (ARMv7) shipped as arm/v5.
    ['Debian hello (C, dynamic)', () => debian, { 'linux/arm/v7': 'linux/arm64', 'linux/arm/v5': 'linux/arm/v7' }],
  ] as const) {
    test(
      `${corpus}: honest passes everywhere; mislabeled fails on exactly the mislabeled platforms`,
      async () => {
        const all = trees();
        const slug = corpus.split(' ')[0]!.toLowerCase().replace(/\W/g, '');
        const honest = await verify(await push(`${slug}-honest`, await Promise.all(all.map((t) => fromTree(t)))));
        expect(honest.code, honest.out).toBe(0);
        expect(honest.report.platforms.map((p) => p.platform).sort()).toEqual(all.map((t) => formatPlatform(t.platform)).sort());
        for (const p of honest.report.platforms)
          expect(
            Object.values(p.checks).map((c) => c.status),
            `${p.platform}: ${p.message}`,
          ).toEqual(['pass', 'pass', 'pass', 'pass']);

        const wrong = mislabel as Record<string, string>;
        const images = await Promise.all([
          ...all.filter((t) => !(formatPlatform(t.platform) in wrong)).map((t) => fromTree(t)),
          ...Object.entries(wrong).map(([as, from]) => fromTree(byPlatform(all, from), as)),
        ]);
        const bad = await verify(await push(`${slug}-mislabeled`, images));
        expect(bad.code, bad.out).toBe(1);
        expect(failedOnes(bad.report)).toEqual(Object.keys(wrong).sort());
        for (const p of Object.keys(wrong)) expect(binaryOf(bad.report, p).status, p).toBe('fail');
      },
      15 * 60_000,
    );
  }
});

describe('each failure branch of the binary check, with an image made to fail it', () => {
  const arm64 = 'linux/arm64';
  let app: { amd64: Buffer; arm64: Buffer };
  beforeAll(async () => {
    app = {
      amd64: await readFile(join(byPlatform(go, 'linux/amd64').root, 'usr/local/bin/esbuild')),
      arm64: await readFile(join(byPlatform(go, arm64).root, 'usr/local/bin/esbuild')),
    };
  });

  /** amd64 honest and arm64 as given; the verdict of each. */
  async function pair(name: string, arm64Layers: LayerEntry[][], config: PlatformImage['config'], ...args: string[]) {
    const amd64Image: PlatformImage = {
      platform: parsePlatform('linux/amd64'),
      layers: [
        await tarLayer([
          { path: '/bin/busybox', content: busybox.amd64! },
          { path: '/bin/sh', type: 'symlink', linkname: 'busybox' },
          { path: '/app', content: app.amd64 },
          { path: '/entrypoint.sh', content: '#!/bin/sh\nexec /app "$@"\n' },
        ]),
      ],
      config,
    };
    const arm64Image: PlatformImage = { platform: parsePlatform(arm64), layers: await Promise.all(arm64Layers.map(tarLayer)), config };
    return verify(await push(name, [amd64Image, arm64Image]), ...args);
  }
  const armBase = (appBytes: () => Buffer): LayerEntry[] => [
    { path: '/bin/busybox', content: busybox.arm64! },
    { path: '/bin/sh', type: 'symlink', linkname: 'busybox' },
    { path: '/app', content: appBytes() },
    { path: '/entrypoint.sh', content: '#!/bin/sh\nexec /app "$@"\n' },
  ];

  test('a wrapper script whose shell fits but whose application is amd64 fails; with the arm64 application it passes', async () => {
    const config = { Entrypoint: ['/entrypoint.sh'], Cmd: ['--version'] };
    const bad = await pair('wrapper-bad', [armBase(() => app.amd64)], config);
    expect(failedOnes(bad.report)).toEqual([arm64]);
    expect(binaryOf(bad.report, arm64).message).toMatch(
      /the entry program \/bin\/busybox \(via \/entrypoint\.sh -> \/bin\/sh\)|1 of 2 ELF files do not fit linux\/arm64: \/app: it is built for x86-64/,
    );
    expect(binaryOf(bad.report, arm64).message).toMatch(/\/app: it is built for x86-64/);
    const good = await pair('wrapper-good', [armBase(() => app.arm64)], config);
    expect(good.code, good.out).toBe(0);
  });

  test("a tini-style wrapper (`busybox env /app`) in front of an amd64 application fails; --command still checks the image's own program", async () => {
    const config = { Cmd: ['/bin/busybox', 'env', '/app', '--version'] };
    const bad = await pair('tini-bad', [armBase(() => app.amd64)], config);
    expect(failedOnes(bad.report)).toEqual([arm64]);
    expect(binaryOf(bad.report, arm64).message).toMatch(
      /^\/bin\/busybox: ELF 64-bit LSB AArch64.*1 of 2 ELF files do not fit linux\/arm64: \/app: it is built for x86-64/,
    );
    // The documented way to check a published image runs busybox's uname, which fits: the application is still judged.
    const withCommand = await pair(
      'tini-bad',
      [armBase(() => app.amd64)],
      config,
      '--expect-uname',
      '--command',
      '/bin/busybox',
      '--command',
      'uname',
      '--command=-m',
    );
    expect(failedOnes(withCommand.report)).toEqual([arm64]);
    expect(withCommand.report.platforms.find((p) => p.platform === arm64)!.checks.run.status).toBe('pass');
  });

  test('a path twice in one layer: the last copy is the one the runtime uses, and the one judged', async () => {
    const config = { Entrypoint: ['/app'], Cmd: ['--version'] };
    const lastForeign = [...armBase(() => app.arm64), { path: '/app', content: app.amd64 }];
    const bad = await pair('twice-bad', [lastForeign], config);
    expect(failedOnes(bad.report)).toEqual([arm64]);
    expect(binaryOf(bad.report, arm64).message).toMatch(/the entry program \/app: it is built for x86-64/);
    const lastFits = [...armBase(() => app.amd64), { path: '/app', content: app.arm64 }];
    const good = await pair('twice-good', [lastFits], config);
    expect(good.code, good.out).toBe(0);
  });

  describe('dynamic programs: loader and libraries', () => {
    let hello: CorpusTree;
    let amd64Hello: CorpusTree;
    beforeAll(() => {
      hello = byPlatform(debian, arm64);
      amd64Hello = byPlatform(debian, 'linux/amd64');
    });
    const config = { Entrypoint: ['/usr/bin/hello'] };
    async function helloVariant(name: string, change: (entries: LayerEntry[]) => Promise<LayerEntry[]> | LayerEntry[]) {
      const entries = await change(await treeEntries(hello.root));
      const images: PlatformImage[] = [
        await fromTree(amd64Hello),
        { platform: parsePlatform(arm64), layers: [await tarLayer(entries)], config },
      ];
      return verify(await push(name, images));
    }
    const without = (entries: LayerEntry[], re: RegExp) => entries.filter((e) => !re.test(e.path));

    test('the honest tree passes', async () => {
      const ok = await helloVariant('hello-ok', (e) => e);
      expect(ok.code, ok.out).toBe(0);
    });

    test('a missing loader fails binary, before and whether or not anything runs', async () => {
      const r = await helloVariant('hello-noloader', (e) => without(e, /ld-linux-aarch64\.so\.1$/));
      expect(failedOnes(r.report)).toEqual([arm64]);
      expect(binaryOf(r.report, arm64).message).toMatch(
        /\/usr\/bin\/hello: its loader \/lib\/ld-linux-aarch64\.so\.1 does not exist in the image/,
      );
    });

    test('a foreign loader (the amd64 one at the arm64 path) fails binary', async () => {
      const x86Loader = await readFile(join(amd64Hello.root, 'lib/x86_64-linux-gnu/ld-linux-x86-64.so.2')).catch(() =>
        readFile(join(amd64Hello.root, 'usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2')),
      );
      const r = await helloVariant('hello-foreignloader', (e) => [
        ...without(e, /ld-linux-aarch64\.so\.1$/),
        { path: '/lib/ld-linux-aarch64.so.1', content: x86Loader },
      ]);
      expect(failedOnes(r.report)).toEqual([arm64]);
      expect(binaryOf(r.report, arm64).message).toMatch(/its loader \/lib\/ld-linux-aarch64\.so\.1 .*is built for x86-64/);
    });

    test('a missing library, and a library of another machine, fail binary', async () => {
      const missing = await helloVariant('hello-nolibc', (e) => without(e, /\/libc\.so\.6$/));
      expect(failedOnes(missing.report)).toEqual([arm64]);
      expect(binaryOf(missing.report, arm64).message).toMatch(
        /\/usr\/bin\/hello needs libc\.so\.6, which is not in the image where the loader looks/,
      );
      const x86Libc = await readFile(join(amd64Hello.root, 'usr/lib/x86_64-linux-gnu/libc.so.6')).catch(() =>
        readFile(join(amd64Hello.root, 'lib/x86_64-linux-gnu/libc.so.6')),
      );
      const foreign = await helloVariant('hello-x86libc', (e) => [
        ...without(e, /\/libc\.so\.6$/),
        { path: '/usr/lib/aarch64-linux-gnu/libc.so.6', content: x86Libc },
      ]);
      expect(failedOnes(foreign.report)).toEqual([arm64]);
      expect(binaryOf(foreign.report, arm64).message).toMatch(
        /needs libc\.so\.6: the only one found, \/usr\/lib\/aarch64-linux-gnu\/libc\.so\.6, is built for x86-64/,
      );
    });
  });

  test('the config, the entry and its kind: a config of another platform fails config; a missing program, or one that is not ELF, fails binary', async () => {
    const config = { Entrypoint: ['/app'], Cmd: ['--version'] };
    const mislabeled = await push('config-bad', [
      { platform: parsePlatform('linux/amd64'), layers: [await tarLayer([{ path: '/app', content: app.amd64 }])], config },
      {
        platform: parsePlatform(arm64),
        configPlatform: parsePlatform('linux/amd64'),
        layers: [await tarLayer([{ path: '/app', content: app.arm64 }])],
        config,
      },
    ]);
    const c = await verify(mislabeled);
    expect(failedOnes(c.report)).toEqual([arm64]);
    expect(c.report.platforms.find((p) => p.platform === arm64)!.checks.config).toMatchObject({
      status: 'fail',
      message: 'the image config says linux/amd64, the index says linux/arm64',
    });

    const missing = await pair('entry-missing', [armBase(() => app.arm64)], { Cmd: ['/usr/bin/nothing-here'] });
    expect(failedOnes(missing.report)).toContain(arm64);
    expect(binaryOf(missing.report, arm64).message).toMatch(
      /the entry program cannot be found: \/usr\/bin\/nothing-here .*does not exist in the image/,
    );
    const notElf = await pair('entry-not-elf', [[...armBase(() => app.arm64), { path: '/data.txt', content: 'just text\n' }]], {
      Cmd: ['/data.txt'],
    });
    expect(binaryOf(notElf.report, arm64)).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/the entry program \/data\.txt is not an ELF file/),
    });
  });

  test('--allow-foreign: an emulator shipped on purpose passes, and the report lists it', async () => {
    const config = { Entrypoint: ['/app'], Cmd: ['--version'] };
    const layers = [[...armBase(() => app.arm64), { path: '/usr/libexec/emulators/app-x86', content: app.amd64 }]];
    const refused = await pair('foreign-files', layers, config);
    expect(failedOnes(refused.report)).toEqual([arm64]);
    const allowed = await pair('foreign-files', layers, config, '--allow-foreign', '/usr/libexec/emulators/**');
    expect(allowed.code, allowed.out).toBe(0);
    expect(binaryOf(allowed.report, arm64).message).toMatch(
      /1 foreign ELF file\(s\) allowed by --allow-foreign \(\/usr\/libexec\/emulators\/app-x86\)/,
    );
  });
});

describe('a registry that lies', () => {
  test("other bytes for one platform's layer fail that platform with both digests; the others pass", async () => {
    const images = await Promise.all(['linux/amd64', 'linux/arm64', 'linux/s390x'].map((p) => fromTree(byPlatform(go, p))));
    await pushImage(registry.address, 'every/liar', 'test', images);
    const { createHash } = await import('node:crypto');
    const victim = `sha256:${createHash('sha256').update(images[1]!.layers[0]!).digest('hex')}`;
    // A proxy on 127.0.0.1 in front of the run's registry that flips one byte of that layer.
    const proxy = http.createServer((req, res) => {
      const up = http.request(
        { host: '127.0.0.1', port: Number(registry.address.split(':')[1]), path: req.url, method: req.method, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          if (!req.url?.endsWith(`/blobs/${victim}`)) return r.pipe(res);
          let first = true;
          r.on('data', (c: Buffer) => {
            if (first && c.length) {
              c[c.length - 1] = c[c.length - 1]! ^ 0xff;
              first = false;
            }
            res.write(c);
          });
          r.on('end', () => res.end());
        },
      );
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const port = (proxy.address() as AddressInfo).port;
      const r = await verify(`127.0.0.1:${port}/every/liar:test`);
      expect(r.code, r.out).toBe(1);
      expect(failedOnes(r.report)).toEqual(['linux/arm64']);
      expect(binaryOf(r.report, 'linux/arm64').message).toMatch(
        new RegExp(`served other content for the blob ${victim}: its bytes have the digest sha256:[0-9a-f]{64}`),
      );
    } finally {
      proxy.close();
    }
  });
});
