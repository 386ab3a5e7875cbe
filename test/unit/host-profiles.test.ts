// Hosts no machine here is. Each file of test/fixtures/host-profiles/ is what one kind of host
// answered: the `host` field of `multiarch-harness doctor --json -` (engine facts, binfmt_misc
// handlers, QEMU versions, the probe program's observation per platform), recorded live or
// described (its `source` says which), with what that host must give per platform (`expect`).
// Each is replayed through the code the live path runs on what probeHost() returns: the handler
// matching observe.ts does, doctor's diagnosis and text, and what a run then expects of uname -m.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { matchingHandler } from '../../harness/host/binfmt.ts';
import { unameTwins } from '../../harness/run-check/run-verdict.ts';
import { diagnose, renderDoctor } from '../../harness/host/doctor.ts';
import { observablePlatforms } from '../../harness/host/observe.ts';
import type { HostProbe } from '../../harness/host/probe.ts';
import { elfHeaderOf } from '../../harness/host/probe-program.ts';
import type { ExecutionMode, PlatformExecution } from '../../harness/platform/execution-mode.ts';
import { describeExpectation, judge, type Expectation } from '../../harness/platform/expectations.ts';
import { observationKey } from '../../harness/platform/observation.ts';
import { formatPlatform, KNOWN_PLATFORMS, parsePlatform, qemuHandlerName } from '../../harness/platform/platform.ts';

interface Profile {
  kind: string;
  source: string;
  host: HostProbe;
  expect: Record<string, { mode: ExecutionMode; uname?: string }>;
}

const DIR = new URL('../fixtures/host-profiles/', import.meta.url);
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
const profiles: Profile[] = files.map((f) => JSON.parse(readFileSync(new URL(f, DIR), 'utf8')) as Profile);
const profile = (kind: string) => profiles.find((p) => p.kind === kind)!;

const UNAME: Expectation = { kind: 'uname' };
const known = KNOWN_PLATFORMS.map(formatPlatform);
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const rowOf = (rows: readonly PlatformExecution[], p: string) => {
  const r = rows.find((x) => formatPlatform(x.platform) === p);
  if (!r) throw new Error(`doctor has no row for ${p}`);
  return r;
};

