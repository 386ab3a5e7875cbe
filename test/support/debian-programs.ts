/**
 * Debian's own binaries for the ELF reader's tests: small dynamically linked C programs (`hello`)
 * and glibc (`libc6`) for every architecture Debian builds, fetched once and unpacked. Trixie comes
 * through the state directory's archive, with the architecture set every other user of it asks for
 * (another set would make each user read the package lists again); mips64el, which trixie dropped,
 * comes from bookworm through an archive of the tests' own under test/.cache/debian.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DebianArchive } from '../../setup/standins/debian-archive.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STATE_DIR = process.env.MULTIARCH_STATE_DIR ?? '/var/lib/multiarch-harness';

export const TRIXIE_ARCHES = ['amd64', 'arm64', 'armhf', 'armel', 'i386', 'ppc64el', 's390x', 'riscv64'] as const;

/**
 * An archive whose package lists are read. DebianArchive.update() looks for lists named
 * "..._Packages", but apt keeps them compressed ("..._Packages.lz4"), so it would read them from the
 * mirror again on every call (7 s, and apt's cache rebuilt after): lists already there for the
 * same architectures are used as they are.
 */
async function archive(stateDir: string, suite: string, arches: string[]): Promise<DebianArchive> {
  const a = new DebianArchive(stateDir, suite, arches);
  const dir = join(stateDir, `apt-${suite}`);
  const lists = await readdir(join(dir, 'lists')).catch(() => [] as string[]);
  const sameArches = (await readFile(join(dir, 'architectures'), 'utf8').catch(() => '')) === arches.join(',');
  if (!sameArches || !arches.every((arch) => lists.some((n) => n.includes(`_binary-${arch}_Packages`)))) await a.update();
  return a;
}

let trixieArchive: Promise<DebianArchive> | undefined;
let bookwormMips: Promise<DebianArchive> | undefined;

export function trixie(): Promise<DebianArchive> {
  return (trixieArchive ??= archive(STATE_DIR, 'trixie', [...TRIXIE_ARCHES]));
}

function bookwormMips64el(): Promise<DebianArchive> {
  return (bookwormMips ??= archive(join(ROOT, 'test/.cache/debian'), 'bookworm', ['mips64el']));
}

export interface DebianProgram {
  arch: string;
  suite: string;
  version: string;
  path: string;
}

/** /usr/bin/hello of every trixie architecture, and of bookworm's mips64el. */
export async function debianHellos(): Promise<DebianProgram[]> {
  const fetched = await (await trixie()).fetchAll(TRIXIE_ARCHES.map((arch) => ({ name: 'hello', arch })));
  const mips = await (await bookwormMips64el()).fetch('hello', 'mips64el');
  return [...fetched.map((f) => ({ ...f, suite: 'trixie' })), { ...mips, suite: 'bookworm' }]
    .map(({ arch, suite, version, root }) => ({ arch, suite, version, path: join(root, 'usr/bin/hello') }));
}

/** The unpacked libc6 of some trixie architectures, by architecture (libc.so.6 is under usr/lib/<triplet>/). */
export async function debianLibcs(arches: ReadonlyArray<(typeof TRIXIE_ARCHES)[number]>): Promise<Map<string, string>> {
  const fetched = await (await trixie()).fetchAll(arches.map((arch) => ({ name: 'libc6', arch })));
  return new Map(fetched.map((f) => [f.arch, f.root]));
}
