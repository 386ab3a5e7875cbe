/**
 * What a platform's run must print, and the check of what it did print. Meaning, not bytes: a
 * template's line must appear as a line of the output; a `uname` expectation compares the machine
 * field with what this host reports for the platform (see execution-mode.ts).
 */
import type { PlatformExecution } from './execution-mode.ts';
import { formatPlatform, goTarget, type Platform } from './platform.ts';

export type Expectation =
  /**
   * Lines the output must contain, each as a whole line (a template of several lines asks for
   * each of them); placeholders as fillTemplate.
   */
  | { kind: 'output'; template: string }
  /** `uname -m` (alone, or as the machine field of `uname -a`) must match this host's expectation. */
  | { kind: 'uname' };

/**
 * Fills {os} {arch} {variant} {platform} {goarch} from the target platform, and
 * {buildplatform} {buildos} {buildarch} {buildvariant} from the build platform when given.
 */
export function fillTemplate(template: string, p: Platform, build?: Platform): string {
  const values: Record<string, string> = {
    os: p.os,
    arch: p.architecture,
    variant: p.variant ?? '',
    platform: formatPlatform(p),
    goarch: goTarget(p).goarch,
    ...(build
      ? { buildplatform: formatPlatform(build), buildos: build.os, buildarch: build.architecture, buildvariant: build.variant ?? '' }
      : {}),
  };
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}

export interface Verdict {
  pass: boolean;
  expected: string;
  /** One sentence when it failed. */
  message?: string;
}

/** What the platform must print, in words: the expectation, or a clean exit when there is none. */
export function expectedText(e: Expectation | undefined, exec: PlatformExecution, build?: Platform): string {
  return e ? describeExpectation(e, exec, build) : 'exit code 0';
}

export function describeExpectation(e: Expectation, exec: PlatformExecution, build?: Platform): string {
  return e.kind === 'output' ? fillTemplate(e.template, exec.platform, build) : `uname -m = ${exec.expectedUname ?? '?'}`;
}

/** The machine field of `uname -m` or `uname -a` output ("Linux host 6.1 #1 SMP ... aarch64 Linux"). */
export function unameMachine(output: string): string | undefined {
  const line = output
    .trim()
    .split('\n')
    .findLast((l) => l.trim() !== '')
    ?.trim();
  if (!line) return undefined;
  const words = line.split(/\s+/);
  if (words.length === 1) return words[0];
  // uname -a ends with "<machine> [<processor> <platform>] <os>", os being Linux or GNU/Linux.
  const known = /^(x86_64|i[3-6]86|aarch64|arm\w*|ppc64\w*|s390x|riscv64|mips\w*|loongarch64)$/;
  return words.findLast((w) => known.test(w)) ?? words.at(-2);
}

export function judge(e: Expectation, exec: PlatformExecution, output: string, build?: Platform): Verdict {
  const expected = describeExpectation(e, exec, build);
  if (e.kind === 'output') {
    const want = fillTemplate(e.template, exec.platform, build).trim();
    const got = new Set(output.split('\n').map((l) => l.trim()));
    const missing = want
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => !got.has(l));
    if (missing.length === 0) return { pass: true, expected: want };
    return {
      pass: false,
      expected: want,
      message: `expected the line "${missing[0]}"${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''}, got "${summarize(output)}"`,
    };
  }
  const machine = unameMachine(output);
  const pass = machine !== undefined && machine === exec.expectedUname;
  return pass
    ? { pass, expected }
    : { pass, expected, message: `expected uname -m ${exec.expectedUname} (${exec.mode}), got ${machine ?? `"${summarize(output)}"`}` };
}

function summarize(s: string): string {
  const t = s.trim().replace(/\s+/g, ' ');
  return t.length > 120 ? `${t.slice(0, 117)}...` : t || '(nothing)';
}
