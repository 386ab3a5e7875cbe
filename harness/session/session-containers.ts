/**
 * Runs a pinned image as one platform: `docker run --rm --platform P ref@digest`, with a timeout
 * scaled for emulation, through the engine's API (engine/containers.ts; pulls too, engine/client.ts).
 * A local image's platform is loaded instead (loadPlatform), under a name of the session. A run that
 * times out has its container removed. Under QEMU a run that uses no CPU and prints nothing for
 * MULTIARCH_HANG_SECONDS is a hang: its container is removed and the run says so.
 * A run can also be given another emulator explicitly (a second opinion): the emulator binary is
 * mounted into the container and started as its entrypoint with the program's command line.
 * Commands of container-structure-test files (runTestCommand) run the same way, their containers
 * kept and committed when a setup command's result is the next command's image.
 */
import type { Readable } from 'node:stream';
import { CredentialHelperError, findCredentials, parseImageRef } from '../registry/index.ts';
import {
  Engine,
  EngineError,
  runContainer,
  type ContainerResult,
  type ContainerSpec,
  engineTakesNetworkFiles,
  noneNetworkFiles,
  type HostsStyle,
  refusedNetworkFiles,
  HangWatchdog,
  hangSeconds,
  type Hang,
} from '../engine/index.ts';
import { EnvironmentError, HarnessError, isTransient, withRetry } from '../base/index.ts';
import { timed } from '../result/index.ts';
import type { Session } from './session.ts';
import { formatPlatform, platformSlug, type Platform } from '../platform/index.ts';

/** A container's result (containers.ts): the run check's and the structure tests' too. */
export type { ContainerResult } from '../engine/index.ts';

export const BASE_CONTAINER_TIMEOUT_MS = 60_000;

/** Where a second-opinion emulator is mounted inside the container. */
const EMULATOR_MOUNT = '/.multiarch-harness-emulator';

export interface RunPinnedOptions {
  timeoutMs: number;
  command?: string[];
  /** The emulator the kernel runs this platform through (local engine): watched for hangs. */
  watch?: { handler: string; interpreter: string };
  /** Run through this emulator instead, with this command line (program path resolved in the image). */
  emulator?: { path: string; argv: string[] };
  /** Whether the engine had the image before, when the caller knows (imagesPresent); asked otherwise. */
  present?: boolean;
  /** The image is in the engine already (a local image's platform, loaded by loadPlatform): nothing is pulled. */
  prepared?: boolean;
  /** docker run --network (the engine's default, bridge, when not given). */
  network?: string;
  /** Docker Engine on this machine, of a version whose none-network files are known (noneNetworkStyle): none is given without its network sandbox, with these files (none-network.ts). */
  noneFiles?: HostsStyle;
}

/** Which of these images the engine the current work is placed on has (undefined: an odd answer; each run asks for itself). */
export function imagesPresent(refs: readonly string[]): Promise<Set<string> | undefined> {
  return Engine.current().imagesPresent(refs);
}

/** Credentials for pulls, looked up once per registry in a process (a credential helper is a process). */
const pullAuth = new Map<string, Promise<string | undefined>>();

/** The X-Registry-Auth header the CLI would send: the credentials as JSON in padded base64url, when there are any. */
function registryAuthHeader(registry: string): Promise<string | undefined> {
  let auth = pullAuth.get(registry);
  if (!auth) {
    // A credential helper that failed: pulled without credentials, as docker pull does (the harness's own reads said why, if the registry refused them).
    auth = findCredentials(registry)
      .catch((err: unknown) => {
        if (err instanceof CredentialHelperError) return undefined;
        throw err;
      })
      .then((c) => {
        if (!c) return undefined;
        // A credential helper's identity token comes with the user name <token>, as the CLI sends it.
        const config =
          c.username === '<token>'
            ? { identitytoken: c.password, serveraddress: registry }
            : { username: c.username, password: c.password, serveraddress: registry };
        // base64url with its padding: the engine decodes it with Go's padded URL alphabet.
        return Buffer.from(JSON.stringify(config)).toString('base64').replaceAll('+', '-').replaceAll('/', '_');
      });
    // A lookup that failed (a helper that did not answer) is tried again by the next pull.
    auth.catch(() => pullAuth.delete(registry));
    pullAuth.set(registry, auth);
  }
  return auth;
}

/**
 * Pulls one platform of a pinned image into the engine (untimed by a run's timeout: a slow registry
 * is not a slow emulator). Recorded before the pull, so an interrupted pull is removed too; an
 * image the engine had already is kept at the end.
 */
