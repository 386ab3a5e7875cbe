/**
 * Runs a pinned image as one platform: `docker run --rm --platform P ref@digest`, with a timeout
 * scaled for emulation, through the engine's API (api-run.ts; pulls too, engine-api.ts). A run that
 * times out has its container removed. Under QEMU a run that uses no CPU and prints nothing for
 * MULTIARCH_HANG_SECONDS is a hang: its container is removed and the run says so.
 * A run can also be given another emulator explicitly (a second opinion): the emulator binary is
 * mounted into the container and started as its entrypoint with the program's command line.
 * Commands of container-structure-test files (runTestCommand) keep the docker CLI: they commit containers.
 */
import { CredentialHelperError, findCredentials } from '../registry/credentials.ts';
import { EngineApiError, engineJsonLines, engineStatus } from './engine-api.ts';
import { forceRemove, runContainer, type ContainerResult, type ContainerSpec } from './api-run.ts';
import { engineTakesNetworkFiles, noneNetworkFiles, refusedNetworkFiles } from './none-network.ts';
import { parseImageRef } from '../registry/image-ref.ts';
import { EnvironmentError } from '../errors.ts';
import { timed } from '../result/phases.ts';
import { isTransient, withRetry } from '../retry.ts';
import { docker } from './docker.ts';
import { HangWatchdog, hangSeconds, type Hang } from './hang-watchdog.ts';
import type { Session } from './session.ts';
import { formatPlatform, platformSlug, type Platform } from '../platform/platform.ts';

/** A container's result (api-run.ts): the run check's and the structure tests' too. */
export type { ContainerResult } from './api-run.ts';

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
  /** docker run --network (the engine's default, bridge, when not given). */
  network?: string;
  /** Docker Engine on this machine (probe.engineIsLocal and dockerEngine): none is given without its network sandbox (none-network.ts). */
  localEngine?: boolean;
}

/** Which of these images the engine has: one API request each, all at once (404: it has not). */
export async function imagesPresent(refs: readonly string[]): Promise<Set<string> | undefined> {
  const answers = await Promise.all(
    refs.map((ref) =>
      engineStatus('GET', `/images/${ref}/json`).then(
        (a) => a.status,
        () => 0,
      ),
    ),
  );
  // An engine that gave no answer (or an odd one) for one of them: each run asks for itself.
  if (answers.some((s) => s !== 200 && s !== 404)) return undefined;
  return new Set(refs.filter((_, i) => answers[i] === 200));
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
  if (ctx.closing) throw new EnvironmentError('the run is being cleaned up: nothing more is started.');
  const present = known?.present ?? (await imagesPresent([image]))?.has(image) ?? false;
  ctx.trackImage(image, { present });
  // As `docker pull --platform P repo@sha256:...` asks it: the repository, the digest as its "tag".
  const at = image.lastIndexOf('@');
  const auth = await registryAuthHeader(parseImageRef(image).registry);
  // A registry's passing failure (a 5xx, a reset connection) is tried again; anything else fails the platform.
  await withRetry(
    () =>
      engineJsonLines('POST', '/images/create', {
        query: { fromImage: image.slice(0, at), tag: image.slice(at + 1), platform: formatPlatform(platform) },
        ...(auth ? { headers: { 'X-Registry-Auth': auth } } : {}),
        timeoutMs: 300_000,
      }),
    { attempts: 3, retryIf: isTransient },
  ).catch((err: Error) => {
    throw err instanceof EngineApiError
      ? new EngineApiError(err.status, `pulling ${image} for ${formatPlatform(platform)} failed: ${err.message}`, false)
      : err;
  });
}

export async function runPinned(ctx: Session, image: string, platform: Platform, options: RunPinnedOptions): Promise<ContainerResult> {
  const name = `${ctx.id}-run-${platformSlug(platform)}-${Math.random().toString(36).slice(2, 7)}`;
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
          void forceRemove(containerId ?? name);
        },
      })
    : undefined;
  watchdog?.start();
  if (ctx.closing) throw new EnvironmentError('the run is being cleaned up: nothing more is started.');
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
      Boolean(options.localEngine),
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
async function runOnNetwork(spec: ContainerSpec, localEngine: boolean): Promise<ContainerResult> {
  if (spec.network !== 'none' || !localEngine || !engineTakesNetworkFiles()) return runContainer(spec);
  let files: Awaited<ReturnType<typeof noneNetworkFiles>>;
  try {
    files = await noneNetworkFiles(spec.name);
  } catch {
    // This machine's temporary folder cannot take them (full, read-only): plain none, as on another engine.
    return runContainer(spec);
  }
  try {
    const r = await runContainer({ ...spec, networkDisabled: true, mounts: files.mounts });
    // Refused at creation (the program never ran), for the files: the same run on plain none.
    if (r.refused !== undefined && refusedNetworkFiles(r.refused)) return await runContainer(spec);
    return r;
  } finally {
    files.remove();
  }
}

export interface TestCommandOptions {
  /** The whole command line; the image's ENTRYPOINT is cleared, as container-structure-test does. */
  argv: string[];
  /** NAME=value pairs. */
  env: string[];
  /** docker run flags built from structured options (user, capabilities, mounts), never from a shell string. */
  runFlags: string[];
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
  if (ctx.closing) throw new EnvironmentError('the run is being cleaned up: nothing more is started.');
  const name = `${ctx.id}-cmd-${platformSlug(platform)}-${Math.random().toString(36).slice(2, 7)}`;
  const args = [
    'run',
    ...(o.commitAs ? [] : ['--rm']),
    '--name',
    name,
    ...ctx.labelArgs(),
    '--platform',
    formatPlatform(platform),
    '--entrypoint',
    '',
    ...o.env.flatMap((e) => ['-e', e]),
    ...o.runFlags,
    image,
    ...o.argv,
  ];
  const r = await docker(args, { check: false, timeoutMs: o.timeoutMs });
  try {
    if (o.commitAs && !r.timedOut) {
      ctx.trackImage(o.commitAs);
      await docker(['commit', name, o.commitAs], { timeoutMs: 120_000 });
      // `docker commit` keeps os and architecture but drops the variant (arm/v6 becomes arm): later
      // runs of the committed image must ask for the platform it records, or the engine looks for it in a registry.
      const recorded = await docker(
        ['image', 'inspect', '--format', '{{.Os}}/{{.Architecture}}{{if .Variant}}/{{.Variant}}{{end}}', o.commitAs],
        { timeoutMs: 60_000 },
      );
      return {
        exitCode: r.exitCode,
        stdout: r.stdout,
        stderr: r.stderr,
        durationMs: r.durationMs,
        timedOut: r.timedOut,
        committedPlatform: recorded.stdout.trim(),
      };
    }
  } finally {
    if (o.commitAs || r.timedOut) await docker(['rm', '-f', name], { check: false });
  }
  return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, durationMs: r.durationMs, timedOut: r.timedOut };
}
