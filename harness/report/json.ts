/**
 * The JSON report (schemaVersion 1), documented in the README.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RunReport } from './types.ts';

export async function writeJsonReport(file: string, reports: RunReport | RunReport[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(reports, null, 2)}\n`);
}
