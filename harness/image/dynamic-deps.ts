/**
 * What a dynamically linked program needs at run time, looked up in the image as the dynamic loader
 * would: its loader (PT_INTERP) must exist and fit the platform, and every library it names
 * (DT_NEEDED), and every library those name, must be found where the loader looks — for glibc:
 * DT_RPATH (when there is no DT_RUNPATH), LD_LIBRARY_PATH from the image's environment, DT_RUNPATH,
 * the directories of /etc/ld.so.conf (with its includes), then the built-in directories (with
 * Debian's multiarch ones: /usr/lib/<triplet>); for musl:
 * LD_LIBRARY_PATH, the paths of the object, /etc/ld-musl-<arch>.path or its defaults. As the loader
 * does, a candidate of another class or machine is passed over; a library found only in such
 * forms is foreign, one found nowhere is missing. `$ORIGIN` is the object's own directory.
 */
import { posix } from 'node:path';
import picomatch from 'picomatch';
import type { ImageFilesystem } from './filesystem.ts';

/** The ELF facts the lookup needs (ElfInfo has them). */
export interface DynamicElf {
  bits: 32 | 64;
  endian: 'little' | 'big';
  machine: number;
  machineName: string;
  interpreter?: string;
  needed?: string[];
  runpath?: string[];
  rpath?: string[];
}

export interface DependencyProblem {
  /** The program whose load would fail. */
  program: string;
  /** The object that names the missing or foreign file (the program itself, or one of its libraries). */
  object: string;
  kind: 'missing-loader' | 'foreign-loader' | 'missing-library' | 'foreign-library';
  /** The file as named: the loader's path, or the library's name. */
  name: string;
  /** Foreign: where it was found, and what it is. */
  found?: string;
  message: string;
}

export interface DependencyLookup {
  fs: ImageFilesystem;
  /** Every ELF file of the image, read already, by path (not following symlinks). */
  elfs: ReadonlyMap<string, DynamicElf>;
  /** The image config's environment (LD_LIBRARY_PATH). */
  env: Record<string, string>;
  /** Does an object fit the platform (class, byte order, machine)? */
  fits: (e: DynamicElf) => boolean;
  /** The image's loader configuration (readLoaderConfig). */
  loader: LoaderConfig;
}

function sameKind(a: DynamicElf, b: DynamicElf): boolean {
  return a.bits === b.bits && a.endian === b.endian && a.machine === b.machine;
}

/** The ELF file a path names in the image, symlinks and hard links followed. */
function elfAt(o: DependencyLookup, path: string): { path: string; elf: DynamicElf } | undefined {
  let real: string;
  try {
    const resolved = o.fs.resolve(path);
    const e = o.fs.entry(resolved);
    // A symlink loop on the way (ELOOP), here or in a hard link's target, is no file: the loader looks on.
    real = e?.type === 'hardlink' && e.linkname ? o.fs.resolve(`/${e.linkname}`) : resolved;
  } catch {
    return undefined;
  }
  const elf = o.elfs.get(real);
  return elf ? { path: real, elf } : undefined;
}

/** Where an image's loaders look besides the objects' own paths: read once per image. */
export interface LoaderConfig {
  /** Directories of /etc/ld.so.conf and the files it includes, in order. */
  ldSoConf: string[];
  /** musl's /etc/ld-musl-<arch>.path files: their directories, by <arch>. */
  musl: Map<string, string[]>;
}

/**
 * What of the loader's configuration is read: each file's first 64 KiB (a real one is a few lines),
 * and 64 files in all (an include of a whole tree, in a hostile image, is not read through: each
 * file read is a pass over its layer).
 */
const CONFIG_FILE_BYTES = 64 * 1024;
const CONFIG_FILES = 64;

/**
 * The loader's configuration files, by their name in a layer's tar: their first bytes are kept by
 * the layer's scan, so reading them costs no second pass over the layer (a file elsewhere, through
 * an include or a symlinked /etc, is still read, by a pass over its layer).
 */
export function loaderConfigBytes(name: string): number | undefined {
  return /^(\.?\/)?etc\/(ld\.so\.conf(\.d\/[^/]+)?|ld-musl-[^/]+\.path)$/.test(name) ? CONFIG_FILE_BYTES : undefined;
}

