/**
 * Debian's Go toolchain (trixie's golang-1.24-go) in two roles: its `go` binaries, one per
 * architecture, are real Go programs nobody here built; and, on an amd64 host, its `go version -m`
 * is an independent reader of any Go binary of any architecture, to hold our reader against.
 */
import { join } from 'node:path';
import { execa } from 'execa';
import { TRIXIE_ARCHES, trixiePackages } from './debian-programs.ts';

const PACKAGE = 'golang-1.24-go';

/** The architectures go-buildinfo.test.ts reads Debian's Go of (the set-up fetches these). */
export const GO_ARCHES = ['amd64', 'arm64', 'armhf', 'armel', 'i386', 'ppc64el', 's390x'] as const satisfies ReadonlyArray<
  (typeof TRIXIE_ARCHES)[number]
>;

export interface DebianGo {
  arch: string;
  /** The toolchain's own version, from the package's: 1.24.4-1 -> go1.24.4. */
  goVersion: string;
  path: string;
}

/** /usr/lib/go-1.24/bin/go of some trixie architectures, fetched once, together (one package lookup). */
export async function debianGos(arches: ReadonlyArray<(typeof TRIXIE_ARCHES)[number]>): Promise<DebianGo[]> {
  const fetched = await trixiePackages(arches.map((arch) => ({ name: PACKAGE, arch })));
  return fetched.map((pkg) => ({
    arch: pkg.arch,
    goVersion: `go${pkg.version.replace(/^\d+:/, '').replace(/[-+~].*$/, '')}`,
    path: join(pkg.root, 'usr/lib/go-1.24/bin/go'),
  }));
}

let hostGo: Promise<DebianGo> | undefined;

export interface GoVersionM {
  version: string;
  /** The "build" lines: KEY -> VALUE. */
  settings: Record<string, string>;
}

/**
 * `go version -m <file>` by Debian's Go, parsed; null when it says the file is not a Go executable;
 * undefined when this host cannot run that Go (it is built for amd64).
 */
export async function goVersionM(file: string): Promise<GoVersionM | null | undefined> {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  const go = await (hostGo ??= debianGos(['amd64']).then(([g]) => g!));
  // GOTOOLCHAIN=local: the go command must not try to fetch another toolchain; the version is read, not run.
  const r = await execa(go.path, ['version', '-m', file], { reject: false, env: { GOTOOLCHAIN: 'local', GOFLAGS: '' } });
  if (r.exitCode !== 0) {
    if (/not a Go executable/.test(String(r.stderr))) return null;
    throw new Error(`go version -m ${file} failed: ${String(r.stderr).trim()}`);
  }
  const lines = String(r.stdout).split('\n');
  const version = lines[0]!.slice(lines[0]!.lastIndexOf(': ') + 2).trim();
  const settings: Record<string, string> = {};
  for (const line of lines) {
    const m = /^\tbuild\t([^=]+)=(.*)$/.exec(line);
    if (m) settings[m[1]!] = m[2]!;
  }
  return { version, settings };
}
