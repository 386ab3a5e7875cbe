import { describe, expect, test } from 'vitest';
import { UsageError } from '../../harness/base/errors.ts';
import { formatPlatform, KNOWN_PLATFORMS, parsePlatform, type Platform } from '../../harness/platform/platform.ts';
import { parseShard, shardAssignment, shardLabel, shardPlatforms } from '../../harness/result/shard.ts';

const names = (ps: readonly Platform[]): string[] => ps.map(formatPlatform);

/** A deterministic shuffle (a small LCG), so a failure reproduces. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('parseShard', () => {
  test('reads i/n', () => {
    expect(parseShard('1/2')).toEqual({ index: 1, total: 2 });
    expect(parseShard('2/2')).toEqual({ index: 2, total: 2 });
    expect(parseShard(' 3 / 5 ')).toEqual({ index: 3, total: 5 });
    expect(parseShard('1/1')).toEqual({ index: 1, total: 1 });
    expect(parseShard('64/64')).toEqual({ index: 64, total: 64 });
  });

  test.each([
    ['3/2', /"3\/2" is not a shard: i counts from 1 to n, so 2 shards are 1\/2 to 2\/2\./],
    ['0/2', /"0\/2" is not a shard: i counts from 1 to n/],
    ['a/b', /"a\/b" is not a shard: write it as i\/n, for example 1\/2/],
    ['1/0', /"1\/0" is not a shard: the number of shards n must be from 1 to 64\./],
    ['2', /"2" is not a shard: write it as i\/n/],
    ['1/65', /"1\/65" is not a shard: the number of shards n must be from 1 to 64\./],
    ['', /"" is not a shard/],
    ['1/2/3', /is not a shard/],
    ['-1/2', /is not a shard/],
    ['1.5/2', /is not a shard/],
  ])('refuses %j with one sentence', (text, message) => {
    let error: unknown;
    try {
      parseShard(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message.match(/\.(\s|$)/g)).toHaveLength(1);
  });

  test('shardLabel writes it back', () => {
    expect(shardLabel(parseShard('2/3'))).toBe('2/3');
  });
});

describe('shardPlatforms', () => {
  test('the 13 known platforms: every platform in exactly one shard, for 1 to 5 shards', () => {
    expect(KNOWN_PLATFORMS).toHaveLength(13);
    for (let total = 1; total <= 5; total++) {
      const shards = Array.from({ length: total }, (_, i) => names(shardPlatforms(KNOWN_PLATFORMS, { index: i + 1, total })));
      const all = shards.flat();
      expect(all).toHaveLength(KNOWN_PLATFORMS.length);
      expect(new Set(all)).toEqual(new Set(names(KNOWN_PLATFORMS)));
    }
  });

  test('balanced: shard sizes differ by at most one, also on 7 platforms', () => {
    const seven = KNOWN_PLATFORMS.slice(0, 7);
    for (const list of [KNOWN_PLATFORMS, seven]) {
      for (let total = 1; total <= 6; total++) {
        const sizes = Array.from({ length: total }, (_, i) => shardPlatforms(list, { index: i + 1, total }).length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        expect(sizes.reduce((a, b) => a + b, 0)).toBe(list.length);
      }
    }
  });

  test('independent of the order of the list: the same platform lands in the same shard', () => {
    for (let total = 1; total <= 5; total++) {
      const reference = shardAssignment(KNOWN_PLATFORMS, total);
      for (let seed = 1; seed <= 20; seed++) {
        const list = shuffled(KNOWN_PLATFORMS, seed);
        expect(shardAssignment(list, total)).toEqual(reference);
        for (let index = 1; index <= total; index++) {
          expect(new Set(names(shardPlatforms(list, { index, total })))).toEqual(
            new Set(names(shardPlatforms(KNOWN_PLATFORMS, { index, total }))),
          );
        }
      }
    }
  });

  test('deals the sorted platform strings round-robin', () => {
    const list = ['linux/s390x', 'linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/386'].map(parsePlatform);
    // sorted: linux/386, linux/amd64, linux/arm/v7, linux/arm64, linux/s390x
    // shard 1 gets the 1st, 3rd and 5th of those; each shard lists them in the order it was given
    expect(names(shardPlatforms(list, { index: 1, total: 2 }))).toEqual(['linux/s390x', 'linux/arm/v7', 'linux/386']);
    expect(names(shardPlatforms(list, { index: 2, total: 2 }))).toEqual(['linux/amd64', 'linux/arm64']);
  });

  test('keeps the order of the list within a shard, normalises, and counts a platform given twice once', () => {
    const list: Platform[] = [
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'aarch64' },
      { os: 'linux', architecture: '386' },
    ];
    const one = shardPlatforms(list, { index: 1, total: 1 });
    expect(one).toEqual([list[0], list[1], list[3]]);
    const two = [1, 2].map((index) => shardPlatforms(list, { index, total: 2 }));
    expect(two.flat()).toHaveLength(3);
    expect(
      two
        .flat()
        .map((p) => formatPlatform(parsePlatform(formatPlatform(p))))
        .sort(),
    ).toEqual(['linux/386', 'linux/amd64', 'linux/arm64']);
  });

  test('more shards than platforms: the last shards are empty', () => {
    const two = KNOWN_PLATFORMS.slice(0, 2);
    expect(shardPlatforms(two, { index: 3, total: 3 })).toEqual([]);
    expect(shardPlatforms(two, { index: 1, total: 3 })).toHaveLength(1);
  });

  test('refuses a shard that is not one', () => {
    expect(() => shardPlatforms(KNOWN_PLATFORMS, { index: 3, total: 2 })).toThrow(UsageError);
    expect(() => shardPlatforms(KNOWN_PLATFORMS, { index: 1, total: 0 })).toThrow(UsageError);
  });
});
