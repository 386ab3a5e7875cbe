/**
 * The run report: what the JSON reporter writes (schemaVersion 1) and every other reporter reads.
 */
import type { Emulator, ExecutionMode } from '../execution-mode.ts';
import type { StepResult } from '../steps.ts';

export type CheckName = 'index' | 'config' | 'binary' | 'run';

export interface CheckResult {
  status: 'pass' | 'fail' | 'skip';
  /** What was found, or why it failed or was skipped. */
  message?: string;
}

export interface PlatformResult {
  platform: string;
  mode: ExecutionMode;
  status: 'pass' | 'fail' | 'skip';
  /** What the platform had to print. */
  expected: string;
  /** What it printed (stdout), trimmed. */
  output: string;
  /** Time the run of this platform took (docker run), in ms. */
  durationMs: number;
  /** Time BuildKit spent on this platform's steps, in ms (from the rawjson progress stream). */
  buildMs?: number;
  /** Digest of this platform's manifest: what the run was pinned to. */
  digest?: string;
  exitCode?: number;
  /** One sentence when the platform failed or was skipped. */
  message?: string;
  /** The fix for a platform that cannot run here. */
  fix?: string;
  emulator?: Emulator;
  /** A crash or hang under QEMU: more likely the emulator than the image. */
  emulatorSuspect?: boolean;
  /**
   * After a crash or hang under QEMU, the same program run once more under another emulator at hand
   * (invoked explicitly): what it did there. Its verdict and the first one together tell emulator
   * trouble ("crashes under QEMU 7.2, passes under QEMU 10.0") from a broken image ("fails under both").
   */
  secondOpinion?: { emulator: string; status: 'pass' | 'fail'; exitCode?: number; output: string; message: string };
  /** The emulator whose run decided the run check: "QEMU 10.0.13 (qemu-i386)". */
  decidedBy?: string;
  /** The four checks: index entry, image config, entry binary (ELF), run output. */
  checks?: Record<CheckName, CheckResult>;
  /** Known issues this platform showed (the scenario expected them): why each is accepted. */
  knownIssues?: string[];
  /** The entry binary as read from the layers: "/app/hello: ELF 64-bit LSB AArch64, static, go1.24.4 linux/arm64". */
  binary?: string;
}

export interface RunReport {
  schemaVersion: 1;
  /** "build": a scenario built and pushed the image; "verify": an existing image was checked; "steps": article steps. */
  kind: 'build' | 'verify' | 'steps';
  scenario: string;
  title: string;
  article?: string;
  startedAt: string;
  durationMs: number;
  host: { engine: string; native: string; imageStore: string; buildx?: string; kernel: string };
  image?: { ref: string; digest: string; mediaType: string; buildMs: number };
  platforms: PlatformResult[];
  /** Step scenarios: each step, its commands, what the article showed and what happened here. */
  steps?: StepResult[];
  /** Platforms and steps together. */
  summary: { passed: number; failed: number; skipped: number };
  /** Where the engine differs from the article, and other things a reader should know. */
  notes: string[];
}
