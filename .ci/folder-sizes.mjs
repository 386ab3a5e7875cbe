// No folder of harness/ holds more than 12 modules, its index.ts counted (issue 25): a folder that
// grows past that is two jobs, to be split. dependency-cruiser cannot count, so this does.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const LIMIT = 12;
const over = [];
const walk = (dir) => {
  const entries = readdirSync(dir, { withFileTypes: true });
  const modules = entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).length;
  if (dir !== 'harness' && modules > LIMIT) over.push(`${dir}/ holds ${modules} modules`);
  for (const e of entries) if (e.isDirectory()) walk(join(dir, e.name));
};
walk('harness');
if (over.length) {
  console.error(`more than ${LIMIT} modules in one folder: ${over.join('; ')}`);
  process.exit(1);
}
console.log(`folder sizes: every folder of harness/ holds at most ${LIMIT} modules`);
