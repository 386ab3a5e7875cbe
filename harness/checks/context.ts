/**
 * One platform's inputs to the checks (checks/check.ts), each computed once, on first ask, and
 * shared: the index entry, the image the run starts from (and a local image's load; an image of the
 * engine's store is there already), the manifest and config, the file system, the binary verdict.
 * Whoever asks first starts it; the progress states ('reading manifest and config', 'reading
 * layers') are said by the inputs as they start.
 */
import { loadedImageName, loadPlatform, type Session } from '../session/index.ts';
import { platformArchive } from '../image-source/index.ts';
import type { HostProbe } from '../host/index.ts';
import type { ImageFilesystem } from '../image/index.ts';
import { type PlatformExecution, formatPlatform, samePlatform } from '../platform/index.ts';
import type { ImageSource, IndexView } from '../registry/index.ts';
import { timed, type Progress } from '../result/index.ts';
import { judgeEntryBinary } from './binary-verdict.ts';
import { isProblem, type PlatformContext, type Problem, type VerifyRequest } from './check.ts';
import { readManifestAndConfig } from './config-check.ts';
import { runReference } from './run-reference.ts';

export interface PlatformContextInput {
  session: Session;
  engineName: string;
  probe: HostProbe;
  exec: PlatformExecution;
  request: VerifyRequest;
  source: ImageSource;
  index: IndexView;
  scratch: string;
  onProgress?: Progress;
  /** Whether the default engine had each pinned image it was asked about (one question for all platforms). */
  presence: ReadonlyMap<string, boolean>;
}

/** A function that computes its value on the first call and returns that same value ever after. */
function once<T>(compute: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = compute();
      done = true;
    }
    return value;
  };
}

export function platformContext(i: PlatformContextInput): PlatformContext {
  const name = formatPlatform(i.exec.platform);
  const progress = (state: string) => i.onProgress?.('', { platform: name, state });
  const entry = once(() => {
    progress('reading manifest and config');
    return i.index.entries.find((e) => samePlatform(e.platform, i.exec.platform));
  });
  const needEntry = () => {
    const e = entry();
    if (!e) throw new Error(`${name} has no index entry: nothing of it can be read`);
    return e;
  };
  const { target } = i.request;
  const runImage = once(() => {
    const entry = needEntry();
    // An image of the engine's own store runs from there, by its id; another local image, as loaded under a name of the session.
    if (target.kind === 'local') return i.source.engineImage ?? loadedImageName(i.session, i.exec.platform);
    return runReference({
      ref: target.ref,
      indexDigest: i.index.digest,
      entries: i.index.entries,
      entry,
      imageStore: i.probe.imageStore,
    });
  });
  const manifestAndConfig = once(() => {
    const e = needEntry();
    return timed(i.session.phases, 'static checks', () => readManifestAndConfig(i.source, e, i.exec.platform));
  });
  const readFilesystem = async (): Promise<ImageFilesystem | Problem> => {
    const read = await manifestAndConfig();
    if (isProblem(read)) return read;
    try {
      const { readImageFilesystem } = await import('../image/index.ts');
      return await timed(i.session.phases, 'static checks', () => readImageFilesystem(i.source, read.manifest, i.scratch));
    } catch (err) {
      return { problem: `the file system of ${name} cannot be read: ${(err as Error).message}` };
    }
  };
  // Held from the first ask until its last reader is done (the binary verdict, and the file tests when
  // there are any), not for as long as the platform's run waits on the engine: every platform's index
  // held at once would be memory for nothing. Asked again after that, it is read again.
  let filesystemRead: Promise<ImageFilesystem | Problem> | undefined;
  const filesystem = () => (filesystemRead ??= readFilesystem());
  const releaseFilesystem = () => {
    filesystemRead = undefined;
  };
  const loadRunImage = once(async (): Promise<void> => {
    if (target.kind !== 'local') return;
    // The user's image, in the engine already: recorded as there before, so the session never removes it.
    if (i.source.engineImage) return i.session.trackImage(i.source.engineImage, { present: true });
    const read = await manifestAndConfig();
    // Its callers read the manifest first, and go no further without it.
    if (isProblem(read)) throw new Error(`${name} was to be loaded without its manifest: ${read.problem}`);
    const image = runImage();
    // Timed as a pull: both bring the platform's image into the engine.
    await timed(i.session.phases, 'pull', () =>
      loadPlatform(i.session, {
        name: image,
        platform: i.exec.platform,
        archive: () =>
          platformArchive({ source: i.source, manifest: read.manifest, platform: i.exec.platform, name: image, scratch: i.scratch }),
        ids: [read.manifest.body.config!.digest, read.manifest.digest],
      }),
    );
  });
  const ctx: PlatformContext = {
    session: i.session,
    engineName: i.engineName,
    probe: i.probe,
    exec: i.exec,
    request: i.request,
    source: i.source,
    index: i.index,
    scratch: i.scratch,
    ...(i.onProgress ? { onProgress: i.onProgress } : {}),
    progress,
    entry,
    runImage,
    loadRunImage,
    imagePresent: once(() => i.presence.get(runImage())),
    manifestAndConfig,
    filesystem,
    releaseFilesystem,
    binaryVerdict: once(async () => {
      const read = await manifestAndConfig();
      if (isProblem(read)) return undefined;
      progress('reading layers');
      const verdict = await judgeEntryBinary(ctx, read.manifest, read.config);
      if (!i.request.structureTests) releaseFilesystem();
      return verdict;
    }),
  };
  return ctx;
}
