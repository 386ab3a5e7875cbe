import { describe, expect, test } from 'vitest';
import { parseHandler, type BinfmtHandler } from '../../harness/host/binfmt.ts';
import { classify } from '../../harness/platform/execution-mode.ts';
import type { PlatformObservation } from '../../harness/platform/observation.ts';
import { elfHeaderOf } from '../../harness/host/probe-program.ts';
import { matchingHandler } from '../../harness/host/binfmt.ts';
import { judge } from '../../harness/platform/expectations.ts';
import { parsePlatform } from '../../harness/platform/platform.ts';

const handler = (name: string, flags = 'PF', enabled = true): BinfmtHandler => ({
  name,
  enabled,
  flags,
  interpreter: `/usr/libexec/qemu-binfmt/${name.replace('qemu-', '')}-binfmt-P`,
});

const amd64Host = (handlers: BinfmtHandler[]) => ({
  native: parsePlatform('linux/amd64'),
  handlers,
  qemuVersions: { '/usr/libexec/qemu-binfmt/arm-binfmt-P': '7.2.22' },
});

describe('classify on an amd64 host', () => {
  const host = amd64Host([handler('qemu-aarch64'), handler('qemu-arm'), handler('qemu-mips64el'), handler('qemu-riscv64', 'P')]);

  test('amd64 is native, any microarchitecture level', () => {
    expect(classify(parsePlatform('linux/amd64'), host)).toMatchObject({ mode: 'native', expectedUname: 'x86_64', timeoutFactor: 1 });
    expect(classify(parsePlatform('linux/amd64/v3'), host).mode).toBe('native');
  });

  test('386 runs in compat mode and reports the 64-bit kernel', () => {
    expect(classify(parsePlatform('linux/386'), host)).toMatchObject({ mode: 'compat', expectedUname: 'x86_64' });
  });

  test('a registered qemu-i386 handler wins over compat mode', () => {
    expect(classify(parsePlatform('linux/386'), amd64Host([handler('qemu-i386')])).mode).toBe('qemu');
  });

  test('arm/v6 under QEMU reports armv7l, mips64le reports mips64', () => {
    const v6 = classify(parsePlatform('linux/arm/v6'), host);
    expect(v6).toMatchObject({ mode: 'qemu', expectedUname: 'armv7l' });
    expect(v6.emulator).toEqual({
      handler: 'qemu-arm',
      interpreter: '/usr/libexec/qemu-binfmt/arm-binfmt-P',
      flags: 'PF',
      qemuVersion: '7.2.22',
    });
    expect(classify(parsePlatform('linux/mips64le'), host).expectedUname).toBe('mips64');
    expect(classify(parsePlatform('linux/arm64'), host).timeoutFactor).toBeGreaterThan(1);
  });

  test('a missing handler makes the platform unavailable, with the fix', () => {
    const s390x = classify(parsePlatform('linux/s390x'), host);
    expect(s390x.mode).toBe('unavailable');
    expect(s390x.reason).toMatch(/no binfmt_misc handler qemu-s390x/);
    expect(s390x.fix).toMatch(/multiarch-harness setup.*qemu-s390x/);
    expect(s390x.fix).toMatch(/tonistiigi\/binfmt --install s390x/);
  });

  test('a handler without the F flag cannot serve containers', () => {
    expect(classify(parsePlatform('linux/riscv64'), host)).toMatchObject({
      mode: 'unavailable',
      reason: expect.stringMatching(/without the F flag/),
    });
  });

  test('a disabled handler is unavailable', () => {
    expect(classify(parsePlatform('linux/arm64'), amd64Host([handler('qemu-aarch64', 'PF', false)])).reason).toMatch(/disabled/);
  });

  test('another OS is unavailable', () => {
    expect(classify(parsePlatform('windows/amd64'), host).mode).toBe('unavailable');
  });
});

