/**
 * Real binaries of every platform, for tests of the ELF reader: the article's hello.go
 * (samples/hello-go) cross-compiled by the host's Go for each known platform (plus a deliberately
 * "too new" build), and Debian's busybox-static for armel (ARMv5) and armhf (ARMv7). Built once into
 * <state>/corpus/go-hello/<Go version>-<source digest>/ (corpus-cache.ts), so another Go or a
 * changed sample builds afresh; Go's build cache is the state folder's shared one (<state>/go-cache,
 * the stand-ins' builds with the host's Go use it too).
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { goBuild } from '../../setup/go-build.ts';
import { stateDir } from '../../harness/base/state-dir.ts';
import { goTarget, KNOWN_PLATFORMS, platformSlug, type Platform } from '../../harness/platform/platform.ts';
import { corpusDir, exists, tempFolder, withLock } from './corpus-cache.ts';
import { trixiePackages } from './debian-programs.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SAMPLE = join(ROOT, 'samples/hello-go');
const ENV = { GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' };

export interface GoBinary {
  name: string;
  path: string;
  env: Record<string, string>;
}

let buildDir: Promise<string> | undefined;

/** <state>/corpus/go-hello/<the host Go's version>-<digest of the sample's Go sources>. */
function helloDir(): Promise<string> {
  return (buildDir ??= (async () => {
    const { stdout: go } = await execa('go', ['env', 'GOVERSION'], { env: ENV });
    const hash = createHash('sha256');
    for (const name of (await readdir(SAMPLE)).filter((n) => /\.go$|^go\.(mod|sum)$/.test(n)).sort()) {
      hash
        .update(`${name}\0`)
        .update(await readFile(join(SAMPLE, name)))
        .update('\0');
    }
    return join(corpusDir(), 'go-hello', `${go.trim()}-${hash.digest('hex').slice(0, 12)}`);
  })().catch((e: unknown) => {
    buildDir = undefined;
    throw e;
  }));
}

async function cachedHello(name: string, env: Record<string, string>): Promise<GoBinary> {
  const dir = await helloDir();
  const path = join(dir, name);
  if (!(await exists(path))) {
    await withLock('go-hello', async () => {
      if (await exists(path)) return; // built by another process meanwhile
      // Built beside and renamed into place: a reader never sees half a binary.
      const work = await tempFolder('go-hello');
      try {
        await goBuild({ target: '.', out: join(work, name), cwd: SAMPLE, env: { ...ENV, GOCACHE: join(stateDir(), 'go-cache'), ...env } });
        await mkdir(dir, { recursive: true });
        await rename(join(work, name), path);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    });
  }
  return { name, path, env };
}

/** hello for every known platform, with GOARM matching arm variants. */
export async function helloForEveryPlatform(): Promise<Array<{ platform: Platform; binary: GoBinary }>> {
  const out: Array<{ platform: Platform; binary: GoBinary }> = [];
  for (const platform of KNOWN_PLATFORMS) {
    const { goos, goarch, goarm } = goTarget(platform);
    const env: Record<string, string> = { GOOS: goos, GOARCH: goarch, ...(goarm ? { GOARM: goarm } : {}) };
    out.push({ platform, binary: await cachedHello(`hello-${platformSlug(platform)}`, env) });
  }
  return out;
}

/** hello built with GOAMD64=v3: x86-64-v3 code, too new for plain linux/amd64. */
export function helloAmd64V3(): Promise<GoBinary> {
  return cachedHello('hello-amd64-v3', { GOOS: 'linux', GOARCH: 'amd64', GOAMD64: 'v3' });
}

/** Debian trixie's static busybox for one architecture (armel: ARMv5TE soft-float, armhf: ARMv7 hard-float). */
export async function debianBusybox(arch: string): Promise<string> {
  const [pkg] = await trixiePackages([{ name: 'busybox-static', arch }]);
  return join(pkg!.root, 'usr/bin/busybox');
}
