/**
 * Article section 1.4.1: `docker run --privileged --rm tonistiigi/binfmt --install all`, which
 * registers QEMU's binfmt_misc handlers in the kernel so that foreign binaries run. Privileged, so
 * it runs only when asked (--allow-privileged).
 *
 * The steps: the status JSON (no argument), cross-checked against the handlers this harness reads
 * and the platforms it believes run; the article's --install all, after which no handler the host
 * had is replaced or gone; --install of an architecture whose handler exists (the kernel refuses a
 * second handler of the same name); and every platform of alpine:latest run, its uname -m checked.
 */
import {
  type BinfmtHandler,
  classify,
  defineScenario,
  formatPlatform,
  judge,
  parsePlatform,
  parsePlatformList,
  type Step,
} from 'multiarch-harness';
import { ALPINE_PLATFORMS } from './support/upstream-platforms.ts';

const IMAGE = 'tonistiigi/binfmt';
/** What binfmt can install, as the platforms its status reports them. */
const INSTALLABLE = parsePlatformList(
  'linux/arm64,linux/riscv64,linux/ppc64le,linux/s390x,linux/386,linux/mips64le,linux/mips64,linux/loong64,linux/arm/v7,linux/arm/v6',
);
/** alpine:latest's platforms: every one gets run after the install. */
const ALPINE = ALPINE_PLATFORMS.map(parsePlatform);

interface Status {
  supported: string[];
  emulators: string[];
}

function parseStatus(s: Step, stdout: string): Status {
  let data: unknown;
  try {
    data = JSON.parse(stdout);
  } catch {
    s.check(false, `binfmt prints its status as JSON, printed "${stdout.slice(0, 120)}"`);
    return { supported: [], emulators: [] };
  }
  const d = data as Partial<Status>;
  s.check(Array.isArray(d.supported) && Array.isArray(d.emulators), 'the status has "supported" and "emulators" lists');
  return { supported: d.supported ?? [], emulators: d.emulators ?? [] };
}

/** No handler that was there before is gone, disabled, or pointing at another interpreter. */
function checkUntouched(s: Step, before: BinfmtHandler[], after: BinfmtHandler[]): void {
  for (const b of before) {
    const a = after.find((h) => h.name === b.name);
    s.check(
      a !== undefined && a.enabled === b.enabled && a.interpreter === b.interpreter && a.flags === b.flags,
      `the handler ${b.name} (${b.interpreter}, flags ${b.flags}) is unchanged, now ${a ? `${a.interpreter}, flags ${a.flags}${a.enabled ? '' : ', disabled'}` : 'gone'}`,
    );
  }
}

