import { describe, expect, test } from 'vitest';
import { renderAnnotations } from '../../harness/report/github.ts';
import { renderHtml } from '../../harness/report/html.ts';
import { renderJUnit } from '../../harness/report/junit.ts';
import { renderMarkdown } from '../../harness/report/markdown.ts';
import { mergeReports } from '../../harness/report/merge.ts';
import { renderTerminal } from '../../harness/report/terminal.ts';
import { fail, pass, skip, summarize, type PlatformResult, type SessionReport } from '../../harness/result/model.ts';

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
  test("terminal: the run's registry image beside the engine when the report names one, nothing when not", () => {
    expect(renderTerminal({ ...report, registryImage: 'registry:3' })).toMatch(
      /^engine 26\.1\.5 on linux\/amd64, containerd image store, buildx none, registry registry:3$/m,
    );
    expect(renderTerminal(report)).toMatch(/^engine 26\.1\.5 on linux\/amd64, containerd image store, buildx none$/m);
  });

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

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

/** A platform of a bake target: passed, or failed at its run. */
const row = (target: string, platform: string, ok = true): PlatformResult => ({
  platform,
  target,
  mode: platform === 'linux/amd64' ? 'native' : 'qemu',
  status: ok ? 'pass' : 'fail',
  expected: 'Hello',
  output: ok ? 'Hello' : 'Bonjour',
  durationMs: 300,
  buildMs: 1200,
  checks: { index: pass(), config: pass(), binary: pass(), run: ok ? pass() : fail('expected the line "Hello", got "Bonjour"') },
  ...(ok ? {} : { message: 'expected the line "Hello", got "Bonjour"' }),
});

/** A bake of two targets that share a platform, the second target's arm64 failing. */
const bakePlatforms = [
  row('hello', 'linux/amd64'),
  row('hello', 'linux/arm64'),
  row('greeting-en', 'linux/amd64'),
  row('greeting-en', 'linux/arm64', false),
];
const bake: SessionReport = {
  schemaVersion: 2,
  kind: 'bake',
  scenario: 'bake-sample',
  title: 'The bake sample',
  startedAt: '2026-11-27T10:00:00.000Z',
  durationMs: 9000,
  host: { engine: '26.1.5', native: 'linux/amd64', imageStore: 'containerd', kernel: '6.1' },
  targets: [
    { name: 'hello', ref: '127.0.0.1:5000/mah-1/hello:latest', digest: D1, buildMs: 4000 },
    { name: 'greeting-en', ref: '127.0.0.1:5000/mah-1/greeting-en:latest', digest: D2, buildMs: 2500 },
  ],
  platforms: bakePlatforms,
  summary: summarize(bakePlatforms),
  notes: [],
};