export async function pullPinned(ctx: Session, image: string, platform: Platform, known?: { present: boolean }): Promise<void> {
  if (ctx.closing) throw new EnvironmentError('the session is being cleaned up: nothing more is started.');
  const present = known?.present ?? (await imagesPresent([image]))?.has(image) ?? false;
  ctx.trackImage(image, { present });
  const auth = await registryAuthHeader(parseImageRef(image).registry);
  const engine = Engine.current();
  // A registry's passing failure (a 5xx, a reset connection) is tried again; anything else fails the platform.
  await withRetry(() => engine.pullImage(image, { platform: formatPlatform(platform), ...(auth ? { auth } : {}) }), {
    attempts: 3,
    retryIf: isTransient,
  }).catch((err: Error) => {
    throw err instanceof EngineError
      ? new EngineError(`pulling ${image} for ${formatPlatform(platform)} failed: ${err.message}`, {
          ...(err.status !== undefined ? { status: err.status } : {}),
          transient: false,
        })
      : err;
  });
}

/** The name a local image's platform is loaded under: the session's own, one per platform (multiarch-harness-local/mah-1a2b3c4d:linux-arm-v7). */
export function loadedImageName(ctx: Session, platform: Platform): string {
  return `multiarch-harness-local/${ctx.id}:${platformSlug(platform).toLowerCase()}`;
}

export interface LoadPlatformInput {
  /** The name it is loaded under (loadedImageName). */
  name: string;
  platform: Platform;
  /** The archive to load (image-source's platformArchive), made once the name is recorded. */
  archive: () => Promise<Readable>;
  /** The image's ids on either store: its config's digest (classic), its manifest's (containerd). */
  ids: readonly string[];
}

/**
 * Loads one platform of a local image into the engine (`docker load`) under a name of the session.
 * Recorded before the load, so an interrupted load is removed too; removed at the end. The engine's
 * answer must name it ("Loaded image: NAME"); an engine that names it by its id alone ("Loaded image
 * ID: sha256:...", one of the image's ids) gets the name as a tag. Any failure, the engine's or the
 * archive's (a blob that did not match its digest), is one EngineError.
 */
export async function loadPlatform(ctx: Session, o: LoadPlatformInput): Promise<void> {
  if (ctx.closing) throw new EnvironmentError('the session is being cleaned up: nothing more is started.');
  ctx.trackImage(o.name);
  const engine = Engine.current();
  const what = `loading the image of ${formatPlatform(o.platform)} into the engine as ${o.name}`;
  let loaded: string[];
  try {
    loaded = await engine.loadImage(await o.archive());
  } catch (err) {
    // The engine's refusal, the archive's (a blob that did not match its digest), or scratch's (a full disk); anything else is a bug.
    if (!(err instanceof HarnessError) && (err as NodeJS.ErrnoException).code === undefined) throw err;
    throw new EngineError(`${what} failed: ${(err as Error).message}`, {
      ...(err instanceof EngineError && err.status !== undefined ? { status: err.status } : {}),
      transient: false,
    });
  }
  const name = familiarName(o.name);
  if (loaded.some((line) => line.startsWith('Loaded image: ') && familiarName(line.slice('Loaded image: '.length)) === name)) return;
  const id = loaded.map((line) => /^Loaded image ID: (\S+)$/.exec(line)?.[1]).find((x) => x !== undefined && o.ids.includes(x));
  if (id) {
    await engine.tagImage(id, o.name).catch((err: unknown) => {
      throw err instanceof EngineError
        ? new EngineError(`${what}: the engine named it ${id} alone, and did not tag it: ${err.message}`)
        : err;
    });
    return;
  }
  throw new EngineError(
    `${what}: the engine answered ${loaded.length ? `"${loaded.join('; ')}"` : 'nothing'}, which names neither that name nor the image's id.`,
  );
}

