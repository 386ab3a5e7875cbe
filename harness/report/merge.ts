/**
 * `report merge`: the shard reports of one image (`--shard 1/n` ... `--shard n/n`, run by the jobs
 * of a CI matrix) put back together into one report, which every reporter then renders as if one
 * run had checked every platform.
 *
 * What it refuses, each with one sentence naming the reports: reports of different images (another
 * digest, or without digests another scenario or verify target), a platform in two reports, and a
 * shard set that is not whole (different totals, a shard given twice, a shard missing).
 *
 * What it makes: the platforms of all the reports in a stable order (KNOWN_PLATFORMS first, in that
 * order, then the others alphabetically; a bake's grouped by target first, in the order of its
 * targets, which it keeps, each once), the steps in input order, the notes without repeats,
 * the summary counted again (a shard's own failures are not carried over: the whole is judged
 * again, and one that holds nothing fails as a run does), the earliest start and the longest
 * duration (the shards ran side by side), and the first report's host, with a note when the shards
 * ran on different hosts. The merged report has no `shard` field: it is the whole.
 */
import { UsageError } from '../base/index.ts';
import { formatPlatform, KNOWN_PLATFORMS, parsePlatform } from '../platform/index.ts';
import { conclude, type SessionReport, checkShard, shardLabel, type Shard, type TargetResult } from '../result/index.ts';
import { rowName } from './checks.ts';

/** A report as a shard job writes it: the optional `shard` field is read here, never required. */
export type ShardReport = SessionReport & { shard?: Shard };

const KNOWN_ORDER = new Map(KNOWN_PLATFORMS.map((p, i) => [formatPlatform(p), i]));

/** The platform string normalised when it parses (reports hold normalised strings already), else as written. */
function platformKey(platform: string): string {
  try {
    return formatPlatform(parsePlatform(platform));
  } catch {
    return platform;
  }
}

/** Targets no report lists, by name (a report without targets has none: undefined first). */
function compareTargets(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  return a < b ? -1 : 1;
}

