/**
 * Go's build info read from real release binaries nobody here built: esbuild's and lefthook's
 * per-architecture npm packages and Debian's Go toolchain, across every Go release from 1.17 to
 * 1.27, 32- and 64-bit, little- and big-endian, with and without section headers.
 *
 * Go 1.18 to 1.27 all write the same blob (inline strings) in a .go.buildinfo section, which Go's
 * linker puts first in the writable data; Go 1.17 wrote pointers to the strings instead. Nothing
 * moved in Go 1.25 or 1.26. esbuild's releases since 0.27 have no blob at all: its Makefile builds
 * a Go whose linker has the buildinfo step commented out (so that scanners reading `go version`
 * stop reporting every Go CVE against esbuild). Their settings come from the runtime's own module
 * info string, their version from runtime.buildVersion.
 *
 * The expected values were observed with independent tools: `go version -m` of Debian's Go 1.24,
 * and `strings` for the binaries it cannot read. Where that Go can run (an amd64 host), each test
 * also compares everything against its output again.
 */
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, test } from 'vitest';
import { checkBinary } from '../../harness/image/binary-rules.ts';
import { readElf, readGoBuildInfo } from '../../harness/image/elf.ts';
import { goTarget, parsePlatform } from '../../harness/platform/platform.ts';
import { debianGos, goVersionM, type DebianGo } from '../support/go-toolchains.ts';
import { npmFile } from '../support/npm-binaries.ts';
import { withoutSectionHeaders } from '../support/elf-edits.ts';

interface Release {
  pkg: string;
  version: string;
  file: string;
  platform: string;
  /** What `go version` says (or, without a blob, what runtime.Version() would). */
  go: string;
  /** The build setting naming the instruction set level, as recorded ("GOARM=7,hardfloat"); none before Go 1.18. */
  level?: string;
  source: 'buildinfo' | 'runtime';
}

const esbuild = (
  arch: string,
  version: string,
  platform: string,
  go: string,
  level: string | undefined,
  source: Release['source'] = 'buildinfo',
): Release => ({
  pkg: version.startsWith('0.14.') ? `esbuild-linux-${arch}` : `@esbuild/linux-${arch}`,
  version,
  file: 'bin/esbuild',
  platform,
  go,
  ...(level ? { level } : {}),
  source,
});
const lefthook = (arch: string, version: string, platform: string, go: string, level: string): Release => ({
  pkg: `lefthook-linux-${arch}`,
  version,
  file: 'bin/lefthook',
  platform,
  go,
  level,
  source: 'buildinfo',
});

const RELEASES: Release[] = [
  // Go 1.17: the blob points at runtime.buildVersion and runtime.modinfo (32/64-bit, both byte orders).
  esbuild('64', '0.14.10', 'linux/amd64', 'go1.17.5', undefined),
  esbuild('arm', '0.14.10', 'linux/arm/v7', 'go1.17.5', undefined),
  esbuild('s390x', '0.14.10', 'linux/s390x', 'go1.17.5', undefined),
  // Go 1.18 onwards: inline strings.
  esbuild('32', '0.14.30', 'linux/386', 'go1.18', 'GO386=sse2'),
  esbuild('mips64le', '0.14.30', 'linux/mips64le', 'go1.18', 'GOMIPS64=hardfloat'),
  esbuild('ppc64', '0.16.17', 'linux/ppc64le', 'go1.19.4', 'GOPPC64=power8'),
  esbuild('riscv64', '0.17.19', 'linux/riscv64', 'go1.20.4', undefined),
  lefthook('arm64', '1.5.0', 'linux/arm64', 'go1.21.1', ''),
  esbuild('loong64', '0.23.1', 'linux/loong64', 'go1.22.5', undefined),
  esbuild('arm', '0.26.0', 'linux/arm/v7', 'go1.23.12', 'GOARM=7,hardfloat'),
  esbuild('s390x', '0.26.0', 'linux/s390x', 'go1.23.12', undefined),
  esbuild('ia32', '0.26.0', 'linux/386', 'go1.23.12', 'GO386=sse2'),
  lefthook('x64', '1.13.0', 'linux/amd64', 'go1.24.7', 'GOAMD64=v1'),
  lefthook('arm64', '2.1.0', 'linux/arm64', 'go1.25.6', 'GOARM64=v8.0'),
  lefthook('x64', '2.1.17', 'linux/amd64', 'go1.26.6', 'GOAMD64=v1'),
  lefthook('arm64', '2.1.17', 'linux/arm64', 'go1.26.6', 'GOARM64=v8.0'),
  lefthook('x64', '2.2.2', 'linux/amd64', 'go1.27.0', 'GOAMD64=v1'),
  // No blob: esbuild's patched linker (Go 1.25 and 1.26), every Linux architecture it ships.
  esbuild('x64', '0.27.7', 'linux/amd64', 'go1.25.7', 'GOAMD64=v1', 'runtime'),
  esbuild('x64', '0.28.2', 'linux/amd64', 'go1.26.5', 'GOAMD64=v1', 'runtime'),
  esbuild('arm64', '0.28.2', 'linux/arm64', 'go1.26.5', 'GOARM64=v8.0', 'runtime'),
  esbuild('arm', '0.28.2', 'linux/arm/v7', 'go1.26.5', 'GOARM=7', 'runtime'),
  esbuild('ia32', '0.28.2', 'linux/386', 'go1.26.5', 'GO386=sse2', 'runtime'),
  esbuild('ppc64', '0.28.2', 'linux/ppc64le', 'go1.26.5', 'GOPPC64=power8', 'runtime'),
  esbuild('s390x', '0.28.2', 'linux/s390x', 'go1.26.5', undefined, 'runtime'),
  esbuild('riscv64', '0.28.2', 'linux/riscv64', 'go1.26.5', 'GORISCV64=rva20u64', 'runtime'),
  esbuild('mips64el', '0.28.2', 'linux/mips64le', 'go1.26.5', 'GOMIPS64=hardfloat', 'runtime'),
  esbuild('loong64', '0.28.2', 'linux/loong64', 'go1.26.5', undefined, 'runtime'),
];

