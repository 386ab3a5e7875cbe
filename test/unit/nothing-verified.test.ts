/**
 * A run never passes with nothing verified: an index that lists no platform (attestations aside),
 * a scenario whose platform list is empty, an empty shard. The verify runner says why, the report
 * (run-scenario.ts, reportOf; result/model.ts, conclude) makes it the run's failure, every
 * reporter shows its sentence and the exit code is 1. A platform asked for that the index does not
 * list fails its index check, with one sentence too. On an in-memory image source: no registry, no engine.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { publishReports } from '../../harness/cli/output.ts';
import { Session } from '../../harness/session/session.ts';
import type { HostProbe } from '../../harness/host/probe.ts';
import { parsePlatform, type Platform } from '../../harness/platform/platform.ts';
import { readIndex, type Descriptor, type FetchedManifest, type ImageSource } from '../../harness/registry/client.ts';
import { parseImageRef } from '../../harness/registry/image-ref.ts';
import { renderAnnotations } from '../../harness/report/github.ts';
import { renderHtml } from '../../harness/report/html.ts';
import { renderJUnit } from '../../harness/report/junit.ts';
import { renderMarkdown } from '../../harness/report/markdown.ts';
import { mergeReports } from '../../harness/report/merge.ts';
import { renderTerminal } from '../../harness/report/terminal.ts';
import { conclude, type SessionReport } from '../../harness/result/model.ts';
import type { VerifyScenario } from '../../harness/scenario/define.ts';
import type { SessionOptions } from '../../harness/scenario/outcome.ts';
import { reportOf } from '../../harness/scenario/run-scenario.ts';
import type { Shard } from '../../harness/result/shard.ts';
import { runVerifyScenario } from '../../harness/scenario/verify-runner.ts';

const IMAGE = '127.0.0.1:5000/empty:latest';
const DIGEST = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const ATTESTATION: Descriptor = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: DIGEST(1),
  size: 1,
  platform: { os: 'unknown', architecture: 'unknown' },
  annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': DIGEST(2) },
};
const AMD64: Descriptor = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: DIGEST(2),
  size: 1,
  platform: { os: 'linux', architecture: 'amd64' },
};

/** An index of these descriptors, and nothing else: a run that reaches a platform's manifest is not expected here. */
function indexOf(manifests: Descriptor[]): ImageSource {
  const index: FetchedManifest = {
    digest: DIGEST(9),
    mediaType: 'application/vnd.oci.image.index.v1+json',
    body: { mediaType: 'application/vnd.oci.image.index.v1+json', manifests },
  };
  return {
    manifest: async (reference) => {
      if (reference !== 'latest') throw new Error(`no manifest ${reference} here`);
      return index;
    },
    blobJson: async (digest) => {
      throw new Error(`no blob ${digest} here`);
    },
    blobToFile: async (digest) => {
      throw new Error(`no blob ${digest} here`);
    },
  };
}

const probe: HostProbe = {
  engineVersion: '29.0.0',
  apiVersion: '1.52',
  native: parsePlatform('linux/amd64'),
  kernel: '6.12',
  imageStore: 'containerd',
  buildxVersion: '0.30.0',
  engineIsLocal: true,
  handlers: [],
  qemuVersions: {},
  observations: {},
};

const scenario = (platforms?: string[]): VerifyScenario => ({
  kind: 'verify',
  name: 'verify-empty',
  title: `verify ${IMAGE}`,
  image: IMAGE,
  ...(platforms ? { platforms } : {}),
});

/** A verify of the scenario against the in-memory index, made into its report as every run is. */
async function verify(s: VerifyScenario, manifests: Descriptor[], options: SessionOptions = {}): Promise<SessionReport> {
  const source = indexOf(manifests);
  const ref = parseImageRef(s.image);
  const outcome = await runVerifyScenario(
    s,
    { session: new Session(), probe, nodes: [], options, progress: () => undefined },
    { target: { kind: 'registry', ref }, source, index: readIndex(source, 'latest') },
  );
  return reportOf(s, outcome, {
    started: Date.now(),
    probe,
    problems: [],
    phasesMs: {},
    ...(options.shard ? { shard: options.shard } : {}),
  });
}

