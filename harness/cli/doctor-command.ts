/** `multiarch-harness doctor`: how this host runs each platform, as observed. */
import { diagnose, renderDoctor, probeHost } from '../host/index.ts';
import { classify, formatPlatform, KNOWN_PLATFORMS, parsePlatformList } from '../platform/index.ts';
import { parse } from './args.ts';

export async function doctorCommand(args: string[]): Promise<number> {
  const { values } = parse(
    args,
    { brief: { type: 'boolean' }, json: { type: 'boolean' }, fresh: { type: 'boolean' }, require: { type: 'string' } },
    'doctor',
  );
  const required = values.require === undefined ? [] : values.require === 'all' ? KNOWN_PLATFORMS : parsePlatformList(values.require);
  const probe = await probeHost({ ...(values.fresh ? { freshObservations: true } : {}) });
  const rows = diagnose(probe);
  if (values.json) console.log(JSON.stringify({ host: probe, platforms: rows }, null, 2));
  else console.log(renderDoctor(probe, rows, Boolean(values.brief)));
  const missing = required.map((p) => classify(p, probe)).filter((r) => r.mode === 'unavailable' || !r.observed);
  for (const r of missing) {
    console.error(
      `multiarch-harness: ${formatPlatform(r.platform)} does not run here: ${r.observed ? r.reason : 'it could not be observed'} Fix: ${r.fix ?? 'see doctor'}.`,
    );
  }
  return missing.length ? 2 : 0;
}