const GO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');

describe('Go build info of release binaries, Go 1.17 to 1.27', () => {
  test.each(RELEASES.map((r) => [`${r.pkg}@${r.version} (${r.go}, ${r.source})`, r] as const))(
    '%s',
    async (_name, r) => {
      const path = await npmFile(r.pkg, r.version, r.file);
      const file = await readFile(path);
      const info = readElf(file);
      const platform = parsePlatform(r.platform);
      const { goarch } = goTarget(platform);
      expect(info.go).toMatchObject({ version: r.go, source: r.source });
      if (r.go === 'go1.17.5') {
        expect(info.go?.settings).toEqual({}); // build settings are recorded since Go 1.18
      } else {
        const [key, value] = r.level ? r.level.split('=') : [];
        expect(info.go?.settings).toMatchObject({ GOOS: 'linux', GOARCH: goarch, ...(key ? { [key]: value } : {}) });
      }
      expect(checkBinary(info, platform)).toMatchObject({ pass: true, problems: [] });

      // The same from the program headers alone.
      expect(readElf(withoutSectionHeaders(file)).go).toEqual(info.go);

      // Without a blob there is no magic anywhere in the file: nothing was moved, it was left out.
      if (r.source === 'runtime') expect(file.indexOf(GO_MAGIC)).toBe(-1);

      const oracle = await goVersionM(path);
      if (oracle === undefined) return;
      if (r.source === 'runtime') expect(oracle, '`go version -m` finds nothing in a binary without the blob').toBeNull();
      else expect({ version: info.go?.version, settings: info.go?.settings }).toEqual(oracle);
    },
    300_000,
  );

  test('esbuild 0.28.2 for arm/v7 fails an arm/v6 platform by its GOARM, found without the blob', async () => {
    const info = readElf(await readFile(await npmFile('@esbuild/linux-arm', '0.28.2', 'bin/esbuild')));
    const verdict = checkBinary(info, parsePlatform('linux/arm/v6'));
    expect(verdict.pass).toBe(false);
    expect(verdict.problems).toEqual(['it is Go code built with GOARM=7, more than linux/arm/v6 (GOARM=6)']);
    expect(verdict.summary).toBe('ELF 32-bit LSB ARM, soft-float, static, go1.26.5 linux/arm GOARM=7');
  }, 300_000);

  test('readGoBuildInfo takes the file alone, as before', async () => {
    const file = await readFile(await npmFile('lefthook-linux-x64', '2.1.17', 'bin/lefthook'));
    expect(readGoBuildInfo(file)).toMatchObject({ version: 'go1.26.6', settings: { GOARCH: 'amd64', GOAMD64: 'v1' } });
    expect(readGoBuildInfo(Buffer.from('not a binary'))).toBeUndefined();
  }, 300_000);
});

describe("Debian trixie's Go toolchain, as Go binaries of seven architectures", () => {
  // Debian's own choices show: armhf's Go is built for ARMv6, i386's without SSE2.
  const cases = [
    ['amd64', 'linux/amd64', 'GOAMD64=v1'],
    ['arm64', 'linux/arm64', 'GOARM64=v8.0'],
    ['armhf', 'linux/arm/v7', 'GOARM=6'],
    ['armel', 'linux/arm/v6', 'GOARM=5'],
    ['i386', 'linux/386', 'GO386=softfloat'],
    ['ppc64el', 'linux/ppc64le', 'GOPPC64=power8'],
    ['s390x', 'linux/s390x', ''],
  ] as const;
  let gos = new Map<string, DebianGo>();
  beforeAll(async () => {
    gos = new Map((await debianGos(cases.map(([arch]) => arch))).map((g) => [g.arch, g]));
  }, 600_000);

  test.each(cases)('golang-1.24-go %s', async (arch, platformText, level) => {
    const go = gos.get(arch)!;
    const info = readElf(await readFile(go.path));
    const platform = parsePlatform(platformText);
    const [key, value] = level ? level.split('=') : [];
    expect(info.go).toMatchObject({
      version: go.goVersion,
      source: 'buildinfo',
      settings: { GOOS: 'linux', GOARCH: goTarget(platform).goarch, ...(key ? { [key]: value } : {}) },
    });
    expect(checkBinary(info, platform).pass).toBe(true);
    const oracle = await goVersionM(go.path);
    if (oracle) expect({ version: info.go?.version, settings: info.go?.settings }).toEqual(oracle);
  });
});
