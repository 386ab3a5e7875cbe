/**
 * Fetches Debian packages for foreign architectures through a private apt configuration, so the
 * host's own apt sources stay untouched, and extracts them into folders the stand-in images copy.
 * Stand-ins are prepared side by side: apt runs one call at a time per archive (its lists and
 * cache are one folder), the most urgent stand-in's first (withAptRank), and each package is
 * extracted once however many stand-ins ask for it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { AsyncLocalStorage } from 'node:async_hooks';

const rank = new AsyncLocalStorage<number>();

/** Runs fn with its apt calls served before those of any higher rank waiting with them (0 first; none: last). */
export function withAptRank<T>(r: number, fn: () => Promise<T>): Promise<T> {
  return rank.run(r, fn);
}

/** One call at a time; of those waiting, the lowest rank first, then the oldest. */
class AptQueue {
  private busy = false;
  private seq = 0;
  private readonly waiting: Array<{ rank: number; seq: number; start: () => void }> = [];

  run<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({
        rank: rank.getStore() ?? Number.MAX_SAFE_INTEGER,
        seq: this.seq++,
        start: () => {
          fn()
            .then(resolve, reject)
            .finally(() => {
              this.busy = false;
              this.next();
            });
        },
      });
      this.next();
    });
  }

  private next(): void {
    if (this.busy || this.waiting.length === 0) return;
    this.waiting.sort((a, b) => a.rank - b.rank || a.seq - b.seq);
    this.busy = true;
    this.waiting.shift()!.start();
  }
}

/** Whether `archives` holds the .deb of this version (apt names it name_version-without-epoch_arch.deb). */
function hasDeb(archives: string, name: string, arch: string, version: string): boolean {
  return readdirSync(archives).some(
    (f) => f.startsWith(`${name}_`) && f.endsWith(`_${arch}.deb`) && f.includes(version.replace(/^\d+:/, '')),
  );
}

export interface FetchedPackage {
  name: string;
  arch: string;
  version: string;
  /**
   * The .deb's SHA256 as the suite's Packages entry gives it (that list is checked against the
   * suite's InRelease, signed by Debian's archive key). apt-get download checks what it downloads
   * against it; the .deb is checked against it again before it is extracted.
   */
  sha256: string;
  /** Folder the .deb was extracted into (dpkg-deb -x). */
  root: string;
}

export class DebianArchive {
  private readonly dir: string;
  /** One apt call at a time on this archive's folder. */
  private readonly queue = new AptQueue();
  private readonly apt = <T>(fn: () => Promise<T>): Promise<T> => this.queue.run(fn);
  /** Each package's extraction, once: `name:arch` -> its folder. */
  private readonly extracted = new Map<string, Promise<FetchedPackage>>();

  constructor(
    stateDir: string,
    readonly suite: string,
    readonly arches: readonly string[],
  ) {
    this.dir = join(stateDir, `apt-${suite}`);
  }

  private aptOptions(): string[] {
    return [
      '-o',
      `Dir::Etc::sourcelist=${join(this.dir, 'sources.list')}`,
      '-o',
      'Dir::Etc::sourceparts=-',
      '-o',
      `Dir::State::Lists=${join(this.dir, 'lists')}`,
      // A private, persistent package cache: without it every apt-cache call re-reads all lists (~7 s).
      '-o',
      `Dir::Cache=${join(this.dir, 'cache')}`,
      '-o',
      'Dir::Cache::pkgcache=pkgcache.bin',
      '-o',
      'Dir::Cache::srcpkgcache=srcpkgcache.bin',
      '-o',
      `Dir::Cache::archives=${join(this.dir, 'archives')}`,
      '-o',
      `APT::Architectures=${this.arches.join(',')}`,
      '-o',
      'APT::Sandbox::User=root',
    ];
  }

  /** Reads the suite's package lists once; later calls reuse them (pass force to refresh, or ask for other architectures). */
  async update(force = false): Promise<void> {
    await this.apt(() => this.updateNow(force));
  }

