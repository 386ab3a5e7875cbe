/**
 * Debian's own binaries for the ELF reader's tests: small dynamically linked C programs (`hello`),
 * glibc (`libc6`), busybox-static and Go toolchains for every architecture Debian builds, fetched
 * once and unpacked. Trixie comes through the state folder's shared archive (<state>/apt-trixie,
 * the stand-ins' too), with the architecture set every other user of it asks for (another set
 * would make each user read the package lists again); mips64el, which trixie dropped, comes from
 * bookworm through an archive of the corpus's own under <state>/corpus/debian (corpus-cache.ts).
 *
 * apt checks every .deb against the SHA256 of its entry in the suite's Packages list (itself
 * checked against the suite's InRelease, signed by Debian's archive key), and DebianArchive checks
 * it again before extracting it. What was fetched is recorded in
 * <state>/corpus/debian/fetched/<suite>/<name>_<arch>.json (version, SHA256, folder), so a later
 * run takes it from there without asking apt anything; the packages are not pinned to a version
 * (see corpus.ts: the mirror keeps only a suite's current ones).
 */
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DebianArchive, type FetchedPackage } from '../../setup/standins/debian-archive.ts';
import { stateDir } from '../../harness/base/state-dir.ts';
import { corpusDir, readMarker, withLock, writeMarker } from './corpus-cache.ts';

export const TRIXIE_ARCHES = ['amd64', 'arm64', 'armhf', 'armel', 'i386', 'ppc64el', 's390x', 'riscv64'] as const;

/**
 * An archive whose package lists are read: lists already there for the same architectures are
 * used as they are (reading them from the mirror again takes 7 s, and apt's cache is rebuilt after).
 */
async function archive(dir: string, suite: string, arches: string[]): Promise<DebianArchive> {
  const a = new DebianArchive(dir, suite, arches);
  const apt = join(dir, `apt-${suite}`);
  const lists = await readdir(join(apt, 'lists')).catch(() => [] as string[]);
  const sameArches = (await readFile(join(apt, 'architectures'), 'utf8').catch(() => '')) === arches.join(',');
  if (!sameArches || !arches.every((arch) => lists.some((n) => n.includes(`_binary-${arch}_Packages`)))) await a.update();
  return a;
}

let trixieArchive: Promise<DebianArchive> | undefined;
let bookwormMips: Promise<DebianArchive> | undefined;

function trixie(): Promise<DebianArchive> {
  return (trixieArchive ??= archive(stateDir(), 'trixie', [...TRIXIE_ARCHES]).catch((e: unknown) => {
    trixieArchive = undefined;
    throw e;
  }));
}

function bookwormMips64el(): Promise<DebianArchive> {
  return (bookwormMips ??= archive(join(corpusDir(), 'debian'), 'bookworm', ['mips64el']).catch((e: unknown) => {
    bookwormMips = undefined;
    throw e;
  }));
}

type Source = 'trixie' | 'bookworm';

function recordFile(suite: Source, name: string, arch: string): string {
  return join(corpusDir(), 'debian', 'fetched', suite, `${name}_${arch}.json`);
}

async function recorded(suite: Source, name: string, arch: string): Promise<FetchedPackage | undefined> {
  const r = await readMarker<FetchedPackage>(recordFile(suite, name, arch));
  if (!r || r.name !== name || r.arch !== arch || !/^[0-9a-f]{64}$/.test(r.sha256 ?? '')) return undefined;
  return (await stat(join(r.root, '.complete')).then(
    () => true,
    () => false,
  ))
    ? r
    : undefined;
}

/**
 * Debian packages of one suite, fetched (once: one apt-get download for those missing) and
 * extracted; each as recorded when it was first fetched. One fetcher at a time (the lock "debian").
 */
async function packages(suite: Source, specs: ReadonlyArray<{ name: string; arch: string }>): Promise<FetchedPackage[]> {
  const have = await Promise.all(specs.map(({ name, arch }) => recorded(suite, name, arch)));
  if (have.every((p) => p !== undefined)) return have;
  return withLock('debian', async () => {
    const again = await Promise.all(specs.map(({ name, arch }) => recorded(suite, name, arch)));
    const missing = specs.filter((_, i) => !again[i]);
    const fetched = missing.length ? await (await (suite === 'trixie' ? trixie() : bookwormMips64el())).fetchAll(missing) : [];
    await mkdir(join(corpusDir(), 'debian', 'fetched', suite), { recursive: true });
    for (const p of fetched) await writeMarker(recordFile(suite, p.name, p.arch), p);
    return specs.map(({ name, arch }, i) => again[i] ?? fetched.find((p) => p.name === name && p.arch === arch)!);
  });
}

/** Packages of trixie (of the architectures in TRIXIE_ARCHES), fetched once. */
export function trixiePackages(specs: ReadonlyArray<{ name: string; arch: string }>): Promise<FetchedPackage[]> {
  return packages('trixie', specs);
}

export interface DebianProgram {
  arch: string;
  suite: string;
  version: string;
  path: string;
}

/** /usr/bin/hello of every trixie architecture, and of bookworm's mips64el. */
export async function debianHellos(): Promise<DebianProgram[]> {
  const fetched = await trixiePackages(TRIXIE_ARCHES.map((arch) => ({ name: 'hello', arch })));
  const [mips] = await packages('bookworm', [{ name: 'hello', arch: 'mips64el' }]);
  return [...fetched.map((f) => ({ ...f, suite: 'trixie' })), { ...mips!, suite: 'bookworm' }].map(({ arch, suite, version, root }) => ({
    arch,
    suite,
    version,
    path: join(root, 'usr/bin/hello'),
  }));
}

/**
 * The architectures whose trixie libc6 elf.test.ts reads (the set-up fetches these). Not all of
 * TRIXIE_ARCHES: the mirror has been seen without trixie's libc6 for armel, ppc64el and s390x at
 * the version its lists name.
 */
export const LIBC_ARCHES = ['amd64', 'arm64', 'armhf'] as const satisfies ReadonlyArray<(typeof TRIXIE_ARCHES)[number]>;

/** The unpacked libc6 of some trixie architectures, by architecture (libc.so.6 is under usr/lib/<triplet>/). */
export async function debianLibcs(arches: ReadonlyArray<(typeof TRIXIE_ARCHES)[number]>): Promise<Map<string, string>> {
  const fetched = await trixiePackages(arches.map((arch) => ({ name: 'libc6', arch })));
  return new Map(fetched.map((f) => [f.arch, f.root]));
}
