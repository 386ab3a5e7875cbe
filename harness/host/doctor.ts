/**
 * `multiarch-harness doctor`: what this host can do for each platform.
 */
import { classify, type PlatformExecution, formatPlatform, KNOWN_PLATFORMS } from '../platform/index.ts';
import type { HostProbe } from './probe.ts';

export function diagnose(probe: HostProbe): PlatformExecution[] {
  return KNOWN_PLATFORMS.map((p) => classify(p, probe));
}

export function renderDoctor(probe: HostProbe, rows: PlatformExecution[], brief = false): string {
  const head = [
    `engine ${probe.engineVersion} (API ${probe.apiVersion}) on ${formatPlatform(probe.native)}, kernel ${probe.kernel}`,
    `image store: ${probe.imageStore}${probe.imageStore === 'classic' ? ' (multi-platform --load fails: "docker exporter does not currently support exporting manifest lists")' : ' (multi-platform --load works)'}`,
    `buildx: ${probe.buildxVersion ?? 'not installed'}; handlers read ${probe.engineIsLocal ? "from this host's /proc" : 'through the engine'}`,
    `modes observed by running a probe program per platform through the engine${probe.observedAt ? ` (${probe.observedAt}; kept until the engine, kernel or a handler changes)` : ''}`,
  ];
  const disagreements = rows.filter((r) => r.tableExpected);
  if (brief) {
    const by = (m: string) =>
      rows
        .filter((r) => r.mode === m)
        .map((r) => formatPlatform(r.platform) + (r.observed ? '' : ' (not observed)'))
        .join(', ') || 'none';
    return [
      ...head,
      `native: ${by('native')}`,
      `compat: ${by('compat')}`,
      `qemu: ${by('qemu')}`,
      `unavailable: ${by('unavailable')}`,
      ...disagreements.map(disagreement),
    ].join('\n');
  }
  const lines = [...head, ''];
  const w = Math.max(...rows.map((r) => formatPlatform(r.platform).length));
  for (const r of rows) {
    const name = formatPlatform(r.platform).padEnd(w);
    const pad = ' '.repeat(w);
    const seen = r.observed ? '' : " (not observed: the tables' guess)";
    if (r.mode === 'unavailable') {
      lines.push(`${name}  unavailable  ${r.reason}${seen}`, `${pad}  fix: ${r.fix}`);
    } else if (r.mode === 'qemu') {
      const em = r.emulator;
      const how = em
        ? `${em.handler} -> ${em.interpreter} flags ${em.flags}${em.qemuVersion ? `, QEMU ${em.qemuVersion}` : ''}`
        : 'emulated by something no readable binfmt_misc handler names';
      lines.push(`${name}  qemu         uname -m ${r.expectedUname}; ${how}${seen}`);
    } else {
      lines.push(`${name}  ${r.mode.padEnd(11)}  uname -m ${r.expectedUname}; no handler involved${seen}`);
    }
    if (r.tableExpected) lines.push(`${pad}  note: ${disagreement(r)}`);
  }
  return lines.join('\n');
}

/** One sentence where the observation disagrees with what the tables expected. */
function disagreement(r: PlatformExecution): string {
  const t = r.tableExpected!;
  const was = `${t.mode}${t.uname ? `, uname -m ${t.uname}` : ''}`;
  const is = `${r.mode}${r.expectedUname ? `, uname -m ${r.expectedUname}` : ''}`;
  return `${formatPlatform(r.platform)}: the tables expected ${was}; observed ${is} (the observation is used)`;
}