describe('classify on an arm64 host', () => {
  test('arm/v7 is compat without a qemu-arm handler, qemu with one', () => {
    const arm64 = { native: parsePlatform('linux/arm64'), qemuVersions: {} };
    expect(classify(parsePlatform('linux/arm/v7'), { ...arm64, handlers: [] })).toMatchObject({ mode: 'compat', expectedUname: 'aarch64' });
    expect(classify(parsePlatform('linux/arm/v7'), { ...arm64, handlers: [handler('qemu-arm')] }).mode).toBe('qemu');
    expect(classify(parsePlatform('linux/amd64'), { ...arm64, handlers: [] }).mode).toBe('unavailable');
  });

  test('a 32-bit ARM process in compat mode says aarch64: uname(2) answers armv8l only under the LINUX32 personality, which Docker does not set', () => {
    const arm64 = { native: parsePlatform('linux/arm64'), qemuVersions: {}, handlers: [] };
    for (const p of ['linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']) {
      expect(classify(parsePlatform(p), arm64), p).toMatchObject({
        mode: 'compat',
        expectedUname: 'aarch64',
        timeoutFactor: 1,
        observed: false,
      });
      // Observed as such a host answers: the tables agree, so nothing is overruled.
      const seen = classify(parsePlatform(p), { ...arm64, observations: { [p]: ran(p, 'aarch64') } });
      expect(seen, p).toMatchObject({ mode: 'compat', expectedUname: 'aarch64', observed: true });
      expect(seen.tableExpected, p).toBeUndefined();
      // A container printing armv8l fails the run check on this host.
      expect(judge({ kind: 'uname' }, seen, 'armv8l\n'), p).toMatchObject({
        pass: false,
        message: 'expected uname -m aarch64 (compat), got armv8l',
      });
    }
  });
});

describe('parseHandler', () => {
  test('reads the kernel text of a registration', () => {
    const text =
      'enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n';
    expect(parseHandler('qemu-aarch64', text)).toEqual({
      name: 'qemu-aarch64',
      enabled: true,
      interpreter: '/usr/libexec/qemu-binfmt/aarch64-binfmt-P',
      flags: 'PF',
      offset: 0,
      magic: '7f454c460201010000000000000000000200b700',
      mask: 'ffffffffffffff00fffffffffffffffffeffffff',
    });
    expect(parseHandler('x', 'disabled\ninterpreter /q\nflags: OCF\n')).toMatchObject({ enabled: false, flags: 'OCF' });
  });

  test('a registration without flags has none (the next line is not read as its flags)', () => {
    const text = 'enabled\ninterpreter /usr/bin/jexec\nflags: \noffset 0\nmagic 504b0304\n';
    expect(parseHandler('jar', text)).toMatchObject({ flags: '', offset: 0, magic: '504b0304' });
  });
});

const ran = (platform: string, machine: string, handler?: string): PlatformObservation => ({
  platform,
  ran: true,
  machine,
  ...(handler ? { handler } : {}),
  durationMs: 1,
});
const failed = (platform: string, error: string, handler?: string): PlatformObservation => ({
  platform,
  ran: false,
  error,
  ...(handler ? { handler } : {}),
  durationMs: 1,
});

