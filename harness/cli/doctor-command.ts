/** `multiarch-harness doctor`: how this host runs each platform, as observed. */
import { diagnose, renderDoctor, probeHost } from '../host/index.ts';
import { classify, formatPlatform, KNOWN_PLATFORMS, parseKnownPlatformList } from '../platform/index.ts';
import { checkReportDestinations, writeReportFile } from '../report/index.ts';
import { jsonFile, parse, unexpectedOperand } from './args.ts';

const DOCTOR_OPTIONS = {
  brief: { type: 'boolean' },
  // As on run and verify: a FILE, or - for stdout (the table then goes to stderr).
  json: { type: 'string' },
  fresh: { type: 'boolean' },
  require: { type: 'string' },
} as const;

export async function doctorCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, DOCTOR_OPTIONS, 'doctor');
  if (positionals.length) throw unexpectedOperand('doctor', positionals[0]!, 'no operands');
  const required = values.require === undefined ? [] : values.require === 'all' ? KNOWN_PLATFORMS : parseKnownPlatformList(values.require);
  const json = values.json === undefined ? undefined : jsonFile(values.json);
  if (json !== undefined) await checkReportDestinations([{ name: 'json', file: json }], 'doctor');
  const probe = await probeHost({ ...(values.fresh ? { freshObservations: true } : {}) });
  const rows = diagnose(probe);
  const table = renderDoctor(probe, rows, Boolean(values.brief));
  if (json === '-') console.error(table);
  else console.log(table);
  if (json !== undefined) {
    const text = JSON.stringify({ host: probe, platforms: rows }, null, 2);
    if (json === '-') console.log(text);
    else await writeReportFile(json, `${text}\n`);
  }
  const missing = required.map((p) => classify(p, probe)).filter((r) => r.mode === 'unavailable' || !r.observed);
  for (const r of missing) {
    console.error(
      `multiarch-harness: ${formatPlatform(r.platform)} does not run here: ${r.observed ? r.reason : 'it could not be observed'} Fix: ${r.fix ?? 'see doctor'}.`,
    );
  }
  return missing.length ? 2 : 0;
}
