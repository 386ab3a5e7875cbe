import { describe, expect, test } from 'vitest';
import { ARTICLE_SECTIONS, qemuToCrossRatio, renderArticleReport } from '../../demo/article-report.ts';
import { pass, type PlatformResult, type SessionReport } from '../../harness/result/model.ts';

const host = { engine: '26.1.5', native: 'linux/amd64', imageStore: 'containerd', kernel: '6.1' };
const p = (platform: string, mode: PlatformResult['mode'], buildMs: number): PlatformResult => ({
  platform,
  mode,
  status: 'pass',
  expected: 'x',
  output: 'x',
  durationMs: 1,
  buildMs,
  checks: { index: pass(), config: pass(), binary: pass(), run: pass('x') },
});
const report = (scenario: string, part: string, platforms: PlatformResult[], extra: Partial<SessionReport> = {}): SessionReport => ({
  schemaVersion: 2,
  kind: 'build',
  scenario,
  title: scenario,
  reference: { name: 'the article', part },
  startedAt: '2026-11-27T00:00:00.000Z',
  durationMs: 1,
  host,
  platforms,
  summary: { passed: platforms.length, failed: 0, skipped: 0 },
  notes: [],
  ...extra,
});

describe('QEMU to cross-compilation ratio', () => {
  test('sums the emulated platforms both scenarios built, and only those', () => {
    const qemu = report('q', '1.7', [
      p('linux/amd64', 'native', 40_000),
      p('linux/arm64', 'qemu', 300_000),
      p('linux/s390x', 'qemu', 200_000),
    ]);
    const cross = report('c', '1.8', [
      p('linux/amd64', 'native', 30_000),
      p('linux/arm64', 'qemu', 50_000),
      p('linux/riscv64', 'qemu', 10_000),
    ]);
    expect(qemuToCrossRatio([qemu, cross], 'q', 'c')).toEqual({
      ratio: 6,
      qemuMs: 300_000,
      crossMs: 50_000,
      platforms: ['linux/arm64'],
      shared: [],
    });
    expect(qemuToCrossRatio([qemu], 'q', 'c')).toBeUndefined();
  });

  test('a platform whose cross step was shared with another (under a second) is left out, and named', () => {
    const qemu = report('q', '1.7', [p('linux/arm/v6', 'qemu', 290_000), p('linux/arm/v7', 'qemu', 280_000)]);
    const cross = report('c', '1.8', [p('linux/arm/v6', 'qemu', 300), p('linux/arm/v7', 'qemu', 31_000)]);
    expect(qemuToCrossRatio([qemu, cross], 'q', 'c')).toMatchObject({
      platforms: ['linux/arm/v7'],
      shared: ['linux/arm/v6'],
      qemuMs: 280_000,
      crossMs: 31_000,
    });
  });
});

describe('the article report', () => {
  test("follows the article's 19 sections (1.4.2 included: the article describes it, the demo reproduces it) and marks the ones no scenario covers", () => {
    expect(ARTICLE_SECTIONS.map(([s]) => s)).toEqual([
      '1.2',
      '1.4.1',
      '1.4.2',
      '1.5',
      '1.6',
      '1.7',
      '1.8',
      '1.9',
      '1.10',
      '1.11',
      '2.5',
      '2.6',
      '2.7',
      '2.8',
      '2.9',
      '2.10',
      '2.11',
      '2.12',
      '2.13',
    ]);
    const steps = report('manifest', '2.4-2.7', [], {
      kind: 'steps',
      steps: [
        {
          section: '2.7',
          title: 'create',
          commands: ['docker manifest create --insecure a b'],
          reference: 'Created manifest list',
          observed: ['ok'],
          differences: ['needs --insecure'],
          status: 'pass',
          failures: [],
          durationMs: 5,
        },
      ],
    });
    const md = renderArticleReport([report('q', '1.7', [p('linux/arm64', 'qemu', 1000)]), steps], {});
    const headings = md.split('\n').filter((l) => l.startsWith('## '));
    expect(headings).toHaveLength(19);
    expect(md).toMatch(/## 1\.7 [^\n]*\n\n### ✅ PASS: q/);
    expect(md).toMatch(
      /## 2\.7 [^\n]*\n\n### ✅ PASS: create[^\n]*\n\n```sh\n\$ docker manifest create --insecure a b\n```\n- The article showed: Created manifest list\n- Here: ok\n- \*\*Differs from the article:\*\* needs --insecure/,
    );
    expect(md).toMatch(/## 1\.4\.1 [^\n]*\n\n\*\*NOT REPRODUCED\*\*/);
    expect(md).toMatch(/## 2\.6 [^\n]*\n\n\*\*NOT REPRODUCED\*\*/);
  });

  test('a section whose scenario was not allowed to run says why', () => {
    const md = renderArticleReport([], {
      notRun: [{ sections: ['1.4.1'], why: 'binfmt-install runs privileged; pass --allow-privileged.' }],
    });
    expect(md).toMatch(/## 1\.4\.1 [^\n]*\n\n\*\*NOT RUN\*\*: binfmt-install runs privileged; pass --allow-privileged\./);
    expect(md).toMatch(/## 1\.5 [^\n]*\n\n\*\*NOT REPRODUCED\*\*/);
  });
});
