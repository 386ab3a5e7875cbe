// The pure parts of `multiarch-harness setup` (harness/host-setup/): the registration line binfmt_misc
// takes, the magic and mask for a platform without a registration, and the host's architecture.
import { describe, expect, test } from 'vitest';
import { parseHandler } from '../../harness/host/index.ts';
import { hostArchitecture, magicFor, registrationLine } from '../../harness/host-setup/index.ts';
import { parsePlatform } from '../../harness/platform/index.ts';

describe('binfmt writes', () => {
  test("a handler's /proc text becomes the registration that recreates it (O left to C, the offset kept)", () => {
    const text = 'disabled\ninterpreter /usr/bin/qemu-s390x-static\nflags: POCF\noffset 0\nmagic 7f454c46\nmask ffffffff\n';
    expect(registrationLine(parseHandler('qemu-s390x', text))).toBe(
      ':qemu-s390x:M:0:\\x7f\\x45\\x4c\\x46:\\xff\\xff\\xff\\xff:/usr/bin/qemu-s390x-static:PCF',
    );
  });

  test('magic and mask from the ELF facts: s390x big-endian 64-bit EM_S390, arm64 little-endian EM_AARCH64; an existing one is kept', () => {
    const s390x = magicFor(parsePlatform('linux/s390x'));
    expect(s390x.magic).toBe('7f454c460202010000000000000000000002' + '0016');
    expect(s390x.mask).toBe('ffffffffffffff00ffffffffffffffff' + 'fffe' + 'ffff');
    expect(magicFor(parsePlatform('linux/arm64')).magic.slice(-8)).toBe('0200b700');
    expect(
      magicFor(parsePlatform('linux/arm64'), { name: 'x', enabled: true, interpreter: '/q', flags: 'F', magic: 'aa', mask: 'ff' }),
    ).toEqual({
      magic: 'aa',
      mask: 'ff',
    });
  });

  test("the host's architecture in OCI words, and none for one the harness knows no emulators for", () => {
    expect(hostArchitecture('x64')).toBe('amd64');
    expect(hostArchitecture('arm64')).toBe('arm64');
    expect(hostArchitecture('mips')).toBeUndefined();
  });
});
