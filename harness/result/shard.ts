/**
 * Shards: `--shard i/n` runs a stable share of a run's platforms, so that a CI matrix of n jobs,
 * one per shard, covers every platform exactly once; `report merge` (report/merge.ts) puts the n
 * shard reports back together into one.
 *
 * The share is a deal, not a hash: the platforms are normalised, their `os/arch[/variant]` strings
 * sorted, and dealt round-robin, the first to shard 1, the second to shard 2, and so on. Sorting
 * makes the share independent of the order the list was written in (the same platform always lands
 * in the same shard for the same platform list); dealing makes it balanced (shard sizes differ by at
 * most one). A hash of each platform's name modulo n would give the first property but not the
 * second: on the lists this harness runs (7 to 13 platforms) a hash easily puts 5 platforms in one
 * shard and 2 in the other, and the slowest shard sets the time of the whole matrix.
 *
 * What the deal does not promise: stability across different lists. Adding or removing a platform
 * shifts the platforms sorted after it to other shards; every shard of one matrix must therefore be
 * given the same platform list, which a matrix over one scenario does by construction.
 */
import { UsageError } from '../base/index.ts';
import { formatPlatform, normalizePlatform, type Platform } from '../platform/index.ts';

/** Shard `index` of `total`, 1-based: 1/2 and 2/2 are the two shards of a matrix of two. */
export interface Shard {
  index: number;
  total: number;
}

/** The most shards a run can be split into: more than the platforms the harness knows, many times over. */
const MAX_SHARDS = 64;

const SHARD_TEXT = /^\s*(\d{1,9})\s*\/\s*(\d{1,9})\s*$/;

/** Parses `i/n` (1 <= i <= n <= 64); anything else is a UsageError of one sentence. */
export function parseShard(text: string): Shard {
  const m = SHARD_TEXT.exec(text);
  if (!m) {
    throw new UsageError(`"${text}" is not a shard: write it as i/n, for example 1/2 for the first of two shards.`);
  }
  return checkShard({ index: Number(m[1]), total: Number(m[2]) }, `"${text}"`);
}

/** Throws a UsageError unless the shard is i/n with 1 <= i <= n <= 64; returns it otherwise. */
export function checkShard(shard: Shard, shown: string = shardLabel(shard)): Shard {
  const { index, total } = shard;
  if (!Number.isInteger(total) || total < 1 || total > MAX_SHARDS) {
    throw new UsageError(`${shown} is not a shard: the number of shards n must be from 1 to ${MAX_SHARDS}.`);
  }
  if (!Number.isInteger(index) || index < 1 || index > total) {
    throw new UsageError(
      `${shown} is not a shard: i counts from 1 to n, so ${total} shard${total === 1 ? ' is 1/1' : `s are 1/${total} to ${total}/${total}`}.`,
    );
  }
  return { index, total };
}

/** "1/2". */
export function shardLabel(shard: Shard): string {
  return `${shard.index}/${shard.total}`;
}

/** The normalised platform string, the key of the deal. */
const keyOf = (p: Platform): string => formatPlatform(normalizePlatform(p));

/** Plain code-unit order: the same on every machine, whatever its locale. */
const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Which shard (1-based) each platform of the list lands in when it is split into `total` shards,
 * keyed by the normalised platform string. Duplicates (after normalisation) count once.
 */
export function shardAssignment(platforms: readonly Platform[], total: number): Map<string, number> {
  checkShard({ index: 1, total });
  const keys = [...new Set(platforms.map(keyOf))].sort(byCodeUnit);
  return new Map(keys.map((key, i) => [key, (i % total) + 1]));
}

/**
 * The platforms of the list that shard `shard.index` of `shard.total` runs, in the order the list
 * gave them (a platform given twice, after normalisation, comes once). A shard may be empty when
 * there are more shards than platforms; what an empty shard means is the caller's to say.
 */
export function shardPlatforms(platforms: readonly Platform[], shard: Shard): Platform[] {
  const { index, total } = checkShard(shard);
  const assignment = shardAssignment(platforms, total);
  const seen = new Set<string>();
  return platforms.filter((p) => {
    const key = keyOf(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return assignment.get(key) === index;
  });
}
