/**
 * The `index` check: the image's index lists the platform (attestation entries are not platforms,
 * but a manifest an attestation points at must be listed too), and, for an image of an engine's
 * store, the store holds what it lists for the platform (source.unavailable).
 */
import { formatPlatform, samePlatform, type Platform } from '../platform/index.ts';
import type { ImageSource, IndexEntry, IndexView } from '../registry/index.ts';
import { fail, pass, type CheckResult } from '../result/index.ts';
import type { Check } from './check.ts';

export function checkIndex(
  index: IndexView,
  platform: Platform,
  source?: Pick<ImageSource, 'unavailable'>,
): { result: CheckResult; entry?: IndexEntry } {
  const entry = index.entries.find((e) => samePlatform(e.platform, platform));
  if (!entry) {
    const listed = index.entries.map((e) => formatPlatform(e.platform)).join(', ') || 'nothing';
    return {
      result: fail(
        `the ${index.isIndex ? 'index' : 'single-platform manifest'} has no entry for ${formatPlatform(platform)} (it lists ${listed})`,
      ),
    };
  }
  const missing = source?.unavailable?.(entry.digest);
  if (missing) return { result: fail(missing), entry };
  if (index.problems.length) return { result: fail(index.problems.join('; ')), entry };
  return { result: pass(index.isIndex ? `entry ${entry.digest.slice(0, 19)}` : 'a single-platform manifest'), entry };
}

export const indexCheck: Check = {
  name: 'index',
  async check(ctx) {
    const { result, entry } = checkIndex(ctx.index, ctx.exec.platform, ctx.source);
    return { result, ...(entry ? { findings: { digest: entry.digest } } : {}) };
  },
};
