/**
 * The platform model: parse, normalise and format OCI platforms (`os/arch[/variant]`), and the
 * facts the harness needs about each architecture (Go's GOARCH/GOARM, Debian's architecture name,
 * the QEMU handler, and what `uname -m` reports natively).
 */
import { UsageError } from '../base/index.ts';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** A platform that cannot be parsed or that the harness knows nothing about: the user's input. */
export class PlatformError extends UsageError {
  override name = 'PlatformError';
}

/** Facts about one architecture (and variant) on Linux. */
interface ArchFacts {
  goarch: string;
  goarm?: string;
  debianArch?: string;
  /** binfmt_misc handler name registered by QEMU for this architecture. */
  qemuHandler: string;
  /** `uname -m` on real hardware of this architecture. */
  unameNative: string;
  /** ELF facts, for checking binaries without running them. */
  elf: { bits: 32 | 64; endian: 'little' | 'big'; machine: number };
}

const EM = { X86_64: 62, I386: 3, ARM: 40, AARCH64: 183, PPC64: 21, S390: 22, RISCV: 243, MIPS: 8, LOONGARCH: 258 };

const ARCHES: Record<string, ArchFacts> = {
  amd64: {
    goarch: 'amd64',
    debianArch: 'amd64',
    qemuHandler: 'qemu-x86_64',
    unameNative: 'x86_64',
    elf: { bits: 64, endian: 'little', machine: EM.X86_64 },
  },
  '386': {
    goarch: '386',
    debianArch: 'i386',
    qemuHandler: 'qemu-i386',
    unameNative: 'i686',
    elf: { bits: 32, endian: 'little', machine: EM.I386 },
  },
  arm64: {
    goarch: 'arm64',
    debianArch: 'arm64',
    qemuHandler: 'qemu-aarch64',
    unameNative: 'aarch64',
    elf: { bits: 64, endian: 'little', machine: EM.AARCH64 },
  },
  'arm/v7': {
    goarch: 'arm',
    goarm: '7',
    debianArch: 'armhf',
    qemuHandler: 'qemu-arm',
    unameNative: 'armv7l',
    elf: { bits: 32, endian: 'little', machine: EM.ARM },
  },
  'arm/v6': {
    goarch: 'arm',
    goarm: '6',
    debianArch: 'armel',
    qemuHandler: 'qemu-arm',
    unameNative: 'armv6l',
    elf: { bits: 32, endian: 'little', machine: EM.ARM },
  },
  'arm/v5': {
    goarch: 'arm',
    goarm: '5',
    qemuHandler: 'qemu-arm',
    unameNative: 'armv5tel',
    elf: { bits: 32, endian: 'little', machine: EM.ARM },
  },
  ppc64le: {
    goarch: 'ppc64le',
    debianArch: 'ppc64el',
    qemuHandler: 'qemu-ppc64le',
    unameNative: 'ppc64le',
    elf: { bits: 64, endian: 'little', machine: EM.PPC64 },
  },
  ppc64: {
    goarch: 'ppc64',
    debianArch: 'ppc64',
    qemuHandler: 'qemu-ppc64',
    unameNative: 'ppc64',
    elf: { bits: 64, endian: 'big', machine: EM.PPC64 },
  },
  s390x: {
    goarch: 's390x',
    debianArch: 's390x',
    qemuHandler: 'qemu-s390x',
    unameNative: 's390x',
    elf: { bits: 64, endian: 'big', machine: EM.S390 },
  },
  riscv64: {
    goarch: 'riscv64',
    debianArch: 'riscv64',
    qemuHandler: 'qemu-riscv64',
    unameNative: 'riscv64',
    elf: { bits: 64, endian: 'little', machine: EM.RISCV },
  },
  mips64le: {
    goarch: 'mips64le',
    debianArch: 'mips64el',
    qemuHandler: 'qemu-mips64el',
    unameNative: 'mips64',
    elf: { bits: 64, endian: 'little', machine: EM.MIPS },
  },
  mips64: { goarch: 'mips64', qemuHandler: 'qemu-mips64', unameNative: 'mips64', elf: { bits: 64, endian: 'big', machine: EM.MIPS } },
  loong64: {
    goarch: 'loong64',
    debianArch: 'loong64',
    qemuHandler: 'qemu-loongarch64',
    unameNative: 'loongarch64',
    elf: { bits: 64, endian: 'little', machine: EM.LOONGARCH },
  },
};

/** Spellings people and tools use for the same architecture, mapped to OCI's names. */
const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  x86: '386',
  i386: '386',
  i686: '386',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  ppc64el: 'ppc64le',
  mips64el: 'mips64le',
  loongarch64: 'loong64',
};

const DEFAULT_VARIANT: Record<string, string | undefined> = { arm: 'v7' };
const ALIAS_VARIANT: Record<string, string> = { armhf: 'v7', armel: 'v6' };

const SEGMENT = /^[a-z0-9_]+$/;

