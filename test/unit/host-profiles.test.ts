// Hosts no machine here is: each profile in test/fixtures/host-profiles/ is what a host answered
// (the `host` of `multiarch-harness doctor --json`: engine facts, binfmt handlers, the probe
// programs' observations), recorded live or described, with what that host must give. Replayed
// through the code the live path uses: doctor's diagnosis and text, and what a run then expects.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { diagnose, renderDoctor } from '../../harness/host/doctor.ts';
import type { HostProbe } from '../../harness/host/probe.ts';
import { unameTwins } from '../../harness/checks/run-verdict.ts';
import { describeExpectation } from '../../harness/platform/expectations.ts';
import { formatPlatform } from '../../harness/platform/platform.ts';

interface Profile { kind: string; source: string; host: HostProbe; expect: Record<string, { mode: string; uname?: string }> }

const DIR = new URL('../fixtures/host-profiles/', import.meta.url);
const profiles: Profile[] = readdirSync(DIR).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(new URL(f, DIR), 'utf8')) as Profile);

describe('host profiles replayed', () => {
  test('the profiles kept: amd64 with and without 32-bit x86, arm64 with and without 32-bit ARM', () => {
    expect(profiles.map((p) => p.kind).sort()).toEqual([
      'amd64-compat-386', 'amd64-refuses-386', 'amd64-refuses-386-no-handler', 'arm64-no-aarch32', 'arm64-no-aarch32-no-handler', 'arm64-with-aarch32',
    ]);
  });

  for (const profile of profiles) {
    describe(profile.kind, () => {
      const rows = diagnose(profile.host);
      const row = (p: string) => rows.find((r) => formatPlatform(r.platform) === p)!;

      test('doctor gives each platform the mode and uname this host showed', () => {
        for (const [platform, want] of Object.entries(profile.expect)) {
          const r = row(platform);
          expect({ platform, mode: r.mode, observed: r.observed }).toEqual({ platform, mode: want.mode, observed: true });
          if (want.uname) expect(r.expectedUname, platform).toBe(want.uname);
          if (r.mode === 'unavailable') {
            expect(r.reason, platform).toMatch(/exec format error/);
            expect(r.fix, platform).toMatch(/prepare-host\.sh|tonistiigi\/binfmt/);
          }
          if (r.mode === 'qemu') expect(r.emulator?.handler, platform).toMatch(/^qemu-/);
        }
      });

      test('doctor\'s text names every mode, and where the observation overrides the tables it says so', () => {
        const text = renderDoctor(profile.host, rows);
        for (const [platform, want] of Object.entries(profile.expect)) {
          expect(text).toMatch(new RegExp(`^${platform.replace(/\//g, '\\/')}\\s+${want.mode}\\b`, 'm'));
        }
        for (const r of rows.filter((x) => x.tableExpected)) expect(text).toContain(`${formatPlatform(r.platform)}: the tables expected ${r.tableExpected!.mode}`);
      });

      test('a run expects the uname this host gives, and names the platforms uname cannot tell apart', () => {
        const twins = unameTwins(rows);
        for (const [platform, want] of Object.entries(profile.expect)) {
          if (!want.uname) continue;
          expect(describeExpectation({ kind: 'uname' }, row(platform))).toContain(want.uname);
          const same = Object.entries(profile.expect).filter(([p, w]) => p !== platform && w.uname === want.uname && w.mode !== 'unavailable').map(([p]) => p);
          for (const p of same) expect(twins.get(platform), `${platform} and ${p} both say ${want.uname}`).toContain(p);
        }
      });
    });
  }

  test('what differs between hosts is what they answered: 386 on two amd64 kernels, arm/v7 on two arm64 hosts', () => {
    const mode = (kind: string, p: string) => formatMode(profiles.find((x) => x.kind === kind)!, p);
    expect([mode('amd64-compat-386', 'linux/386'), mode('amd64-refuses-386', 'linux/386'), mode('amd64-refuses-386-no-handler', 'linux/386')])
      .toEqual(['compat x86_64', 'qemu i686', 'unavailable']);
    expect([mode('arm64-with-aarch32', 'linux/arm/v7'), mode('arm64-no-aarch32', 'linux/arm/v7'), mode('arm64-no-aarch32-no-handler', 'linux/arm/v7')])
      .toEqual(['compat armv8l', 'qemu armv7l', 'unavailable']);
    // arm/v6 under QEMU says armv7l (QEMU's default CPU), never armv6l.
    expect(mode('arm64-no-aarch32', 'linux/arm/v6')).not.toBe('qemu armv6l');
  });
});

function formatMode(p: Profile, platform: string): string {
  const r = diagnose(p.host).find((x) => formatPlatform(x.platform) === platform)!;
  return [r.mode, r.mode === 'unavailable' ? undefined : r.expectedUname].filter(Boolean).join(' ');
}