let printed: string[] = [];
beforeEach(() => {
  printed = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
    printed.push(a.join(' '));
  });
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => {
    printed.push(a.join(' '));
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('nothing verified is a failure', () => {
  test('an index that lists nothing but an attestation: one sentence, failed, exit code 1', async () => {
    const report = await verify(scenario(), [ATTESTATION]);
    const sentence = `Nothing was verified: the index ${IMAGE} lists no platform (attestation manifests, unknown/unknown, are not platforms).`;
    expect(report.platforms).toEqual([]);
    expect(report.failures).toEqual([sentence]);
    expect(report.summary).toEqual({ passed: 0, failed: 1, skipped: 0 });
    expect(await publishReports([report], [], report.scenario, true, true)).toBe(1);
    expect(printed.join('\n')).toContain(`FAIL  ${sentence}`);
    expect(printed.join('\n')).toContain('0 passed, 1 failed, 0 skipped');
  });

  test('an index with no entry at all', async () => {
    const report = await verify(scenario(), []);
    expect(report.failures).toEqual([expect.stringMatching(/^Nothing was verified: the index \S+ lists no platform/)]);
    expect(report.summary.failed).toBe(1);
  });

  test('a scenario whose platform list is empty, and options that ask for none', async () => {
    const fromScenario = await verify(scenario([]), [AMD64]);
    expect(fromScenario.platforms).toEqual([]);
    expect(fromScenario.failures).toEqual(['Nothing was verified: the scenario verify-empty lists no platform (its platforms are []).']);
    expect(fromScenario.summary.failed).toBe(1);
    const fromOptions = await verify(scenario(), [AMD64], { platforms: [] as Platform[] });
    expect(fromOptions.failures).toEqual(['Nothing was verified: no platform was asked for.']);
  });

  test('platforms asked for that the index does not list: each fails its index check, one sentence each', async () => {
    const report = await verify(scenario(), [ATTESTATION], { platforms: [parsePlatform('linux/ppc64le')] });
    expect(report.platforms.map((p) => [p.platform, p.status, p.message])).toEqual([
      ['linux/ppc64le', 'fail', 'index: the index has no entry for linux/ppc64le (it lists nothing)'],
    ]);
    expect(report.failures).toBeUndefined();
    expect(report.summary.failed).toBe(1);
    expect(await publishReports([report], [], report.scenario, true, true)).toBe(1);
    const other = await verify(scenario(['linux/arm64']), [AMD64, ATTESTATION]);
    expect(other.platforms.map((p) => p.message)).toEqual(['index: the index has no entry for linux/arm64 (it lists linux/amd64)']);
    expect(other.summary.failed).toBe(1);
  });

  test('an empty shard verified nothing either; merged with the others, the whole is judged again', async () => {
    const shard: Shard = { index: 2, total: 2 };
    const empty = await verify(scenario(), [AMD64], { shard });
    expect(empty.platforms).toEqual([]);
    expect(empty.shard).toEqual(shard);
    expect(empty.failures).toEqual([
      'Nothing was verified: shard 2/2 holds none of the 1 platform(s), since there are more shards than platforms.',
    ]);
    expect(empty.summary.failed).toBe(1);

    const full: SessionReport = {
      ...empty,
      shard: { index: 1, total: 2 },
      platforms: [passed('linux/amd64')],
      ...conclude([passed('linux/amd64')]),
    };
    const merged = mergeReports([full, empty]);
    expect(merged.failures).toBeUndefined();
    expect(merged.summary).toEqual({ passed: 1, failed: 0, skipped: 0 });
    const nothing = mergeReports([{ ...empty, shard: { index: 1, total: 2 } }, empty]);
    expect(nothing.failures).toEqual(['Nothing was verified: none of the merged reports holds a platform or a step.']);
  });

  test('a run with a platform or a step is judged by them alone', () => {
    expect(conclude([passed('linux/amd64')])).toEqual({ summary: { passed: 1, failed: 0, skipped: 0 } });
    expect(
      conclude(
        [],
        [{ section: '1', title: 't', commands: [], observed: [], differences: [], status: 'pass', failures: [], durationMs: 1 }],
      ),
    ).toEqual({ summary: { passed: 1, failed: 0, skipped: 0 } });
    expect(conclude([])).toEqual({
      summary: { passed: 0, failed: 1, skipped: 0 },
      failures: ['Nothing was verified: the run had no platform to check and no step to run.'],
    });
  });

  test('every reporter shows the sentence as a failure', async () => {
    const report = await verify(scenario(), [ATTESTATION]);
    const sentence = report.failures![0]!;
    expect(renderTerminal(report)).toMatch(new RegExp(`\\nFAIL  ${re(sentence)}\\n\\n0 passed, 1 failed, 0 skipped in `));
    expect(JSON.parse(JSON.stringify(report))).toMatchObject({ failures: [sentence], summary: { failed: 1 } });

    const xml = renderJUnit([report]);
    expect(xml).toMatch(/<testsuites name="multiarch-harness" tests="1" failures="1"/);
    expect(xml).toMatch(/<testsuite name="verify-empty" tests="1" failures="1"/);
    expect(xml).toContain(`<testcase classname="verify-empty.run" name="verify-empty verified something"`);
    expect(xml).toContain(`<failure message="${sentence}" type="run">`);

    const md = renderMarkdown([report]);
    expect(md).toMatch(/^### ❌ /);
    expect(md).toContain(`- ❌ **${sentence}**`);

    const html = renderHtml([report]);
    expect(html).toContain('multiarch-harness &#10007; failures');
    expect(html).toContain(`<ul class="problems"><li><strong>${sentence}</strong></li></ul>`);

    expect(renderAnnotations([report])).toEqual([`::error title=verify-empty::${sentence}`]);
  });
});

function passed(platform: string): SessionReport['platforms'][number] {
  return {
    platform,
    mode: 'native',
    status: 'pass',
    expected: 'x',
    output: 'x',
    durationMs: 1,
    checks: { index: { status: 'pass' }, config: { status: 'pass' }, binary: { status: 'pass' }, run: { status: 'pass' } },
  };
}

function re(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
