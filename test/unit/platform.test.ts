import { describe, expect, test } from 'vitest';
import {
  formatPlatform,
  goTarget,
  KNOWN_PLATFORMS,
  normalizePlatform,
  parsePlatform,
  parsePlatformList,
  PlatformError,
  samePlatform,
  unameNative,
} from '../../harness/platform/platform.ts';

describe('parsePlatform', () => {
  test.each([
    ['linux/amd64', 'linux/amd64'],
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/arm64', 'linux/arm64'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/arm/v6', 'linux/arm/v6'],
    ['linux/amd64/v1', 'linux/amd64'],
    ['linux/amd64/v3', 'linux/amd64/v3'],
    ['arm64', 'linux/arm64'],
    ['linux/x86_64', 'linux/amd64'],
    ['linux/aarch64', 'linux/arm64'],
    ['linux/armhf', 'linux/arm/v7'],
    ['linux/armel', 'linux/arm/v6'],
    ['Linux/PPC64EL', 'linux/ppc64le'],
    ['linux/i386', 'linux/386'],
  ])('%s -> %s', (input, want) => {
    expect(formatPlatform(parsePlatform(input))).toBe(want);
  });

  test.each(['', 'linux/', '/amd64', 'linux/amd64/v8/x', 'linux/arm 64', 'linux;rm -rf /'])('rejects %j with one sentence', (input) => {
    expect(() => parsePlatform(input)).toThrow(PlatformError);
    expect(() => parsePlatform(input)).toThrow(/is not a platform/);
  });

  test('a list drops duplicates after normalisation and keeps order', () => {
    expect(parsePlatformList('linux/arm64/v8, linux/amd64,linux/arm64').map(formatPlatform)).toEqual(['linux/arm64', 'linux/amd64']);
    expect(() => parsePlatformList(' , ')).toThrow(/names no platform/);
  });
});

describe('platform facts', () => {
  test('Go targets: arm variants differ only in GOARM', () => {
    expect(goTarget(parsePlatform('linux/arm/v6'))).toEqual({ goos: 'linux', goarch: 'arm', goarm: '6' });
    expect(goTarget(parsePlatform('linux/arm/v7'))).toEqual({ goos: 'linux', goarch: 'arm', goarm: '7' });
    expect(goTarget(parsePlatform('linux/mips64le'))).toEqual({ goos: 'linux', goarch: 'mips64le' });
  });

  test('uname -m on real hardware', () => {
    expect(unameNative(parsePlatform('linux/arm/v6'))).toBe('armv6l');
    expect(unameNative(parsePlatform('linux/386'))).toBe('i686');
    expect(unameNative(parsePlatform('linux/mips64le'))).toBe('mips64');
  });

  test('every known platform round-trips through format and parse', () => {
    for (const p of KNOWN_PLATFORMS) expect(samePlatform(parsePlatform(formatPlatform(p)), p)).toBe(true);
  });

  test('normalisation is idempotent', () => {
    for (const p of KNOWN_PLATFORMS) expect(normalizePlatform(normalizePlatform(p))).toEqual(normalizePlatform(p));
  });
});
