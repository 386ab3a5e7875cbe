/**
 * The `index` check: the image's index lists the platform (attestation entries are not platforms,
 * but a manifest an attestation points at must be listed too), and, for an image of an engine's
 * store, the store holds what it lists for the platform (source.unavailable). Besides, it lists what
 * refers to the platform's manifest and to the index (OCI 1.1 referrers, through the registry's API
 * or the referrers tag schema): findings, never a failure.
 */
import { EnvironmentError } from '../base/index.ts';
import { formatPlatform, samePlatform, type Platform } from '../platform/index.ts';
import type { ImageSource, IndexEntry, IndexView, ReferrerList } from '../registry/index.ts';
import { fail, pass, type CheckResult, type PlatformReferrer } from '../result/index.ts';
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

/**
 * What the index check says of the referrers it found, after its verdict: "referrers: 2
 * (application/vnd.in-toto+json ×2, through the referrers tag schema)"; undefined for none.
 */
export function referrersFinding(found: readonly PlatformReferrer[], unread?: string): string | undefined {
  if (unread) return `referrers not read (${unread.replace(/[.\s]+$/, '')})`;
  if (!found.length) return undefined;
  const counts = new Map<string, number>();
  for (const r of found) counts.set(r.artifactType, (counts.get(r.artifactType) ?? 0) + 1);
  const types = [...counts].map(([type, n]) => (n > 1 ? `${type} ×${n}` : type)).join(', ');
  const tag = found.some((r) => r.from === 'tag') ? ', through the referrers tag schema' : '';
  return `referrers: ${found.length} (${types}${tag})`;
}

/** The index's referrers, asked once per index, whatever the number of platforms that want them. */
const ofIndex = new WeakMap<IndexView, Promise<ReferrerList>>();

/** What refers to the platform's manifest and to the index; or the sentence that says why they could not be read. */
async function referrersOf(
  source: ImageSource,
  index: IndexView,
  entry: IndexEntry,
): Promise<{ found: PlatformReferrer[]; unread?: string }> {
  const ask = source.referrers?.bind(source);
  if (!ask) return { found: [] };
  const tagged = (subject: PlatformReferrer['subject'], list: ReferrerList): PlatformReferrer[] =>
    list.referrers.map((r) => ({ subject, artifactType: r.artifactType, digest: r.digest, from: list.from }));
  try {
    const manifest = tagged('manifest', await ask(entry.digest));
    const top = index.isIndex && index.digest && index.digest !== entry.digest ? index.digest : undefined;
    if (!top) return { found: manifest };
    let list = ofIndex.get(index);
    if (!list) ofIndex.set(index, (list = ask(top)));
    return { found: [...tagged('index', await list), ...manifest] };
  } catch (err) {
    // A registry's refusal is said beside the verdict; anything else is a bug.
    if (!(err instanceof EnvironmentError)) throw err;
    return { found: [], unread: err.message };
  }
}

export const indexCheck: Check = {
  name: 'index',
  async check(ctx) {
    const { result, entry } = checkIndex(ctx.index, ctx.exec.platform, ctx.source);
    if (!entry) return { result };
    const { found, unread } = await referrersOf(ctx.source, ctx.index, entry);
    const finding = referrersFinding(found, unread);
    return {
      result: finding ? { ...result, message: `${result.message}; ${finding}` } : result,
      findings: { digest: entry.digest, ...(found.length ? { referrers: found } : {}) },
    };
  },
};