/** A name as the engine prints it: Docker Hub's docker.io/ and library/ left out. */
function familiarName(name: string): string {
  return name.replace(/^docker\.io\//, '').replace(/^library\//, '');
}

export async function runPinned(ctx: Session, image: string, platform: Platform, options: RunPinnedOptions): Promise<ContainerResult> {
  const engine = Engine.current();
  const name = `${ctx.id}-run-${platformSlug(platform)}-${Math.random().toString(36).slice(2, 7)}`;
  if (!options.prepared)
    await timed(ctx.phases, 'pull', () =>
      pullPinned(ctx, image, platform, options.present !== undefined ? { present: options.present } : undefined),
    );
  // A second opinion's program runs under the emulator given, but whatever it execs goes through the
  // kernel's handler again: both are watched (a shell that execs a hanging program left the first).
  const watched = [
    ...(options.emulator ? [{ handler: 'second-opinion', interpreter: options.emulator.path }] : []),
    ...(options.watch ? [options.watch] : []),
  ];
  // The container's id, known at creation: the watchdog looks only at its processes.
  let containerId: string | undefined;
  let hung: Hang | undefined;
  const watchdog = watched.length
    ? new HangWatchdog({
        interpreters: watched.map((w) => ({ handler: w.handler, path: w.interpreter })),
        idleMs: hangSeconds() * 1000,
        cgroup: () => (containerId ? new RegExp(containerId) : undefined),
        onHang: (h) => {
          hung = h;
          void engine.removeContainer(containerId ?? name);
        },
      })
    : undefined;
  watchdog?.start();
  if (ctx.closing) throw new EnvironmentError('the session is being cleaned up: nothing more is started.');
  const r = await timed(ctx.phases, 'run', () =>
    runOnNetwork(
      {
        name,
        platform: formatPlatform(platform),
        image,
        labels: ctx.labelRecord,
        timeoutMs: options.timeoutMs,
        ...(options.emulator
          ? { entrypoint: [EMULATOR_MOUNT], cmd: options.emulator.argv, binds: [`${options.emulator.path}:${EMULATOR_MOUNT}:ro`] }
          : options.command?.length
            ? { cmd: options.command }
            : {}),
        ...(options.network ? { network: options.network } : {}),
        onCreated: (id) => {
          containerId = id;
        },
        onOutput: () => watchdog?.activity(),
      },
      options.noneFiles,
      engine,
    ),
  ).finally(() => watchdog?.stop());
  return {
    exitCode: r.exitCode,
    stdout: r.stdout,
    stderr: r.stderr,
    durationMs: r.durationMs,
    timedOut: r.timedOut,
    ...(hung ? { hung } : {}),
  };
}

/**
 * A run on its network: none on an engine on this machine goes without the engine's sandbox, with
 * the engine's hosts and resolv.conf written for it (none-network.ts); an engine that refuses them
 * runs it again on plain none (it had not started: the refusal comes at its creation).
 */
async function runOnNetwork(spec: ContainerSpec, style: HostsStyle | undefined, engine: Engine): Promise<ContainerResult> {
  if (spec.network !== 'none' || !style || !engineTakesNetworkFiles()) return runContainer(spec, engine);
  let files: Awaited<ReturnType<typeof noneNetworkFiles>>;
  try {
    files = await noneNetworkFiles(spec.name, style);
  } catch {
    // This machine's temporary folder cannot take them (full, read-only): plain none, as on another engine.
    return runContainer(spec, engine);
  }
  try {
    const r = await runContainer({ ...spec, networkDisabled: true, mounts: files.mounts }, engine);
    // Refused at creation (the program never ran), for the files: the same run on plain none.
    if (r.refused !== undefined && refusedNetworkFiles(r.refused)) return await runContainer(spec, engine);
    return r;
  } finally {
    files.remove();
  }
}

/** What a container-structure-test file's containerRunOptions ask of each container. */
export interface TestContainerOptions {
  user?: string;
  privileged?: boolean;
  capAdd?: string[];
  /** host:container[:ro] bind mounts. */
  binds?: string[];
  /** NAME=value pairs (the env file's and the named host variables). */
  env: string[];
}

export interface TestCommandOptions {
  /** The whole command line; the image's ENTRYPOINT is cleared, as container-structure-test does. */
  argv: string[];
  /** NAME=value pairs. */
  env: string[];
  run: TestContainerOptions;
  timeoutMs: number;
  /** Keep the container's file system as this image (a setup command's result); removed with the session. */
  commitAs?: string;
}

/**
 * Runs a command in a container of an image already in the engine (pulled by pullPinned, or
 * committed by an earlier setup command). With `commitAs` the container is committed to that
 * reference and removed; the image is recorded before it exists and removed with the session.
 */
export async function runTestCommand(
  ctx: Session,
  image: string,
  platform: Platform,
  o: TestCommandOptions,
): Promise<ContainerResult & { committedPlatform?: string }> {
  if (ctx.closing) throw new EnvironmentError('the session is being cleaned up: nothing more is started.');
  const engine = Engine.current();
  const name = `${ctx.id}-cmd-${platformSlug(platform)}-${Math.random().toString(36).slice(2, 7)}`;
  const r = await runContainer(
    {
      name,
      platform: formatPlatform(platform),
      image,
      labels: ctx.labelRecord,
      entrypoint: [''],
      cmd: o.argv,
      // The file's variables first, the test's own last: a later NAME wins, as with docker run's --env-file and -e.
      env: [...o.run.env, ...o.env],
      ...(o.run.user ? { user: o.run.user } : {}),
      ...(o.run.privileged ? { privileged: true } : {}),
      ...(o.run.capAdd?.length ? { capAdd: o.run.capAdd } : {}),
      ...(o.run.binds?.length ? { binds: o.run.binds } : {}),
      autoRemove: !o.commitAs,
      timeoutMs: o.timeoutMs,
    },
    engine,
  );
  const result = { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, durationMs: r.durationMs, timedOut: r.timedOut };
  if (!o.commitAs) return result;
  try {
    // Refused, not started, or timed out: nothing to commit (the container is gone or goes now).
    if (r.refused !== undefined || r.notStarted || r.timedOut) return result;
    ctx.trackImage(o.commitAs);
    await engine.commitContainer(name, o.commitAs);
    // A commit keeps os and architecture but drops the variant (arm/v6 becomes arm): later runs of
    // the committed image must ask for the platform it records, or the engine looks for it in a registry.
    const recorded = await engine.inspectImage(o.commitAs);
    const committedPlatform = [recorded?.Os, recorded?.Architecture, recorded?.Variant].filter(Boolean).join('/');
    return { ...result, ...(committedPlatform ? { committedPlatform } : {}) };
  } finally {
    await engine.removeContainer(name);
  }
}