/** KNOWN_PLATFORMS order first, then the unknown platforms in plain code-unit order. */
function comparePlatforms(a: string, b: string): number {
  const ra = KNOWN_ORDER.get(a) ?? KNOWN_ORDER.size;
  const rb = KNOWN_ORDER.get(b) ?? KNOWN_ORDER.size;
  if (ra !== rb) return ra - rb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Merges shard reports of one image into one report. `names` (the input files, in the same order)
 * only serve the error messages and the host note. Throws a UsageError when the reports cannot be
 * one run's shards. The platform, step and host objects of the inputs are reused, not copied.
 */
export function mergeReports(reports: readonly ShardReport[], names: readonly string[] = []): SessionReport {
  const first = reports[0];
  if (!first) throw new UsageError('report merge needs at least one report to merge.');
  const who = (i: number): string => {
    const r = reports[i]!;
    const base = r.shard ? `shard ${shardLabel(r.shard)}` : `report ${i + 1}`;
    return names[i] ? `${base} (${names[i]})` : base;
  };

  checkSameImage(reports, who);
  checkShardSet(reports, who);

  const owner = new Map<string, number>();
  for (const [i, r] of reports.entries()) {
    for (const p of r.platforms) {
      // A bake's platform is one of its target's: the same platform in two targets is two rows.
      const key = rowName({ platform: platformKey(p.platform), ...(p.target !== undefined ? { target: p.target } : {}) });
      const before = owner.get(key);
      if (before !== undefined) {
        const where = before === i ? `twice in ${who(i)}` : `in both ${who(before)} and ${who(i)}`;
        throw new UsageError(`${key} is ${where}: every platform must be in exactly one of the merged reports.`);
      }
      owner.set(key, i);
    }
  }
  // A bake's targets: each once, the first report's word on it kept, in the order they come.
  const targetsByName = new Map<string, TargetResult>();
  for (const t of reports.flatMap((r) => r.targets ?? [])) if (!targetsByName.has(t.name)) targetsByName.set(t.name, t);
  const targetOrder = new Map([...targetsByName.keys()].map((name, i) => [name, i]));
  const rank = (target: string | undefined) => (target === undefined ? -1 : (targetOrder.get(target) ?? targetOrder.size));
  const platforms = reports
    .flatMap((r) => r.platforms)
    .map((p) => ({ p, key: platformKey(p.platform) }))
    .sort((a, b) => rank(a.p.target) - rank(b.p.target) || compareTargets(a.p.target, b.p.target) || comparePlatforms(a.key, b.key))
    .map(({ p }) => p);

  const hasSteps = reports.some((r) => r.steps !== undefined);
  const steps = reports.flatMap((r) => r.steps ?? []);
  const notes = [...new Set(reports.flatMap((r) => r.notes))];
  const hostsDiffer = reports.some((r) => r.host.native !== first.host.native || r.host.engine !== first.host.engine);
  if (hostsDiffer) {
    const each = reports.map((r, i) => `${who(i)} on ${r.host.native} (engine ${r.host.engine})`).join(', ');
    notes.push(`The shards ran on different hosts: ${each}; the host above is the first one's.`);
  }

  const starts = reports.map((r) => ({ text: r.startedAt, ms: Date.parse(r.startedAt) })).filter((s) => !Number.isNaN(s.ms));
  const startedAt = starts.length ? starts.reduce((a, b) => (b.ms < a.ms ? b : a)).text : first.startedAt;
  const image = reports.find((r) => r.image)?.image;

  // A shard's own failures (an empty shard verified nothing) are the shard's: the whole is judged again.
  const { shard: _shard, image: _image, targets: _targets, steps: _steps, failures: _failures, summary: _summary, ...base } = first;
  return {
    ...base,
    startedAt,
    durationMs: Math.max(...reports.map((r) => r.durationMs)),
    host: first.host,
    ...(image ? { image } : {}),
    ...(targetsByName.size ? { targets: [...targetsByName.values()] } : {}),
    platforms,
    ...(hasSteps ? { steps } : {}),
    ...conclude(platforms, steps, 'none of the merged reports holds a platform or a step'),
    notes,
  };
}

/** Same digest when both reports have one; otherwise the same kind, scenario and (verify) target. */
function checkSameImage(reports: readonly ShardReport[], who: (i: number) => string): void {
  const first = reports[0]!;
  for (const [i, r] of reports.entries()) {
    if (i === 0) continue;
    const a = first.image?.digest;
    const b = r.image?.digest;
    if (a && b) {
      if (a !== b)
        throw new UsageError(`${who(i)} checked ${b}, but ${who(0)} checked ${a}: only shard reports of one image can be merged.`);
      continue;
    }
    if (identity(r) !== identity(first)) {
      let [da, db] = [describe(first), describe(r)];
      if (da === db) [da, db] = [identity(first), identity(r)];
      throw new UsageError(`${who(i)} ${db}, but ${who(0)} ${da}: only shard reports of one image can be merged.`);
    }
  }
}

/** What a report without a digest checked: its kind and scenario, and for verify the target it was given. */
const identity = (r: SessionReport): string => `${r.kind} scenario "${r.scenario}"${r.kind === 'verify' ? ` (${r.title})` : ''}`;

function describe(r: SessionReport): string {
  if (r.kind === 'verify') return `checked ${r.title.replace(/^verify /, '')}`;
  return `ran the ${r.kind} scenario "${r.scenario}"`;
}

/** Either no report is a shard, or all are, of the same total, each index once, none missing. */
function checkShardSet(reports: readonly ShardReport[], who: (i: number) => string): void {
  const sharded = reports.flatMap((r, i) => (r.shard ? [i] : []));
  if (sharded.length === 0) return;
  const unsharded = reports.findIndex((r) => !r.shard);
  if (unsharded >= 0) {
    throw new UsageError(`${who(unsharded)} is not a shard report, but ${who(sharded[0]!)} is: merge the shard reports of one run only.`);
  }
  for (const i of sharded) {
    try {
      checkShard(reports[i]!.shard!);
    } catch (e) {
      throw new UsageError(`${who(i)} has no valid shard: ${(e as Error).message}`, { cause: e });
    }
  }
  const total = reports[0]!.shard!.total;
  const byIndex = new Map<number, number>();
  for (const [i, r] of reports.entries()) {
    const s = r.shard!;
    if (s.total !== total) {
      throw new UsageError(`${who(i)} is one of ${s.total} shards, but ${who(0)} is one of ${total}: merge the shards of one matrix only.`);
    }
    const before = byIndex.get(s.index);
    if (before !== undefined) {
      throw new UsageError(`shard ${shardLabel(s)} is given twice, as ${who(before)} and as ${who(i)}: give each shard once.`);
    }
    byIndex.set(s.index, i);
  }
  const missing: string[] = [];
  for (let index = 1; index <= total; index++) if (!byIndex.has(index)) missing.push(shardLabel({ index, total }));
  if (missing.length) {
    const given = [...byIndex.keys()].sort((a, b) => a - b).map((index) => shardLabel({ index, total }));
    const what = missing.length === 1 ? `shard ${missing[0]} is missing` : `shards ${listed(missing)} are missing`;
    throw new UsageError(
      `${what}: only ${given.length === 1 ? `shard ${given[0]} was` : `shards ${listed(given)} were`} given, and every shard of the matrix must be merged.`,
    );
  }
}

const listed = (items: readonly string[]): string =>
  items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