describe('classify from what was observed', () => {
  test("386 does not run natively here: unavailable, and the tables' compat guess is named", () => {
    const host = { ...amd64Host([handler('qemu-aarch64')]), observations: { 'linux/386': failed('linux/386', 'exec format error') } };
    const r = classify(parsePlatform('linux/386'), host);
    expect(r).toMatchObject({ mode: 'unavailable', observed: true, tableExpected: { mode: 'compat', uname: 'x86_64' } });
    expect(r.reason).toMatch(/does not run linux\/386 programs itself \(exec format error\)/);
    expect(r.fix).toMatch(/qemu-i386/);
  });

  test('386 through a qemu-i386 handler expects i686, as observed', () => {
    const host = { ...amd64Host([handler('qemu-i386')]), observations: { 'linux/386': ran('linux/386', 'i686', 'qemu-i386') } };
    expect(classify(parsePlatform('linux/386'), host)).toMatchObject({
      mode: 'qemu',
      expectedUname: 'i686',
      observed: true,
      emulator: { handler: 'qemu-i386' },
    });
  });

  test('386 in compat mode reports the 64-bit kernel', () => {
    const host = { ...amd64Host([]), observations: { 'linux/386': ran('linux/386', 'x86_64') } };
    const r = classify(parsePlatform('linux/386'), host);
    expect(r).toMatchObject({ mode: 'compat', expectedUname: 'x86_64', observed: true });
    expect(r.tableExpected).toBeUndefined();
  });

  test('arm does not run in compat on this arm64 host: with qemu-arm it is qemu, armv7l', () => {
    const arm64 = { native: parsePlatform('linux/arm64'), qemuVersions: {}, handlers: [handler('qemu-arm')] };
    const r = classify(parsePlatform('linux/arm/v7'), {
      ...arm64,
      observations: { 'linux/arm/v7': ran('linux/arm/v7', 'armv7l', 'qemu-arm') },
    });
    expect(r).toMatchObject({ mode: 'qemu', expectedUname: 'armv7l', observed: true });
    const none = classify(parsePlatform('linux/arm/v6'), {
      ...arm64,
      handlers: [],
      observations: { 'linux/arm/v6': failed('linux/arm/v6', 'exec format error') },
    });
    expect(none).toMatchObject({ mode: 'unavailable', tableExpected: { mode: 'compat', uname: 'aarch64' } });
  });

  test('the observed uname wins over the table: QEMU reporting another machine', () => {
    const host = { ...amd64Host([handler('qemu-arm')]), observations: { 'linux/arm/v6': ran('linux/arm/v6', 'armv6l', 'qemu-arm') } };
    const r = classify(parsePlatform('linux/arm/v6'), host);
    expect(r).toMatchObject({ mode: 'qemu', expectedUname: 'armv6l', tableExpected: { mode: 'qemu', uname: 'armv7l' } });
  });

  test('a program that crashed under its handler is unavailable, naming the handler', () => {
    const host = {
      ...amd64Host([handler('qemu-s390x')]),
      observations: { 'linux/s390x': failed('linux/s390x', 'killed by SIGSEGV', 'qemu-s390x') },
    };
    expect(classify(parsePlatform('linux/s390x'), host).reason).toMatch(/failed under its handler qemu-s390x .*SIGSEGV/);
  });

  // What observe.ts records when the engine, not the platform, failed: the probe image could not be
  // made, or the probe gave no answer in time (the handler is named all the same: it is matched first).
  const engineFailed = (platform: string, error: string, handler?: string): PlatformObservation => ({
    ...failed(platform, error, handler),
    engineFailure: true,
  });

  test("an engine failure is no observation: 386 on an amd64 host without qemu-i386 stays the tables' compat, x86_64", () => {
    const bare = amd64Host([handler('qemu-aarch64')]);
    const r = classify(parsePlatform('linux/386'), {
      ...bare,
      observations: {
        'linux/386': engineFailed('linux/386', 'the probe image could not be made: Error response from daemon: no space left on device'),
      },
    });
    expect(r).toEqual({ platform: parsePlatform('linux/386'), mode: 'compat', expectedUname: 'x86_64', timeoutFactor: 1, observed: false });
    expect(r).toEqual(classify(parsePlatform('linux/386'), bare));
  });

  test('an engine failure under a handler is no observation either: arm/v7 stays qemu under qemu-arm, armv7l, not unavailable', () => {
    const bare = amd64Host([handler('qemu-arm')]);
    const r = classify(parsePlatform('linux/arm/v7'), {
      ...bare,
      observations: { 'linux/arm/v7': engineFailed('linux/arm/v7', 'no answer within 60 s (a hang)', 'qemu-arm') },
    });
    expect(r).toMatchObject({
      mode: 'qemu',
      expectedUname: 'armv7l',
      observed: false,
      emulator: { handler: 'qemu-arm', qemuVersion: '7.2.22' },
    });
    expect(r.reason).toBeUndefined();
    expect(r.tableExpected).toBeUndefined();
    expect(r).toEqual(classify(parsePlatform('linux/arm/v7'), bare));
  });

  test("an engine failure leaves a platform the tables call unavailable with the tables' reason alone", () => {
    const bare = amd64Host([]);
    const r = classify(parsePlatform('linux/s390x'), {
      ...bare,
      observations: { 'linux/s390x': engineFailed('linux/s390x', 'no answer within 60 s (a hang)') },
    });
    expect(r).toMatchObject({
      mode: 'unavailable',
      observed: false,
      reason: 'no binfmt_misc handler qemu-s390x is registered, so linux/amd64 cannot run linux/s390x binaries.',
    });
    expect(r.reason).not.toContain('hang');
    expect(r).toEqual(classify(parsePlatform('linux/s390x'), bare));
  });

  test('the same probe failing on its own (no engineFailure) is an observation: the kernel refused 386', () => {
    const r = classify(parsePlatform('linux/386'), {
      ...amd64Host([]),
      observations: { 'linux/386': failed('linux/386', 'exec format error') },
    });
    expect(r).toMatchObject({ mode: 'unavailable', observed: true, tableExpected: { mode: 'compat', uname: 'x86_64' } });
  });

  test('amd64 levels share the amd64 observation; arm variants have their own', () => {
    const host = { ...amd64Host([]), observations: { 'linux/amd64': ran('linux/amd64', 'x86_64') } };
    expect(classify(parsePlatform('linux/amd64/v3'), host)).toMatchObject({ mode: 'native', observed: true });
    expect(classify(parsePlatform('linux/arm/v6'), host).observed).toBe(false);
  });
});