  private async updateNow(force: boolean): Promise<void> {
    const lists = join(this.dir, 'lists');
    const have = await readdir(lists).then(
      (f) => f.some((n) => /_Packages(\.\w+)?$/.test(n)),
      () => false,
    );
    const archesFile = join(this.dir, 'architectures');
    const sameArches = (await readFile(archesFile, 'utf8').catch(() => '')) === this.arches.join(',');
    if (have && sameArches && !force) return;
    await mkdir(join(lists, 'partial'), { recursive: true });
    await mkdir(join(this.dir, 'archives', 'partial'), { recursive: true });
    await mkdir(join(this.dir, 'cache'), { recursive: true });
    await writeFile(
      join(this.dir, 'sources.list'),
      `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian ${this.suite} main\n`,
    );
    await execa('apt-get', [...this.aptOptions(), 'update', '-qq']);
    await writeFile(archesFile, this.arches.join(','));
  }

  private readonly versions = new Map<string, string>();
  /** `name:arch` -> the candidate's SHA256 (its Packages entry). */
  private readonly sha256s = new Map<string, string>();

  /** Looks up many packages' candidate versions in one apt-cache call. */
  async lookUp(specs: ReadonlyArray<{ name: string; arch: string }>): Promise<void> {
    const wanted = specs.map(({ name, arch }) => `${name}:${arch}`).filter((s) => !this.versions.has(s));
    if (wanted.length === 0) return;
    await mkdir(join(this.dir, 'cache'), { recursive: true });
    const { stdout } = await this.apt(() =>
      execa('apt-cache', [...this.aptOptions(), 'show', '--no-all-versions', ...wanted], { reject: false }),
    );
    for (const para of stdout.split(/\n\n+/)) {
      const name = /^Package: (.+)$/m.exec(para)?.[1];
      const arch = /^Architecture: (.+)$/m.exec(para)?.[1];
      const version = /^Version: (.+)$/m.exec(para)?.[1];
      const sha256 = /^SHA256: ([0-9a-f]{64})$/m.exec(para)?.[1];
      if (name && arch && version) this.versions.set(`${name}:${arch}`, version);
      if (name && arch && sha256) this.sha256s.set(`${name}:${arch}`, sha256);
    }
  }

  /** Those of `specs` this suite has (in one apt-cache call). */
  async available<T extends { name: string; arch: string }>(specs: readonly T[]): Promise<T[]> {
    await this.lookUp(specs);
    return specs.filter(({ name, arch }) => this.versions.has(`${name}:${arch}`));
  }

  /** The version apt would fetch, without fetching it: part of each stand-in's cache key. */
  async candidateVersion(name: string, arch: string): Promise<string> {
    await this.lookUp([{ name, arch }]);
    const version = this.versions.get(`${name}:${arch}`);
    if (!version) throw new Error(`Debian ${this.suite} has no ${name} for ${arch}.`);
    return version;
  }

  /**
   * apt-get download; when the mirror no longer has a listed version (404: the lists are older than
   * the mirror), the lists are read again once and the download retried. Queued with the other apt
   * calls; `specs` is asked for when the turn comes, so what another stand-in fetched meanwhile is
   * not fetched again.
   */
  private async download(specs: () => string[], cwd: string): Promise<void> {
    await this.apt(async () => {
      const wanted = specs();
      if (wanted.length) await this.downloadNow(wanted, cwd);
    });
  }

  private async downloadNow(specs: string[], cwd: string): Promise<void> {
    const r = await execa('apt-get', [...this.aptOptions(), 'download', ...specs], { cwd, reject: false });
    if (r.exitCode === 0) return;
    if (!/404\s+Not Found/.test(String(r.stderr) + String(r.stdout)))
      throw new Error(`apt-get download ${specs.join(' ')} failed: ${String(r.stderr).trim().split('\n').at(-1)}`);
    await this.updateNow(true);
    this.versions.clear();
    this.sha256s.clear();
    await execa('apt-get', [...this.aptOptions(), 'download', ...specs], { cwd });
  }

