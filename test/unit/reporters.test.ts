import { describe, expect, test } from 'vitest';
import { renderHtml } from '../../harness/report/html.ts';
import { renderJUnit } from '../../harness/report/junit.ts';
import { renderMarkdown } from '../../harness/report/markdown.ts';
import type { SessionReport } from '../../harness/result/model.ts';

const report: SessionReport = {
  schemaVersion: 2,
  kind: 'steps',
  scenario: 'manifest-path',
  title: 'manifest <path>',
  reference: { name: 'the article', part: '2.4-2.7' },
  startedAt: '2026-11-27T10:00:00.000Z',
  durationMs: 2000,
  host: { engine: '26.1.5', native: 'linux/amd64', imageStore: 'containerd', kernel: '6.1' },
  steps: [
    {
      section: '2.5',
      title: 'build & push',
      commands: ['docker build -t r/x .'],
      observed: ['ok'],
      differences: ['host is amd64'],
      status: 'pass',
      failures: [],
      durationMs: 500,
    },
    {
      section: '2.7',
      title: 'create',
      commands: ['docker manifest create a b'],
      observed: [],
      differences: [],
      status: 'fail',
      failures: ['expected "Created manifest list", got <nothing>'],
      durationMs: 100,
    },
  ],
  platforms: [
    {
      platform: 'linux/arm64',
      mode: 'qemu',
      status: 'fail',
      expected: 'aarch64',
      output: 'x86_64',
      durationMs: 400,
      checks: {
        index: { status: 'pass' },
        config: { status: 'pass' },
        binary: { status: 'fail', message: 'built for x86-64' },
        run: { status: 'fail', message: 'expected aarch64' },
      },
      message: 'binary: built for x86-64; run: expected aarch64',
    },
  ],
  summary: { passed: 1, failed: 2, skipped: 0 },
  notes: [],
};

describe('reporters with steps and platforms', () => {
  test('JUnit: one testcase per step and per platform x check, counts that add up, everything escaped', () => {
    const xml = renderJUnit([report]);
    expect(xml.match(/<testcase /g)).toHaveLength(2 + 4);
    expect(xml).toMatch(/<testsuites name="multiarch-harness" tests="6" failures="3"/);
    expect(xml).toMatch(/<testsuite name="manifest-path" tests="6" failures="3"/);
    expect(xml).toMatch(
      /<testcase classname="manifest-path\.steps" name="2\.7 create" time="0\.100">\s*<failure message="expected &quot;Created manifest list&quot;, got &lt;nothing&gt;" type="step">/,
    );
    expect(xml).toMatch(/name="2\.5 build &amp; push"/);
    expect(xml).not.toMatch(/<nothing>|build & push/);
  });

  test('Markdown lists the steps before the matrix', () => {
    const md = renderMarkdown([report]);
    expect(md).toMatch(/- ✅ \*\*2\.5\*\* build & push\n- ❌ \*\*2\.7\*\* create: expected "Created manifest list", got <nothing>/);
    expect(md.indexOf('2.7')).toBeLessThan(md.indexOf('| platform |'));
  });

  test('HTML shows the steps with commands and differences, escaped', () => {
    const html = renderHtml([report]);
    expect(html).toMatch(
      /<td>2\.7<\/td><td class="fail">FAIL<\/td><td>create<br><code>\$ docker manifest create a b<\/code><br><strong>expected &quot;Created manifest list&quot;, got &lt;nothing&gt;<\/strong>/,
    );
    expect(html).toMatch(/<em>differs from the article:<\/em> host is amd64/);
    expect(html).toMatch(/<h2>manifest &lt;path&gt;/);
  });

  test('a steps-only report has no empty platform table', () => {
    const stepsOnly = { ...report, platforms: [] };
    expect(renderHtml([stepsOnly])).not.toMatch(/<th>platform<\/th>/);
    expect(renderMarkdown([stepsOnly])).not.toMatch(/\| platform \|/);
  });
});
