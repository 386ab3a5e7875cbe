/**
 * Real binaries of every platform, for tests of the ELF reader: the article's hello.go
 * cross-compiled by the host's Go for each known platform (plus a few deliberately "too new"
 * builds), and Debian's busybox-static for armel (ARMv5) and armhf (ARMv7). Built once, cached.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goBuild } from '../../setup/go-build.ts';
import { DebianArchive } from '../../setup/standins/debian-archive.ts';
import { goTarget, KNOWN_PLATFORMS, platformSlug, type Platform } from '../../harness/platform/platform.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CACHE = join(ROOT, 'test/.cache/binaries');

export interface GoBinary {
  name: string;
  path: string;
  env: Record<string, string>;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

async function cachedHello(name: string, env: Record<string, string>): Promise<GoBinary> {
  const path = join(CACHE, name);
  if (!(await exists(path))) {
    await mkdir(CACHE, { recursive: true });
    await goBuild({ target: '.', out: path, cwd: join(ROOT, 'samples/hello-go'), env: { GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local', GOCACHE: join(ROOT, 'test/.cache/go-build'), ...env } });
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

export async function helloWith(name: string, env: Record<string, string>): Promise<GoBinary> {
  return cachedHello(name, env);
}

/** Debian's static busybox for one architecture (armel: ARMv5TE soft-float, armhf: ARMv7 hard-float). */
export async function debianBusybox(arch: string): Promise<string> {
  const archive = new DebianArchive(process.env.MULTIARCH_STATE_DIR ?? '/var/lib/multiarch-harness', 'trixie', ['amd64', 'arm64', 'armhf', 'armel', 'i386', 'ppc64el', 's390x', 'riscv64']);
  await archive.update();
  const pkg = await archive.fetch('busybox-static', arch);
  return join(pkg.root, 'usr/bin/busybox');
}
