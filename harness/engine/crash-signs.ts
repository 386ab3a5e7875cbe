/**
 * What a program that crashed looks like from outside, the signs a faulty emulator leaves: an exit
 * code of a fatal signal, or a runtime's crash report in its output.
 */

/** Exit codes of a process killed by SIGILL, SIGABRT, SIGBUS, SIGSEGV. */
export const CRASH_CODES = new Set([132, 134, 135, 139]);

/** Go's runtime crash reports and QEMU's own fatal-signal line. */
export const RUNTIME_CRASH =
  /^(fatal error: |unexpected signal during runtime execution|SIG(SEGV|ILL|BUS|TRAP): |qemu: uncaught target signal)/m;

/** A failed process whose exit code or output shows a crash rather than an ordinary failure. */
export function looksLikeCrash(exitCode: number | undefined, output: string): boolean {
  if (exitCode !== undefined && CRASH_CODES.has(exitCode)) return true;
  return exitCode !== 0 && RUNTIME_CRASH.test(output);
}