export default defineScenario({
  kind: 'steps',
  name: 'binfmt-install',
  title: 'tonistiigi/binfmt: status, --install all, and every platform runs',
  reference: { name: 'the article', part: '1.4.1' },
  privileged: "runs tonistiigi/binfmt with --privileged, which registers binfmt_misc handlers in the kernel of the engine's host",
  platforms: ALPINE_PLATFORMS,
  async steps(t) {
    const labels = t.ctx.labelArgs();

    await t.step('1.4.1', 'binfmt with no argument: its status, as this harness sees it too', async (s) => {
      s.reference(
        '(the article shows no output; upstream\'s README:) {"supported": ["linux/amd64", "linux/arm64", ...], "emulators": ["qemu-aarch64", ...]}',
      );
      const r = await s.must(['run', '--privileged', '--rm', ...labels, IMAGE], { timeoutMs: 300_000 });
      const status = parseStatus(s, r.stdout);
      s.check(
        status.supported.includes(formatPlatform(t.probe.native)),
        `the engine's own platform ${formatPlatform(t.probe.native)} is supported`,
      );
      for (const p of INSTALLABLE) {
        const runs = classify(p, t.probe).mode !== 'unavailable';
        s.check(
          status.supported.includes(formatPlatform(p)) === runs,
          `${formatPlatform(p)}: binfmt says ${status.supported.includes(formatPlatform(p)) ? 'supported' : 'not supported'}, the harness says it ${runs ? 'runs' : 'cannot run'}`,
        );
      }
      const enabled = (await t.handlers())
        .filter((h) => h.enabled)
        .map((h) => h.name)
        .sort();
      s.check(
        JSON.stringify([...status.emulators].sort()) === JSON.stringify(enabled),
        `"emulators" lists the enabled handlers (${enabled.length}), lists ${status.emulators.length}`,
      );
      s.saw(`supported: ${status.supported.join(', ')}`);
      s.saw(
        `emulators: ${status.emulators.length} enabled handlers (${status.emulators.filter((e) => e.startsWith('qemu-')).length} of them QEMU's)`,
      );
    });

    await t.step('1.4.1', "the article's command: --install all", async (s) => {
      s.reference(
        '`docker run --privileged --rm tonistiigi/binfmt --install all` (for engines other than Docker Desktop, which has the handlers already)',
      );
      const before = await t.handlers();
      const r = await s.must(['run', '--privileged', '--rm', ...labels, IMAGE, '--install', 'all'], { timeoutMs: 300_000 });
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('installing:'));
      s.check(!/^error:/m.test(r.stderr), `no error: ${r.stderr.match(/^error:.*$/m)?.[0] ?? ''}`);
      for (const l of lines) s.check(/ OK$/.test(l), l);
      const after = parseStatus(s, r.stdout);
      for (const p of INSTALLABLE) s.check(after.supported.includes(formatPlatform(p)), `${formatPlatform(p)} is supported afterwards`);
      checkUntouched(s, before, await t.handlers());
      if (lines.length) {
        s.saw(lines.join('; '));
      } else {
        s.saw('nothing to install: every architecture binfmt knows already runs here; it printed only its status');
        s.differs(
          'this host registered Debian\'s QEMU handlers (qemu-user-static, binfmt-support) while it was prepared, so --install all, which installs only what does not run yet, has nothing to do; on a machine without handlers it prints one "installing: <arch> OK" line per architecture. The handlers the host had are left exactly as they were.',
        );
      }
      s.differs(
        "offline, tonistiigi/binfmt is a stand-in: Debian's static QEMU (7.2; riscv64's 10.0) with a binfmt tool of the same command line and output (see docs/development.md, Stand-ins). Handlers it registers carry flags CF plus P, as upstream's (QEMU_PRESERVE_ARGV0=1 in the image).",
      );
    });

    await t.step('1.4.1', '--install arm64 where the host has a handler: the kernel keeps the first', async (s) => {
      s.reference(
        '(not in the article) binfmt prints "installing: arm64 qemu-aarch64 already registered" when a handler of that name exists',
      );
      const before = await t.handlers();
      const had = before.some((h) => h.name === 'qemu-aarch64');
      const r = await s.must(['run', '--privileged', '--rm', ...labels, IMAGE, '--install', 'arm64'], { timeoutMs: 300_000 });
      const line = r.stderr.match(/^installing: arm64 .*$/m)?.[0] ?? '';
      s.checkMatch(
        line,
        had ? /^installing: arm64 qemu-aarch64 already registered$/ : /^installing: arm64 OK$/,
        had ? 'the kernel refuses a second qemu-aarch64 (EEXIST)' : 'arm64 installed',
      );
      s.saw(line);
      if (had) checkUntouched(s, before, await t.handlers());
    });

    await t.step('1.4.1', 'every platform of alpine:latest runs, with the uname -m its mode gives', async (s) => {
      s.reference('(implied) after the install, images of other platforms run: `docker run --platform linux/arm64 ...`');
      for (const p of ALPINE) {
        const exec = classify(p, t.probe);
        const r = await s.docker(['run', '--rm', ...labels, '--platform', formatPlatform(p), 'alpine:latest', 'uname', '-m'], {
          timeoutMs: 60_000 * exec.timeoutFactor,
        });
        const verdict = judge({ kind: 'uname' }, exec, r.stdout);
        s.check(r.exitCode === 0 && verdict.pass, `${formatPlatform(p)}: ${verdict.message ?? r.stderr.trim().split('\n').at(-1) ?? ''}`);
        s.saw(`${formatPlatform(p)} (${exec.mode}): ${r.stdout.trim()}`);
      }
    });
  },
});