describe('host profiles replayed', () => {
  test('one profile per host kind: amd64 with and without 32-bit x86, arm64 with and without 32-bit ARM', () => {
    expect(profiles.map((p) => p.kind)).toEqual([
      'amd64-compat-386',
      'amd64-refuses-386-no-handler',
      'amd64-refuses-386',
      'arm64-no-aarch32-no-handler',
      'arm64-no-aarch32',
      'arm64-with-aarch32',
    ]);
    for (const [i, p] of profiles.entries()) {
      expect(files[i]).toBe(`${p.kind}.json`);
      expect(p.source, p.kind).toMatch(/^(recorded live on \d{4}-\d{2}-\d{2} \(.+\)|described from .+)$/s);
    }
    // Only this machine's kind was recorded; the others say what they were described from.
    expect(profiles.filter((p) => p.source.startsWith('recorded live')).map((p) => p.kind)).toEqual(['amd64-compat-386']);
  });

  for (const p of profiles) {
    describe(p.kind, () => {
      const { host } = p;
      const rows = diagnose(host);
      const row = (platform: string) => rowOf(rows, platform);

      test('the profile is what doctor --json - prints: observations keyed and matched as observe.ts makes them', () => {
        expect(Object.keys(host.observations)).toEqual(observablePlatforms(host.native.os));
        for (const [key, seen] of Object.entries(host.observations)) {
          const platform = parsePlatform(key);
          expect(observationKey(platform)).toBe(key);
          expect(seen.platform).toBe(key);
          // observe.ts names the handler whose magic and mask take the probe's ELF header, as the kernel picks it.
          expect(seen.handler, key).toBe(matchingHandler(host.handlers, elfHeaderOf(platform))?.name);
          if (seen.ran) expect(seen.machine, key).toMatch(/^\w+$/);
          else expect(seen.error, key).toBe('exec format error');
        }
        // probeHost asks every enabled QEMU handler's interpreter for its version.
        const qemus = host.handlers.filter((h) => h.enabled && /qemu/.test(h.interpreter + h.name)).map((h) => h.interpreter);
        expect(Object.keys(host.qemuVersions).sort()).toEqual(qemus.sort());
        expect(Object.keys(p.expect).sort()).toEqual([...known].sort());
      });

      test('doctor gives every platform the mode and uname -m this host showed', () => {
        for (const [platform, want] of Object.entries(p.expect)) {
          const r = row(platform);
          expect({ platform, mode: r.mode, uname: r.expectedUname, observed: r.observed }).toEqual({
            platform,
            mode: want.mode,
            uname: want.uname,
            observed: true,
          });
          const seen = host.observations[observationKey(r.platform)]!;
          if (r.mode === 'qemu') {
            // The handler the observation named, with its QEMU's version; none where it named none.
            expect(r.emulator?.handler, platform).toBe(seen.handler);
            if (r.emulator) expect(r.emulator.qemuVersion, platform).toBe(host.qemuVersions[r.emulator.interpreter]);
            expect(r.timeoutFactor, platform).toBeGreaterThan(1);
          } else {
            expect(r.emulator, platform).toBeUndefined();
          }
          if (r.mode === 'unavailable') {
            expect(r.reason, platform).toContain(`(${seen.error})`);
            expect(r.fix, platform).toContain(`registers ${qemuHandlerName(r.platform)} with flag F`);
            expect(r.fix, platform).toContain(`tonistiigi/binfmt --install ${r.platform.architecture}`);
          }
        }
        expect(rows.filter((r) => !r.observed).map((r) => formatPlatform(r.platform))).toEqual([]);
      });

      test("doctor's text shows each row, and where the observation overrides the tables it says so", () => {
        const text = renderDoctor(host, rows);
        for (const [platform, want] of Object.entries(p.expect)) {
          const r = row(platform);
          const line = text.split('\n').find((l) => new RegExp(`^${escape(platform)}\\s`).test(l))!;
          expect(line, platform).toMatch(new RegExp(`^${escape(platform)}\\s+${want.mode}\\s`));
          expect(line, platform).not.toContain('not observed');
          if (want.uname) expect(line, platform).toContain(`uname -m ${want.uname};`);
          if (r.emulator)
            expect(line, platform).toContain(`${r.emulator.handler} -> ${r.emulator.interpreter} flags PF, QEMU ${r.emulator.qemuVersion}`);
          else if (r.mode === 'qemu') expect(line, platform).toContain('emulated by something no readable binfmt_misc handler names');
          if (r.mode === 'unavailable') expect(text).toContain(`  fix: ${r.fix}`);
        }
        const overridden = rows.filter((r) => r.tableExpected);
        const said = (r: PlatformExecution) => {
          const t = r.tableExpected!;
          return (
            `${formatPlatform(r.platform)}: the tables expected ${t.mode}${t.uname ? `, uname -m ${t.uname}` : ''}; ` +
            `observed ${r.mode}${r.expectedUname ? `, uname -m ${r.expectedUname}` : ''} (the observation is used)`
          );
        };
        expect(text.split('\n').filter((l) => l.includes('note: '))).toHaveLength(overridden.length);
        const brief = renderDoctor(host, rows, true);
        for (const r of overridden) {
          expect(text).toContain(`note: ${said(r)}`);
          expect(brief).toContain(said(r));
        }
      });

      test('a run expects the uname -m this host gives, and names the platforms uname cannot tell apart', () => {
        const twins = unameTwins(rows);
        for (const [platform, want] of Object.entries(p.expect)) {
          const r = row(platform);
          if (!want.uname) {
            expect(twins.has(platform), platform).toBe(false);
            continue;
          }
          expect(describeExpectation(UNAME, r)).toBe(`uname -m = ${want.uname}`);
          expect(judge(UNAME, r, `${want.uname}\n`).pass, platform).toBe(true);
          expect(judge(UNAME, r, `Linux 4f2c9a 6.1.0 #1 SMP PREEMPT_DYNAMIC ${want.uname} GNU/Linux\n`).pass, platform).toBe(true);
          const same = Object.entries(p.expect)
            .filter(([q, w]) => q !== platform && w.uname === want.uname)
            .map(([q]) => q);
          expect(twins.get(platform)?.sort() ?? [], platform).toEqual(same.sort());
        }
      });
    });
  }

  test('exactly these observations overrule the tables: the kernels that refuse their own 32-bit mode', () => {
    const overrides = Object.fromEntries(
      profiles.map((p) => [
        p.kind,
        diagnose(p.host)
          .filter((r) => r.tableExpected)
          .map(
            (r) =>
              `${formatPlatform(r.platform)}: ${r.tableExpected!.mode} ${r.tableExpected!.uname} -> ${r.mode} ${r.expectedUname ?? '-'}`,
          ),
      ]),
    );
    expect(overrides).toEqual({
      'amd64-compat-386': [],
      'amd64-refuses-386': [],
      'amd64-refuses-386-no-handler': ['linux/386: compat x86_64 -> unavailable -'],
      'arm64-no-aarch32': [],
      'arm64-no-aarch32-no-handler': [
        'linux/arm/v7: compat aarch64 -> unavailable -',
        'linux/arm/v6: compat aarch64 -> unavailable -',
        'linux/arm/v5: compat aarch64 -> unavailable -',
      ],
      // A compat process's uname(2) says aarch64 (armv8l only under the LINUX32 personality, which
      // Docker does not set): what the tables expect and what such a host answers.
      'arm64-with-aarch32': [],
    });
  });

  test('what differs between hosts is what they answered: 386 on three amd64 hosts, arm/v7 on three arm64 hosts', () => {
    const answer = (kind: string, platform: string) => {
      const r = rowOf(diagnose(profile(kind).host), platform);
      return [r.mode, r.expectedUname, r.emulator?.handler].filter(Boolean).join(' ');
    };
    expect(['amd64-compat-386', 'amd64-refuses-386', 'amd64-refuses-386-no-handler'].map((k) => answer(k, 'linux/386'))).toEqual([
      'compat x86_64',
      'qemu i686 qemu-i386',
      'unavailable',
    ]);
    expect(['arm64-with-aarch32', 'arm64-no-aarch32', 'arm64-no-aarch32-no-handler'].map((k) => answer(k, 'linux/arm/v7'))).toEqual([
      'compat aarch64',
      'qemu armv7l qemu-arm',
      'unavailable',
    ]);
    // On arm64, amd64 and 386 run under Debian's qemu-x86_64 and qemu-i386 registrations (magic 01
    // under mask fe at EI_DATA and EI_VERSION): the kernel compares only the masked bits, so it hands
    // the probes to them, and doctor names them and their QEMU.
    const arm64Kinds = ['arm64-with-aarch32', 'arm64-no-aarch32', 'arm64-no-aarch32-no-handler'];
    expect(arm64Kinds.flatMap((k) => [answer(k, 'linux/amd64'), answer(k, 'linux/386')])).toEqual([
      'qemu x86_64 qemu-x86_64',
      'qemu i686 qemu-i386',
      'qemu x86_64 qemu-x86_64',
      'qemu i686 qemu-i386',
      'qemu x86_64 qemu-x86_64',
      'qemu i686 qemu-i386',
    ]);
    for (const k of arm64Kinds) {
      const rows = diagnose(profile(k).host);
      expect(
        ['linux/amd64', 'linux/386'].map((p) => rowOf(rows, p).emulator),
        k,
      ).toEqual([
        {
          handler: 'qemu-x86_64',
          interpreter: '/var/lib/multiarch-harness/emulators/qemu-10.0.13/qemu-x86_64',
          flags: 'PF',
          qemuVersion: '10.0.13',
        },
        {
          handler: 'qemu-i386',
          interpreter: '/var/lib/multiarch-harness/emulators/qemu-10.0.13/qemu-i386',
          flags: 'PF',
          qemuVersion: '10.0.13',
        },
      ]);
      const text = renderDoctor(profile(k).host, rows);
      expect(text, k).toMatch(
        /^linux\/386\s+qemu\s+uname -m i686; qemu-i386 -> \/var\/lib\/multiarch-harness\/emulators\/qemu-10\.0\.13\/qemu-i386 flags PF, QEMU 10\.0\.13$/m,
      );
      expect(text, k).not.toContain('emulated by something no readable binfmt_misc handler names');
    }
    // uname alone cannot tell 386 from amd64 where 386 runs in compat mode, nor arm from arm64 on an AArch32 host.
    expect(unameTwins(diagnose(profile('amd64-compat-386').host)).get('linux/386')).toEqual(['linux/amd64']);
    expect(unameTwins(diagnose(profile('amd64-refuses-386').host)).get('linux/386')).toBeUndefined();
    expect(unameTwins(diagnose(profile('arm64-with-aarch32').host)).get('linux/arm64')).toEqual([
      'linux/arm/v7',
      'linux/arm/v6',
      'linux/arm/v5',
    ]);
  });

  test('wrong but plausible answers fail the run check', () => {
    const check = (kind: string, platform: string, printed: string) =>
      judge(UNAME, rowOf(diagnose(profile(kind).host), platform), `${printed}\n`);
    // QEMU's default ARM CPU is an ARMv7: arm/v6 under QEMU says armv7l, never armv6l.
    expect(check('arm64-no-aarch32', 'linux/arm/v6', 'armv6l')).toMatchObject({
      pass: false,
      message: 'expected uname -m armv7l (qemu), got armv6l',
    });
    expect(check('amd64-compat-386', 'linux/arm/v6', 'armv6l').pass).toBe(false);
    // 386 in compat mode sees the 64-bit kernel; under QEMU it sees an i686.
    expect(check('amd64-compat-386', 'linux/386', 'i686')).toMatchObject({
      pass: false,
      message: 'expected uname -m x86_64 (compat), got i686',
    });
    expect(check('amd64-refuses-386', 'linux/386', 'x86_64')).toMatchObject({
      pass: false,
      message: 'expected uname -m i686 (qemu), got x86_64',
    });
    expect(check('arm64-with-aarch32', 'linux/arm/v7', 'armv8l')).toMatchObject({
      pass: false,
      message: 'expected uname -m aarch64 (compat), got armv8l',
    });
    expect(check('arm64-with-aarch32', 'linux/arm/v7', 'armv7l').pass).toBe(false);
  });

  test('without its observations a profile falls back to the tables, which are wrong for the kernels that refuse', () => {
    const guessed = (kind: string) => {
      const { observations: _, observedAt: __, ...facts } = profile(kind).host;
      const host: HostProbe = { ...facts, observations: {} };
      return { rows: diagnose(host), text: renderDoctor(host, diagnose(host)) };
    };
    const amd64 = guessed('amd64-refuses-386-no-handler');
    expect(rowOf(amd64.rows, 'linux/386')).toMatchObject({ mode: 'compat', expectedUname: 'x86_64', observed: false });
    expect(amd64.text).toMatch(/^linux\/386\s+compat\s+uname -m x86_64; no handler involved \(not observed: the tables' guess\)$/m);
    const arm64 = guessed('arm64-no-aarch32-no-handler');
    expect(rowOf(arm64.rows, 'linux/arm/v7')).toMatchObject({ mode: 'compat', expectedUname: 'aarch64', observed: false });
    expect(arm64.rows.every((r) => !r.observed && !r.tableExpected)).toBe(true);
  });

  test('an engine failure in place of an observation is no observation: that platform falls back to the tables, the others stay observed', () => {
    // What observe.ts records when the engine failed (probe image not made, no answer in time); it
    // names the handler matching the probe all the same.
    const replay = (kind: string, platform: string, error: string) => {
      const { host } = profile(kind);
      const seen = host.observations[platform]!;
      const failed = {
        platform,
        ran: false,
        engineFailure: true,
        error,
        ...(seen.handler ? { handler: seen.handler } : {}),
        durationMs: 60_000,
      };
      const h: HostProbe = { ...host, observations: { ...host.observations, [platform]: failed } };
      const rows = diagnose(h);
      return { rows, text: renderDoctor(h, rows), observed: diagnose(host) };
    };
    // The kernel refuses 386 here, but a hang says nothing about that: the tables' compat guess stands, marked as a guess.
    const refuses = replay('amd64-refuses-386-no-handler', 'linux/386', 'no answer within 60 s (a hang)');
    expect(rowOf(refuses.rows, 'linux/386')).toEqual({
      platform: parsePlatform('linux/386'),
      mode: 'compat',
      expectedUname: 'x86_64',
      timeoutFactor: 1,
      observed: false,
    });
    expect(refuses.text).toMatch(/^linux\/386\s+compat\s+uname -m x86_64; no handler involved \(not observed: the tables' guess\)$/m);
    expect(refuses.text).not.toContain('note: ');
    // Under qemu-arm on arm64: still qemu under that handler, armv7l, not unavailable.
    const qemu = replay(
      'arm64-no-aarch32',
      'linux/arm/v7',
      'the probe image could not be made: Error response from daemon: no space left on device',
    );
    expect(rowOf(qemu.rows, 'linux/arm/v7')).toMatchObject({
      mode: 'qemu',
      expectedUname: 'armv7l',
      observed: false,
      emulator: { handler: 'qemu-arm', qemuVersion: '10.0.13' },
    });
    expect(rowOf(qemu.rows, 'linux/arm/v7').reason).toBeUndefined();
    // Every other platform is as observed.
    for (const [r, failed] of [
      [refuses, 'linux/386'],
      [qemu, 'linux/arm/v7'],
    ] as const) {
      const others = (rows: PlatformExecution[]) => rows.filter((x) => formatPlatform(x.platform) !== failed);
      expect(others(r.rows)).toEqual(others(r.observed));
    }
  });
});