  /** Fetches many packages with one apt-get download (the ones not yet extracted), then extracts each. */
  async fetchAll(specs: ReadonlyArray<{ name: string; arch: string }>): Promise<FetchedPackage[]> {
    await this.lookUp(specs);
    const archives = join(this.dir, 'archives');
    await mkdir(archives, { recursive: true });
    const missing: Array<{ name: string; arch: string; version: string }> = [];
    for (const { name, arch } of specs) {
      if (this.extracted.has(`${name}:${arch}`)) continue;
      const version = await this.candidateVersion(name, arch);
      const root = join(this.dir, 'extracted', `${name}_${version.replaceAll(':', '%3a')}_${arch}`);
      if (
        !(await stat(join(root, '.complete')).then(
          () => true,
          () => false,
        ))
      )
        missing.push({ name, arch, version });
    }
    if (missing.length) {
      await this.download(
        () =>
          missing
            .filter((m) => !hasDeb(archives, m.name, m.arch, m.version))
            .map(({ name, arch }) => (arch === 'all' ? name : `${name}:${arch}`)),
        archives,
      );
    }
    const out: FetchedPackage[] = [];
    for (const { name, arch } of specs) out.push(await this.fetch(name, arch));
    return out;
  }

  /** Downloads (once) and extracts (once) one package for one architecture. */
  fetch(name: string, arch: string): Promise<FetchedPackage> {
    const key = `${name}:${arch}`;
    let done = this.extracted.get(key);
    if (!done) {
      done = this.fetchOnce(name, arch);
      this.extracted.set(key, done);
      done.catch(() => this.extracted.delete(key));
    }
    return done;
  }

  private async fetchOnce(name: string, arch: string): Promise<FetchedPackage> {
    const archives = join(this.dir, 'archives');
    const rootOf = (version: string) => join(this.dir, 'extracted', `${name}_${version.replaceAll(':', '%3a')}_${arch}`);
    const debOf = async (version: string) =>
      (await readdir(archives)).find(
        (f) => f.startsWith(`${name}_`) && f.endsWith(`_${arch}.deb`) && f.includes(version.replace(/^\d+:/, '')),
      );
    let version = await this.candidateVersion(name, arch);
    const sha256Of = () => {
      const sha256 = this.sha256s.get(`${name}:${arch}`);
      if (!sha256) throw new Error(`Debian ${this.suite}'s Packages entry of ${name}:${arch} has no SHA256.`);
      return sha256;
    };
    if (
      await stat(join(rootOf(version), '.complete')).then(
        () => true,
        () => false,
      )
    )
      return { name, arch, version, sha256: sha256Of(), root: rootOf(version) };
    if (!(await debOf(version))) {
      const wanted = version;
      await this.download(() => (hasDeb(archives, name, arch, wanted) ? [] : [arch === 'all' ? name : `${name}:${arch}`]), archives);
      version = await this.candidateVersion(name, arch); // the lists may have been read again
    }
    const deb = await debOf(version);
    if (!deb) throw new Error(`apt-get download ${name}:${arch} left no .deb in ${archives}.`);
    const sha256 = sha256Of();
    const actual = createHash('sha256');
    for await (const chunk of createReadStream(join(archives, deb))) actual.update(chunk as Buffer);
    if (actual.digest('hex') !== sha256) {
      await rm(join(archives, deb), { force: true }); // fetched again next time
      throw new Error(`${join(archives, deb)} is not the .deb Debian ${this.suite} lists (SHA256 ${sha256}): removed.`);
    }
    const root = rootOf(version);
    await rm(root, { recursive: true, force: true });
    await mkdir(root, { recursive: true });
    await execa('dpkg-deb', ['-x', join(archives, deb), root]);
    await execa('touch', [join(root, '.complete')]);
    return { name, arch, version, sha256, root };
  }
}
