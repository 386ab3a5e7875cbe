/**
 * What was seen when a program of a platform was run on the engine (host/observe.ts makes these),
 * and which observation answers for a platform. Pure: the platform model reads it, the host fills it.
 */
import { formatPlatform, type Platform } from './platform.ts';

/** A binfmt_misc handler as the kernel prints it (/proc/sys/fs/binfmt_misc/NAME; host/binfmt.ts reads them). */
export interface BinfmtHandler {
  name: string;
  enabled: boolean;
  interpreter: string;
  /** Flags as the kernel prints them, e.g. "PF", "POCF". F: interpreter opened at registration. */
  flags: string;
  /** Where in the file the magic starts, and the magic and mask as hex, for magic-type handlers. */
  offset?: number;
  magic?: string;
  mask?: string;
}

/** What running the probe of one platform did on this engine. */
export interface PlatformObservation {
  platform: string;
  ran: boolean;
  /** `uname -m` as the probe printed it. */
  machine?: string;
  /** The binfmt_misc handler whose magic matched the probe: the kernel gave the program to it. */
  handler?: string;
  /** Why it did not run: "exec format error", "killed by SIGSEGV", ... */
  error?: string;
  /** The engine failed (no probe image, no answer in time): not a fact about the platform, so not cached. */
  engineFailure?: boolean;
  exitCode?: number;
  durationMs: number;
}

/**
 * The platform whose probe answers for p: arm variants are told apart (a host may run v7 but not v6
 * code), amd64 levels are not (the probe uses no level-specific instruction).
 */
export function observationKey(p: Platform): string {
  return formatPlatform(p.architecture === 'arm' ? p : { os: p.os, architecture: p.architecture });
}
