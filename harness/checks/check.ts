/**
 * The check contract: every check (index, config, binary, run, and a container-structure-test file's
 * tests) is one `Check` over a `PlatformContext`, one platform's inputs. Each input is computed once,
 * on first ask, and shared (checks/context.ts): the manifest and config are fetched once, the layers
 * read once, the binary verdict reached (or reused) once. `verify/verify.ts` runs the list of checks.
 */
import type { Session } from '../session/index.ts';
import type { HostProbe } from '../host/index.ts';
import type { ImageFilesystem } from '../image/index.ts';
import type { PlatformExecution, Expectation } from '../platform/index.ts';
import type { ImageTarget } from '../image-source/index.ts';
import type { FetchedManifest, ImageConfig, ImageSource, IndexEntry, IndexView } from '../registry/index.ts';
import { skip, type CheckName, type CheckResult, type PlatformResult, type Progress } from '../result/index.ts';
import type { StructureTestFile } from '../structure-file/index.ts';
import type { KeptVerdict } from './binary-check-cache.ts';

/** What was asked, the same for every platform. */
export interface VerifyRequest {
  /** The image: a registry reference, or a local image (oci:, oci-archive:, docker-archive:). */
  target: ImageTarget;
  expect?: Expectation;
  command?: string[];
  /** A container-structure-test file: its tests run on every platform beside the checks. */
  structureTests?: StructureTestFile;
  /** Globs of paths whose ELF files are foreign on purpose. */
  allowForeign: readonly string[];
  /** The network the run check's containers join. */
  network: string;
  allowSkip: boolean;
}

/** Why an input could not be had, in one sentence (the check that needed it fails or is not reached). */
export interface Problem {
  problem: string;
}

/** One platform's inputs. Each is computed once, on first ask, and shared (memoised). */
export interface PlatformContext {
  readonly session: Session;
  /** The engine's name in reports: "default" (or DOCKER_HOST) or the node's name. */
  readonly engineName: string;
  /** What the engine the platform is placed on can do. */
  readonly probe: HostProbe;
  readonly exec: PlatformExecution;
  readonly request: VerifyRequest;
  readonly source: ImageSource;
  readonly index: IndexView;
  /** A scratch folder for the layers. */
  readonly scratch: string;
  readonly onProgress?: Progress;
  /** This platform's state on the progress board. */
  progress(state: string): void;
  /** The index's entry for this platform (asking it first says 'reading manifest and config'). */
  entry(): IndexEntry | undefined;
  /**
   * Where the platform's container starts from: a registry image pinned by digest (run-reference.ts),
   * the name a local image's platform is loaded under (loadRunImage), or the id of an image of the
   * engine's own store (docker-daemon:); only with an entry.
   */
  runImage(): string;
  /**
   * A local image: its platform loaded into the engine under runImage()'s name, once, by whichever
   * check asks first (only with its manifest read); an EngineError when it cannot be. An image of
   * the engine's store is there already: it is only recorded, as present, so it is never removed. A
   * registry image is pulled by each run instead: nothing to do.
   */
  loadRunImage(): Promise<void>;
  /** Whether the engine had the pinned image before, from one presence question for all platforms; undefined: not asked. */
  imagePresent(): boolean | undefined;
  /** The platform's manifest and config, or why they cannot be read (only with an entry). */
  manifestAndConfig(): Promise<{ manifest: FetchedManifest; config: ImageConfig } | Problem>;
  /** The platform's file system, layers read once (the binary check and file tests both read it). */
  filesystem(): Promise<ImageFilesystem | Problem>;
  /** Its last reader is done with the file system: it is let go (asked again, it is read again). */
  releaseFilesystem(): void;
  /** The binary check's verdict, kept or reached now; undefined when its inputs could not be read. */
  binaryVerdict(): Promise<KeptVerdict | undefined>;
}

/** What a check found: its result, and the fields of the platform result it fills. */
export interface CheckOutcome {
  /** Undefined for a unit that only fills findings (structure tests). */
  result?: CheckResult;
  findings?: Partial<
    Pick<
      PlatformResult,
      | 'digest'
      | 'output'
      | 'durationMs'
      | 'exitCode'
      | 'emulatorSuspect'
      | 'secondOpinion'
      | 'decidedBy'
      | 'fix'
      | 'binary'
      | 'structureTests'
      | 'referrers'
    >
  >;
}

export interface Check {
  readonly name: CheckName | 'structure-tests';
  /** Reads its inputs from ctx; an input that is missing gives notReached(). */
  check(ctx: PlatformContext): Promise<CheckOutcome>;
  /** After every platform: what only all of them together tell (the run check: uname twins). */
  conclude?(results: PlatformResult[], listed: readonly PlatformExecution[], request: VerifyRequest): void;
}

/** A check whose input an earlier one could not provide. */
export const notReached = (): CheckOutcome => ({ result: skip('not reached') });

/** Whether a value is a problem instead of the input asked for. */
export function isProblem<T extends object>(x: T | Problem): x is Problem {
  return 'problem' in x;
}