describe('matchingHandler', () => {
  const aarch64 = parseHandler(
    'qemu-aarch64',
    'enabled\ninterpreter /q\nflags: PF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n',
  );
  test('the kernel hands an arm64 program to qemu-aarch64, and nothing else to it', () => {
    expect(matchingHandler([aarch64], elfHeaderOf(parsePlatform('linux/arm64')))?.name).toBe('qemu-aarch64');
    expect(matchingHandler([aarch64], elfHeaderOf(parsePlatform('linux/riscv64')))).toBeUndefined();
    expect(matchingHandler([{ ...aarch64, enabled: false }], elfHeaderOf(parsePlatform('linux/arm64')))).toBeUndefined();
  });
});

// Debian's qemu-user-static registrations, copied literally from /usr/share/binfmts/ (update-binfmts'
// format: the bytes as \xNN). qemu-i386 and qemu-x86_64 from bookworm's arm64 package
// 1:7.2+dfsg-7+deb12u18+b3 (Debian registers no x86 emulator on x86; trixie's qemu-user 10.0.13 has
// the same bytes in /usr/share/qemu/binfmt.d/), qemu-arm from its amd64 package. Both set
// fix_binary yes and preserve yes: flags PF.
const DEBIAN_BINFMTS = {
  'qemu-i386': {
    interpreter: '/usr/libexec/qemu-binfmt/i386-binfmt-P',
    magic: String.raw`\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00`,
    offset: '0',
    mask: String.raw`\xff\xff\xff\xff\xff\xfe\xfe\xfc\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`,
  },
  'qemu-x86_64': {
    interpreter: '/usr/libexec/qemu-binfmt/x86_64-binfmt-P',
    magic: String.raw`\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00`,
    offset: '0',
    mask: String.raw`\xff\xff\xff\xff\xff\xfe\xfe\xfc\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`,
  },
  'qemu-arm': {
    interpreter: '/usr/libexec/qemu-binfmt/arm-binfmt-P',
    magic: String.raw`\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00`,
    offset: '0',
    mask: String.raw`\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`,
  },
};

/** The registration as the kernel then prints it in /proc/sys/fs/binfmt_misc/<name>, read as the harness reads it. */
function debianHandler(name: keyof typeof DEBIAN_BINFMTS): BinfmtHandler {
  const d = DEBIAN_BINFMTS[name];
  const hex = (escaped: string) => escaped.replaceAll('\\x', '');
  return parseHandler(
    name,
    `enabled\ninterpreter ${d.interpreter}\nflags: PF\noffset ${d.offset}\nmagic ${hex(d.magic)}\nmask ${hex(d.mask)}\n`,
  );
}

// Real ELF headers: the first bytes of Debian bookworm's qemu-user-static 1:7.2+dfsg-7+deb12u18+b3
// /usr/bin/qemu-s390x-static of each architecture (static glibc: EI_OSABI 3, GNU/Linux), and of
// bookworm's amd64 /bin/true (coreutils 9.1-1, a dynamic PIE: EI_OSABI 0, e_type ET_DYN).
const REAL_HEADERS = {
  // ELF32 LSB, ET_EXEC, EM_386.
  i386: '7f454c460101010300000000000000000200030001000000d0ab040834000000a45a83000000000034002000080028001b001a00',
  // ELF32 LSB, ET_EXEC, EM_ARM, e_flags 0x05000400: EABI version 5, hard-float (armhf).
  armhf: '7f454c460101010300000000000000000200280001000000310d01003400000070115f000004000534002000070028001d001c00',
  // ELF64 LSB, ET_DYN (static-pie), EM_X86_64.
  amd64: '7f454c4602010103000000000000000003003e0001000000a09a2000000000004000000000000000109fa1000000000000000000400038000c00400023002200',
  // ELF64 LSB, ET_DYN, EM_X86_64, EI_OSABI 0.
  amd64True:
    '7f454c4602010100000000000000000003003e0001000000d0230000000000004000000000000000908300000000000000000000400038000d0040001f001e00',
  // ELF64 LSB, ET_DYN (static-pie), EM_AARCH64.
  arm64: '7f454c460201010300000000000000000300b7000100000000b1200000000000400000000000000058b59f000000000000000000400038000800400021002000',
};
const header = (name: keyof typeof REAL_HEADERS) => new Uint8Array(Buffer.from(REAL_HEADERS[name], 'hex'));

