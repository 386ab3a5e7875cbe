/**
 * What the e2e tests of local images (local-images.test.ts, daemon-images.test.ts) ask of the
 * engine and of a report: no image left under the harness's load name, no registry running besides
 * the host's mirror, every platform passing and greeting as itself.
 */
import { execa } from 'execa';
import { expect } from 'vitest';
import { goTarget, parsePlatform } from '../../../harness/platform/platform.ts';
import type { SessionReport } from '../../../harness/result/model.ts';
import { SESSION_LABEL } from '../../../harness/session/session.ts';

/** Images named multiarch-harness-local/... in an engine's store (none once a verify is over; a docker-daemon: image is never loaded under one). */
export async function loadedImages(env: Record<string, string> = {}): Promise<string[]> {
  const r = await execa('docker', ['image', 'ls', '-a', '--format', '{{.Repository}}:{{.Tag}}'], { env });
  return r.stdout.split('\n').filter((n) => n.startsWith('multiarch-harness-local/'));
}

/** Registry containers running besides the host's mirror (multiarch-mirror), and anything of a session: a verify of a local image needs none. */
export async function registriesRunning(): Promise<string[]> {
  const r = await execa('docker', ['ps', '--format', '{{.Names}} {{.Image}}']);
  const labelled = await execa('docker', ['ps', '-q', '--filter', `label=${SESSION_LABEL}`]);
  return [
    ...r.stdout.split('\n').filter((l) => /registry/.test(l) && !l.startsWith('multiarch-mirror ')),
    ...labelled.stdout.split('\n').filter(Boolean),
  ];
}

/** Every platform listed, each passing all four checks and greeting as its own platform. */
export function expectAllPass(report: SessionReport, platforms: readonly string[]): void {
  expect(report.platforms.map((p) => p.platform).sort()).toEqual([...platforms].sort());
  for (const p of report.platforms) {
    expect(
      Object.values(p.checks ?? {}).map((c) => c.status),
      `${p.platform}: ${p.message}`,
    ).toEqual(['pass', 'pass', 'pass', 'pass']);
    expect(p.output).toBe(`Hello, linux/${goTarget(parsePlatform(p.platform)).goarch}!`);
  }
}

/** Per platform: its status and each check's (what two verifies of the same build are compared by). */
export type Verdicts = Record<string, { status: string; checks: Record<string, string> }>;

export function verdicts(r: SessionReport): Verdicts {
  return Object.fromEntries(
    r.platforms.map((p) => [
      p.platform,
      { status: p.status, checks: Object.fromEntries(Object.entries(p.checks ?? {}).map(([name, c]) => [name, c.status])) },
    ]),
  );
}
