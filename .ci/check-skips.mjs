// Fails when a test was skipped for a reason the README does not list.
//
//   node .ci/check-skips.mjs reports/vitest.json README.md
//
// A skipped test passes nothing: CI accepts one only where the README's "Tests that may skip" section
// names it (its title in backticks, anywhere in the section) and says when and why. Everything else that skipped is printed
// and makes this exit 1; so does a report that is missing or ran no test.
import { readFileSync } from 'node:fs';

const [reportFile = 'reports/vitest.json', readmeFile = 'README.md'] = process.argv.slice(2);
let report;
try {
  report = JSON.parse(readFileSync(reportFile, 'utf8'));
} catch (err) {
  console.log(`skips: no test report to read (${reportFile}: ${err.message})`);
  process.exit(1);
}
const readme = readFileSync(readmeFile, 'utf8');
const section = /^#+ Tests that may skip\s*$([\s\S]*?)(?=^#+ |(?![\s\S]))/m.exec(readme)?.[1] ?? '';
const listed = new Set([...section.matchAll(/`([^`]+)`/g)].map((m) => m[1]));

const skipped = [];
let ran = 0;
for (const file of report.testResults ?? []) {
  for (const t of file.assertionResults ?? []) {
    if (t.status === 'passed' || t.status === 'failed') ran++;
    if (t.status === 'skipped' || t.status === 'pending' || t.status === 'todo')
      skipped.push({ file: file.name.replace(/^.*\/test\//, 'test/'), title: t.title });
  }
}
const unexplained = skipped.filter((s) => !listed.has(s.title));
for (const s of skipped) console.log(`skips: ${listed.has(s.title) ? 'listed' : 'NOT LISTED'}: ${s.file} › ${s.title}`);
console.log(
  `skips: ${skipped.length} skipped, ${unexplained.length} without a reason in ${readmeFile}'s "Tests that may skip"; ${ran} ran`,
);
process.exit(unexplained.length > 0 || ran === 0 ? 1 : 0);