/** Parses `os/arch[/variant]` (or a bare `arch`, meaning linux) into a normalised platform. */
export function parsePlatform(text: string): Platform {
  const trimmed = text.trim().toLowerCase();
  const parts = trimmed.split('/');
  if (trimmed === '' || parts.length > 3 || parts.some((p) => !SEGMENT.test(p))) {
    throw new PlatformError(`"${text}" is not a platform: write it as os/arch[/variant], for example linux/arm64 or linux/arm/v7.`);
  }
  const [os, architecture, variant] = parts.length === 1 ? ['linux', parts[0]!, undefined] : [parts[0]!, parts[1]!, parts[2]];
  return normalizePlatform({ os, architecture, variant: variant ?? ALIAS_VARIANT[architecture] });
}

/** Parses a comma-separated platform list, dropping duplicates (after normalisation). */
export function parsePlatformList(text: string): Platform[] {
  const seen = new Map<string, Platform>();
  for (const item of text.split(',')) {
    if (item.trim() === '') continue;
    const p = parsePlatform(item);
    seen.set(formatPlatform(p), p);
  }
  if (seen.size === 0) throw new PlatformError(`"${text}" names no platform.`);
  return [...seen.values()];
}

/** Normalises as containerd does: arm64/v8 is arm64, arm is arm/v7, amd64/v1 is amd64. */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  const rawArch = p.architecture.toLowerCase();
  const architecture = ARCH_ALIASES[rawArch] ?? rawArch;
  let variant = p.variant?.toLowerCase() || (architecture === rawArch ? undefined : ALIAS_VARIANT[rawArch]);
  if (architecture === 'arm64' && (variant === 'v8' || variant === undefined)) variant = undefined;
  else if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  else if (variant === undefined) variant = DEFAULT_VARIANT[architecture];
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

export function samePlatform(a: Platform, b: Platform): boolean {
  return formatPlatform(normalizePlatform(a)) === formatPlatform(normalizePlatform(b));
}

/** A file-name-safe key: linux/arm/v7 -> linux-arm-v7. */
export function platformSlug(p: Platform): string {
  return formatPlatform(p).replaceAll('/', '-');
}

function facts(p: Platform): ArchFacts | undefined {
  const key = p.variant && p.architecture === 'arm' ? `arm/${p.variant}` : p.architecture;
  return ARCHES[key];
}

export function isKnownArchitecture(p: Platform): boolean {
  return facts(p) !== undefined;
}

function requireFacts(p: Platform): ArchFacts {
  const f = facts(p);
  if (!f) throw new PlatformError(`the harness knows nothing about the architecture of ${formatPlatform(p)}.`);
  return f;
}

/** Go's GOOS/GOARCH/GOARM for a platform (an expectation's {goarch}: `Hello, linux/{goarch}!`). */
export function goTarget(p: Platform): { goos: string; goarch: string; goarm?: string } {
  const f = requireFacts(p);
  return f.goarm ? { goos: p.os, goarch: f.goarch, goarm: f.goarm } : { goos: p.os, goarch: f.goarch };
}

/** The same as environment variables for `go build`: GOOS, GOARCH and, for arm, GOARM. */
export function goTargetEnv(p: Platform): Record<string, string> {
  const { goos, goarch, goarm } = goTarget(p);
  return { GOOS: goos, GOARCH: goarch, ...(goarm ? { GOARM: goarm } : {}) };
}

export function debianArch(p: Platform): string {
  const a = requireFacts(p).debianArch;
  if (!a) throw new PlatformError(`Debian has no architecture for ${formatPlatform(p)}.`);
  return a;
}

export function qemuHandlerName(p: Platform): string {
  return requireFacts(p).qemuHandler;
}

export function unameNative(p: Platform): string {
  return requireFacts(p).unameNative;
}

export function elfFacts(p: Platform): ArchFacts['elf'] {
  return requireFacts(p).elf;
}

/** Every Linux platform the harness knows, in a stable order. */
export const KNOWN_PLATFORMS: readonly Platform[] = Object.keys(ARCHES).map((k) => parsePlatform(`linux/${k}`));

/** Go's GOOS values: the operating systems an image's index may name. */
const KNOWN_OS = new Set([
  'aix',
  'android',
  'darwin',
  'dragonfly',
  'freebsd',
  'illumos',
  'ios',
  'js',
  'linux',
  'netbsd',
  'openbsd',
  'plan9',
  'solaris',
  'wasip1',
  'windows',
]);

/**
 * A platform list a user typed (`--platform`, `--node`, `doctor --require`): as parsePlatformList,
 * and each platform's operating system and architecture must be ones the harness knows, so that a
 * typo (`--platform foo`, which would read as linux/foo) is one sentence before any work.
 */
export function parseKnownPlatformList(text: string): Platform[] {
  const list = parsePlatformList(text);
  for (const item of text.split(',').filter((i) => i.trim() !== '')) {
    const p = parsePlatform(item);
    if (!KNOWN_OS.has(p.os) || !isKnownArchitecture(p))
      throw new PlatformError(
        `"${item.trim()}" is not a platform the harness knows: write it as os/arch[/variant], for example linux/arm64 or linux/arm/v7 (architectures: ${Object.keys(ARCHES).join(', ')}).`,
      );
  }
  return list;
}
