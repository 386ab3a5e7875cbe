/**
 * Does a binary fit the platform its image claims? Its ELF header must (class, byte order,
 * machine); for arm variants the ARM architecture attribute and Go's GOARM must not exceed the
 * variant; for amd64 variants Go's GOAMD64 and the GNU property note's x86-64 ISA level must not
 * exceed it; Go's GOOS/GOARCH must be the platform's. QEMU runs GOARM=7 code on an arm/v6 platform
 * happily, and x86-64-v3 code on any x86-64 host that has AVX2: the hardware the platform names may not.
 */
import type { ElfInfo } from './elf.ts';
import { elfFacts, formatPlatform, goTarget, type Platform } from '../platform/index.ts';

export interface ElfFit {
  pass: boolean;
  /** What the binary is, in a few words: "ELF 32-bit LSB ARM, v7, Go 1.24.4 GOARM=7". */
  summary: string;
  problems: string[];
}

function versionNumber(v: string | undefined): number | undefined {
  const m = /^v?(\d+)/.exec(v ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The build settings that name the instruction set level Go compiled for (cmd/go's cfg.GetArchEnv). */
const GO_LEVEL_SETTINGS = ['GOARM', 'GOARM64', 'GO386', 'GOAMD64', 'GOMIPS', 'GOMIPS64', 'GOPPC64', 'GORISCV64'];

function x86Level(level: number): string {
  return level === 1 ? 'x86-64 baseline' : `x86-64-v${level}`;
}

export function describeElf(e: ElfInfo): string {
  const parts = [`ELF ${e.bits}-bit ${e.endian === 'little' ? 'LSB' : 'MSB'} ${e.machineName}`];
  if (e.armArchName) parts.push(`ARM ${e.armArchName}`);
  if (e.armFloat) parts.push(`${e.armFloat}-float`);
  if (e.x86IsaNeeded) parts.push(`needs ${x86Level(e.x86IsaNeeded)}`);
  parts.push(e.interpreter ? `dynamic (${e.interpreter})` : 'static');
  if (e.go) {
    const s = e.go.settings;
    const extra = GO_LEVEL_SETTINGS.filter((k) => s[k]).map((k) => `${k}=${s[k]}`);
    parts.push(`${e.go.version} ${s.GOOS ?? '?'}/${s.GOARCH ?? '?'}${extra.length ? ` ${extra.join(' ')}` : ''}`);
  }
  return parts.join(', ');
}

export function checkBinary(e: ElfInfo, p: Platform): ElfFit {
  const want = elfFacts(p);
  const platform = formatPlatform(p);
  const problems: string[] = [];
  if (e.bits !== want.bits) problems.push(`it is ${e.bits}-bit, ${platform} is ${want.bits}-bit`);
  if (e.endian !== want.endian) problems.push(`it is ${e.endian}-endian, ${platform} is ${want.endian}-endian`);
  if (e.machine !== want.machine) problems.push(`it is built for ${e.machineName} (e_machine ${e.machine}), not ${platform}`);
  const variant = versionNumber(p.variant);
  if (p.architecture === 'arm' && variant !== undefined) {
    if (e.armArch !== undefined && e.armArch > variant)
      problems.push(`its ARM attributes require ARM ${e.armArchName} (v${e.armArch}), more than ${platform}`);
    const goarm = versionNumber(e.go?.settings.GOARM);
    if (goarm !== undefined && goarm > variant)
      problems.push(`it is Go code built with GOARM=${e.go!.settings.GOARM}, more than ${platform} (GOARM=${variant})`);
  }
  if (p.architecture === 'amd64') {
    const level = versionNumber(e.go?.settings.GOAMD64);
    if (level !== undefined && level > (variant ?? 1))
      problems.push(`it is Go code built with GOAMD64=${e.go!.settings.GOAMD64}, more than ${platform}`);
    if (e.x86IsaNeeded !== undefined && e.x86IsaNeeded > (variant ?? 1))
      problems.push(`it needs ${x86Level(e.x86IsaNeeded)} (GNU property note), more than ${platform}`);
  }
  if (e.go) {
    const { goos, goarch } = goTarget(p);
    const s = e.go.settings;
    if (s.GOARCH && s.GOARCH !== goarch) problems.push(`it is Go code for GOARCH=${s.GOARCH}, not ${goarch}`);
    if (s.GOOS && s.GOOS !== goos) problems.push(`it is Go code for GOOS=${s.GOOS}, not ${goos}`);
  }
  return { pass: problems.length === 0, summary: describeElf(e), problems: [...new Set(problems)] };
}