describe('a bake’s report: rows grouped by target in every reporter', () => {
  test('terminal: a heading per target, each with the table’s header, the columns lined up across targets', () => {
    const text = renderTerminal(bake);
    const lines = text.split('\n');
    const hello = lines.indexOf(`target hello 127.0.0.1:5000/mah-1/hello:latest@${D1}`);
    const greeting = lines.indexOf(`target greeting-en 127.0.0.1:5000/mah-1/greeting-en:latest@${D2}`);
    expect(hello).toBeGreaterThan(0);
    expect(greeting).toBeGreaterThan(hello);
    expect(lines[hello + 1]).toMatch(/^PLATFORM\s+MODE\s+RESULT/);
    expect(lines.slice(hello + 2, hello + 4).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      ['linux/amd64', 'native', 'PASS'],
      ['linux/arm64', 'qemu', 'PASS'],
    ]);
    expect(lines[greeting + 1]).toBe(lines[hello + 1]);
    expect(lines[greeting + 3]).toMatch(/^linux\/arm64\s+qemu\s+FAIL/);
    // The same column widths in both targets' rows.
    expect(lines[greeting + 2]!.indexOf('PASS')).toBe(lines[hello + 2]!.indexOf('PASS'));
    // A note names the target with the platform.
    expect(text).toContain('greeting-en linux/arm64: expected the line "Hello", got "Bonjour"');
  });

  test('terminal: a report without targets has no heading, as before', () => {
    const text = renderTerminal({ ...bake, kind: 'build', targets: undefined, platforms: bakePlatforms.map(({ target: _t, ...p }) => p) });
    expect(text).not.toMatch(/^target /m);
    expect(text.match(/^PLATFORM/gm)).toHaveLength(1);
  });

  test('Markdown: a heading and a table per target', () => {
    const md = renderMarkdown([bake]);
    const hello = md.indexOf(`#### target \`hello\`: \`127.0.0.1:5000/mah-1/hello:latest\` (\`${D1}\`)`);
    const greeting = md.indexOf('#### target `greeting-en`');
    expect(hello).toBeGreaterThan(0);
    expect(greeting).toBeGreaterThan(hello);
    expect(md.match(/^\| platform \| mode \|/gm)).toHaveLength(2);
    const greetingTable = md.slice(greeting);
    expect(greetingTable).toMatch(/\| `linux\/arm64` \| qemu \| ✅ \| ✅ \| ✅ \| ❌ \| Bonjour \|/);
    expect(md).toContain('- `greeting-en linux/arm64`: expected the line "Hello", got "Bonjour"');
  });

  test('HTML: a heading, a table and a chart per target', () => {
    const html = renderHtml([bake]);
    expect(html).toContain(`<h3>target <code>hello</code> <code>127.0.0.1:5000/mah-1/hello:latest@${D1}</code></h3><table>`);
    expect(html).toContain('<h3>target <code>greeting-en</code>');
    expect(html.match(/<table><tr><th>platform<\/th>/g)).toHaveLength(2);
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html.indexOf('<code>greeting-en</code>')).toBeGreaterThan(html.indexOf('<code>hello</code>'));
    expect(html).toContain('<li><code>greeting-en linux/arm64</code>:');
  });

  test('JUnit: a <testsuite> per target, its testcases classed under it, the counts adding up', () => {
    const xml = renderJUnit([bake]);
    expect(xml).toMatch(/<testsuites name="multiarch-harness" tests="16" failures="1"/);
    expect(xml.match(/<testsuite /g)).toHaveLength(2);
    expect(xml).toMatch(/<testsuite name="bake-sample\.hello" tests="8" failures="0" errors="0" skipped="0" time="4\.000"/);
    expect(xml).toMatch(/<testsuite name="bake-sample\.greeting-en" tests="8" failures="1" errors="0" skipped="0" time="2\.500"/);
    expect(xml).toContain('<property name="target" value="greeting-en"/>');
    expect(xml).toContain(`<property name="image" value="127.0.0.1:5000/mah-1/hello:latest@${D1}"/>`);
    expect(xml).toContain('<testcase classname="bake-sample.greeting-en.linux/arm64" name="linux/arm64 run"');
    const hello = xml.slice(xml.indexOf('name="bake-sample.hello"'), xml.indexOf('name="bake-sample.greeting-en"'));
    expect(hello).not.toContain('greeting-en');
  });

  test('JUnit: a bake that verified nothing keeps its failure in a suite of the scenario’s own', () => {
    const nothing: SessionReport = {
      ...bake,
      platforms: [],
      summary: { passed: 0, failed: 1, skipped: 0 },
      failures: ['Nothing was verified: x.'],
    };
    const xml = renderJUnit([nothing]);
    expect(xml).toMatch(/<testsuite name="bake-sample" tests="1" failures="1"/);
    expect(xml).toMatch(/<testsuite name="bake-sample\.hello" tests="0"/);
  });

  test('GitHub: the target before the platform in each annotation’s title', () => {
    expect(renderAnnotations([bake])).toEqual([
      '::error title=bake-sample greeting-en linux/arm64 run::expected the line "Hello", got "Bonjour"',
    ]);
  });

  test('report merge keeps the targets, and a platform of two targets is two rows', () => {
    const skipped = {
      ...row('greeting-en', 'linux/s390x'),
      status: 'skip' as const,
      checks: { ...row('x', 'y').checks, run: skip('cannot run') },
    };
    const a: SessionReport = { ...bake, platforms: bakePlatforms.slice(2) };
    const b: SessionReport = { ...bake, platforms: [...bakePlatforms.slice(0, 2), skipped] };
    const merged = mergeReports([a, b]);
    expect(merged.targets).toEqual(bake.targets);
    expect(merged.platforms.map((p) => `${p.target} ${p.platform}`)).toEqual([
      'hello linux/amd64',
      'hello linux/arm64',
      'greeting-en linux/amd64',
      'greeting-en linux/arm64',
      'greeting-en linux/s390x',
    ]);
    expect(merged.summary).toEqual({ passed: 3, failed: 1, skipped: 1 });
    expect(() => mergeReports([bake, { ...bake, platforms: [row('hello', 'linux/arm64')] }])).toThrow(
      'hello linux/arm64 is in both report 1 and report 2: every platform must be in exactly one of the merged reports.',
    );
  });
});