async function text(fs: ImageFilesystem, path: string): Promise<string | undefined> {
  return fs.read(path, { head: CONFIG_FILE_BYTES }).then(
    (b) => b.toString('utf8'),
    () => undefined,
  );
}

/** /etc/ld.so.conf with its `include` lines (glob patterns) followed, and musl's path files. */
export async function readLoaderConfig(fs: ImageFilesystem): Promise<LoaderConfig> {
  const ldSoConf: string[] = [];
  const seen = new Set<string>();
  const visit = async (file: string, depth: number): Promise<void> => {
    if (depth > 8 || seen.has(file) || seen.size >= CONFIG_FILES) return;
    seen.add(file);
    for (const raw of (await text(fs, file))?.split('\n') ?? []) {
      const line = raw.replace(/#.*/, '').trim();
      const inc = /^include\s+(.+)$/.exec(line);
      if (!inc) {
        ldSoConf.push(...line.split(/[:\s,]+/).filter((d) => d.startsWith('/')));
        continue;
      }
      for (const pattern of inc[1]!.split(/\s+/)) {
        if (seen.size >= CONFIG_FILES) return;
        const abs = pattern.startsWith('/') ? pattern : posix.join(posix.dirname(file), pattern);
        const matches = picomatch(posix.basename(abs), { dot: true });
        for (const name of fs.list(posix.dirname(abs)).filter((n) => matches(n)))
          await visit(posix.join(posix.dirname(abs), name), depth + 1);
      }
    }
  };
  await visit('/etc/ld.so.conf', 0);
  const musl = new Map<string, string[]>();
  for (const name of fs.list('/etc')) {
    const arch = /^ld-musl-(.+)\.path$/.exec(name)?.[1];
    if (arch && musl.size >= CONFIG_FILES) break;
    const dirs = arch
      ? (await text(fs, `/etc/${name}`))
          ?.split(/[:\n]/)
          .map((d) => d.trim())
          .filter(Boolean)
      : undefined;
    if (arch && dirs) musl.set(arch, dirs);
  }
  return { ldSoConf, musl };
}

const MUSL_DEFAULT = ['/lib', '/usr/local/lib', '/usr/lib'];
/** The most directories one object's libraries are looked for in (a hostile LD_LIBRARY_PATH, DT_RUNPATH or ld.so.conf may name a million). */
const SEARCH_DIRS = 1024;

/**
 * Multiarch triplets by ELF machine (and class, byte order): Debian's and Ubuntu's glibc has
 * /lib/<triplet> and /usr/lib/<triplet> in its built-in search path (`ld.so --help` lists them),
 * so a program finds libc there with no /etc/ld.so.conf and no cache at all.
 */
function triplets(e: DynamicElf): string[] {
  const le = e.endian === 'little';
  switch (e.machine) {
    case 62:
      return ['x86_64-linux-gnu'];
    case 3:
      return ['i386-linux-gnu', 'i686-linux-gnu'];
    case 183:
      return ['aarch64-linux-gnu'];
    case 40:
      return ['arm-linux-gnueabihf', 'arm-linux-gnueabi'];
    case 21:
      return le ? ['powerpc64le-linux-gnu'] : ['powerpc64-linux-gnu'];
    case 22:
      return ['s390x-linux-gnu'];
    case 243:
      return ['riscv64-linux-gnu'];
    case 8:
      return e.bits === 64
        ? le
          ? ['mips64el-linux-gnuabi64']
          : ['mips64-linux-gnuabi64']
        : le
          ? ['mipsel-linux-gnu']
          : ['mips-linux-gnu'];
    case 258:
      return ['loongarch64-linux-gnu'];
    default:
      return [];
  }
}

/** glibc's built-in directories, after ld.so.conf: the multiarch ones, then lib64 (64-bit) and lib. */
function glibcDefaults(e: DynamicElf): string[] {
  return [
    ...triplets(e).flatMap((t) => [`/lib/${t}`, `/usr/lib/${t}`]),
    ...(e.bits === 64 ? ['/lib64', '/usr/lib64'] : []),
    '/lib',
    '/usr/lib',
  ];
}

function expandOrigin(dirs: readonly string[] | undefined, object: string, bits: 32 | 64): string[] {
  return (dirs ?? [])
    .filter(Boolean)
    .map((d) => d.replace(/\$(\{ORIGIN\}|ORIGIN)/g, posix.dirname(object)).replace(/\$(\{LIB\}|LIB)/g, bits === 64 ? 'lib64' : 'lib'));
}

/** Checks a program's loader and libraries, transitively. */
export function checkDependencies(o: DependencyLookup, program: string): DependencyProblem[] {
  const root = elfAt(o, program);
  if (!root || (!root.elf.interpreter && !root.elf.needed?.length)) return [];
  const problems: DependencyProblem[] = [];
  const exe = root.elf;
  const interp = exe.interpreter;
  if (interp) {
    const loader = elfAt(o, interp);
    if (!loader) {
      problems.push({
        program,
        object: program,
        kind: 'missing-loader',
        name: interp,
        message: `${program}: its loader ${interp} does not exist in the image`,
      });
    } else if (!o.fits(loader.elf) || !sameKind(loader.elf, exe)) {
      problems.push({
        program,
        object: program,
        kind: 'foreign-loader',
        name: interp,
        found: loader.path,
        message: `${program}: its loader ${interp}${loader.path !== interp ? ` (${loader.path})` : ''} is built for ${loader.elf.machineName} (${loader.elf.bits}-bit), not this platform`,
      });
    }
  }
  const musl = Boolean(interp && /ld-musl-/.test(interp));
  const confDirs = musl
    ? (o.loader.musl.get(/ld-musl-([^.]+)\./.exec(interp!)?.[1] ?? '') ?? MUSL_DEFAULT)
    : [...o.loader.ldSoConf, ...glibcDefaults(exe)];
  const ldLibraryPath = (o.env.LD_LIBRARY_PATH ?? '').split(/[:;]/).filter(Boolean);

  const queue: Array<{ object: string; elf: DynamicElf }> = [{ object: root.path, elf: exe }];
  const done = new Set<string>([root.path]);
  while (queue.length) {
    const { object, elf } = queue.shift()!;
    const runpath = expandOrigin(elf.runpath, object, elf.bits);
    // glibc: DT_RPATH of the object, and of the program, only when the object has no DT_RUNPATH.
    const rpath = elf.runpath?.length
      ? []
      : [...expandOrigin(elf.rpath, object, elf.bits), ...(object !== root.path ? expandOrigin(exe.rpath, root.path, exe.bits) : [])];
    // The first SEARCH_DIRS distinct ones: a real search path is a few dozen, and each is looked up for every library.
    const dirs = [
      ...new Set(musl ? [...ldLibraryPath, ...rpath, ...runpath, ...confDirs] : [...rpath, ...ldLibraryPath, ...runpath, ...confDirs]),
    ].slice(0, SEARCH_DIRS);
    for (const name of elf.needed ?? []) {
      const candidates = name.includes('/') ? [name.startsWith('/') ? name : posix.join('/', name)] : dirs.map((d) => posix.join(d, name));
      let foreign: { path: string; elf: DynamicElf } | undefined;
      let found: { path: string; elf: DynamicElf } | undefined;
      for (const c of candidates) {
        const hit = elfAt(o, c);
        if (!hit) continue;
        if (sameKind(hit.elf, exe)) {
          found = hit;
          break;
        }
        foreign ??= hit;
      }
      if (found) {
        if (!done.has(found.path)) {
          done.add(found.path);
          queue.push({ object: found.path, elf: found.elf });
        }
      } else if (foreign) {
        problems.push({
          program,
          object,
          kind: 'foreign-library',
          name,
          found: foreign.path,
          message: `${object} needs ${name}: the only one found, ${foreign.path}, is built for ${foreign.elf.machineName} (${foreign.elf.bits}-bit)`,
        });
      } else if (!(musl && /^libc\.(musl-[^.]+\.so\.1|so)$/.test(name) && interp && elfAt(o, interp))) {
        // musl's loader is its libc too: a program naming libc.musl-<arch>.so.1 is served by the loader itself.
        problems.push({
          program,
          object,
          kind: 'missing-library',
          name,
          message: `${object} needs ${name}, which is not in the image where the loader looks`,
        });
      }
    }
  }
  return problems;
}