describe("matchingHandler with Debian's registrations, as the kernel compares ((header ^ magic) & mask)", () => {
  const i386 = debianHandler('qemu-i386');
  const x86_64 = debianHandler('qemu-x86_64');
  const arm = debianHandler('qemu-arm');
  const all = [i386, x86_64, arm];

  test('the registrations read back as the kernel prints them', () => {
    expect(i386).toEqual({
      name: 'qemu-i386',
      enabled: true,
      interpreter: '/usr/libexec/qemu-binfmt/i386-binfmt-P',
      flags: 'PF',
      offset: 0,
      magic: '7f454c4601010100000000000000000002000300',
      mask: 'fffffffffffefefcfffffffffffffffffeffffff',
    });
    // Debian's x86 magic has bits its mask leaves out (01 under fe at EI_DATA and EI_VERSION): no file
    // ANDed with that mask ever equals it, so only a comparison of the masked bits can match.
    const magic = Buffer.from(i386.magic!, 'hex');
    const mask = Buffer.from(i386.mask!, 'hex');
    expect([5, 6].map((i) => [magic[i], mask[i], magic[i]! & ~mask[i]!])).toEqual([
      [0x01, 0xfe, 0x01],
      [0x01, 0xfe, 0x01],
    ]);
  });

  test("Debian's qemu-i386 takes a real 386 executable and the 386 probe", () => {
    expect(matchingHandler([i386], header('i386'))?.name).toBe('qemu-i386');
    expect(matchingHandler(all, header('i386'))?.name).toBe('qemu-i386');
    expect(matchingHandler(all, elfHeaderOf(parsePlatform('linux/386')))?.name).toBe('qemu-i386');
  });

  test("an amd64 executable is not a 386 one: Debian's qemu-i386 leaves it, qemu-x86_64 takes it", () => {
    for (const h of [header('amd64'), header('amd64True'), elfHeaderOf(parsePlatform('linux/amd64'))]) {
      expect(matchingHandler([i386], h)).toBeUndefined();
      expect(matchingHandler([i386, arm], h)).toBeUndefined();
      expect(matchingHandler(all, h)?.name).toBe('qemu-x86_64');
    }
    expect(matchingHandler([x86_64], header('i386'))).toBeUndefined();
    expect(matchingHandler([x86_64], elfHeaderOf(parsePlatform('linux/386')))).toBeUndefined();
  });

  test("Debian's qemu-arm takes a real EABI5 armhf executable and the arm/v5, v6 and v7 probes, and no x86 or arm64 one", () => {
    expect(matchingHandler([arm], header('armhf'))?.name).toBe('qemu-arm');
    expect(matchingHandler(all, header('armhf'))?.name).toBe('qemu-arm');
    for (const p of ['linux/arm/v5', 'linux/arm/v6', 'linux/arm/v7'])
      expect(matchingHandler(all, elfHeaderOf(parsePlatform(p)))?.name, p).toBe('qemu-arm');
    for (const h of [header('i386'), header('amd64'), header('arm64'), elfHeaderOf(parsePlatform('linux/arm64'))])
      expect(matchingHandler([arm], h)).toBeUndefined();
    expect(matchingHandler([i386, x86_64], header('armhf'))).toBeUndefined();
  });

  test('a disabled registration takes nothing, nor does a header shorter than the magic', () => {
    expect(matchingHandler([{ ...i386, enabled: false }], header('i386'))).toBeUndefined();
    expect(matchingHandler([i386], header('i386').slice(0, 19))).toBeUndefined();
  });
});

describe('what uname cannot tell apart', () => {
  test('arm/v5, v6 and v7 under QEMU, mips64 and mips64le, 386 and amd64 in compat mode', async () => {
    const { unameTwins } = await import('../../harness/run-check/run-verdict.ts');
    const host = {
      ...amd64Host([handler('qemu-arm'), handler('qemu-mips64el'), handler('qemu-mips64'), handler('qemu-aarch64')]),
      observations: { 'linux/386': ran('linux/386', 'x86_64'), 'linux/amd64': ran('linux/amd64', 'x86_64') },
    };
    const list = ['linux/amd64', 'linux/386', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm64', 'linux/mips64le', 'linux/mips64'].map((p) =>
      classify(parsePlatform(p), host),
    );
    const twins = unameTwins(list);
    expect(twins.get('linux/386')).toEqual(['linux/amd64']);
    expect(twins.get('linux/arm/v6')).toEqual(['linux/arm/v7']);
    expect(twins.get('linux/mips64')).toEqual(['linux/mips64le']);
    expect(twins.has('linux/arm64')).toBe(false);
  });
});
