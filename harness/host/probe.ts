/**
 * What the engine in front of us can do: its version and native platform, classic or containerd
 * image store, buildx, the binfmt handlers its kernel has registered, and how it really runs each
 * platform (observed by running a probe program per platform: host/observe.ts).
 */
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { readHandlers, type BinfmtHandler } from './binfmt.ts';
import { execCommand, EnvironmentError } from '../base/index.ts';
import { Engine, EngineError, currentDockerHost, imageStoreOf } from '../engine/index.ts';
import { versionOfFile } from './version-cache.ts';
import { normalizePlatform, parsePlatform, type Platform, type PlatformObservation } from '../platform/index.ts';
import { qemuVersionOf } from './emulators.ts';
import { handlerSetKey, observablePlatforms, observePlatforms } from './observe.ts';
import type { Session } from '../session/index.ts';

export interface HostProbe {
  engineVersion: string;
  apiVersion: string;
  /** The engine's own platform, e.g. linux/amd64. */
  native: Platform;
  kernel: string;
  imageStore: 'containerd' | 'classic';
  buildxVersion: string | undefined;
  /** True when the engine's kernel is this machine's kernel (handlers read from /proc). */
  engineIsLocal: boolean;
  /** Docker Engine itself (its /version lists the component Engine), not another engine that speaks its API (Podman). */
  dockerEngine?: boolean;
  handlers: BinfmtHandler[];
  /** QEMU version by interpreter path, when it could be asked (local engine only). */
  qemuVersions: Record<string, string>;
  /** How each platform ran when its probe program was run on this engine, by observationKey(). */
  observations: Record<string, PlatformObservation>;
  /** When they were observed (they are cached per engine, kernel and handler set). */
  observedAt?: string;
}

/**
 * Where the docker CLI looks for plugins on Linux, in its order (docker/cli's cli-plugins/manager
 * getPluginDirs): the config file's cliPluginsExtraDirs, then $DOCKER_CONFIG/cli-plugins, then the
 * system's folders.
 */
async function pluginDirs(): Promise<string[]> {
  const config = process.env.DOCKER_CONFIG ?? join(homedir(), '.docker');
  let extra: string[] = [];
  try {
    const file = JSON.parse(await readFile(join(config, 'config.json'), 'utf8')) as { cliPluginsExtraDirs?: unknown };
    if (Array.isArray(file.cliPluginsExtraDirs)) extra = file.cliPluginsExtraDirs.filter((d): d is string => typeof d === 'string');
  } catch {
    /* no config file, or one the CLI would refuse too: the folders below */
  }
  return [
    ...extra,
    join(config, 'cli-plugins'),
    '/usr/local/lib/docker/cli-plugins',
    '/usr/local/libexec/docker/cli-plugins',
    '/usr/lib/docker/cli-plugins',
    '/usr/libexec/docker/cli-plugins',
  ];
}

/** buildx's version ("0.13.1+ds1", what `docker buildx version` prints second), from the plugin the CLI would run; undefined when there is none. */
async function buildxPluginVersion(): Promise<string | undefined> {
  for (const dir of await pluginDirs()) {
    const file = join(dir, 'docker-buildx');
    if (
      !(await access(file, constants.X_OK).then(
        () => true,
        () => false,
      ))
    )
      continue;
    return versionOfFile(file, async (real) => {
      const r = await execCommand(real, ['version'], { check: false, timeoutMs: 20_000 });
      return r.exitCode === 0 ? r.stdout.trim().split(/\s+/)[1] : undefined;
    });
  }
  return undefined;
}

export async function probeHost(options: { session?: Session; freshObservations?: boolean } = {}): Promise<HostProbe> {
  // Both questions at once, asked of the engine's API (engine/client.ts), and buildx's version from its file.
  const engine = Engine.current();
  const [data, ver, buildxVersion] = await Promise.all([
    engine.info({ timeoutMs: 20_000 }),
    engine.version({ timeoutMs: 20_000 }),
    buildxPluginVersion(),
  ]).catch((err: Error) => {
    // No engine at all is the client's sentence ("No Docker engine answers ..."); an engine that answers badly is this one.
    throw err instanceof EngineError && err.status !== undefined
      ? new EnvironmentError(`The Docker engine cannot be used: it answered ${err.status} (${err.message}).`)
      : err;
  });
  if (data.ServerErrors?.length) throw new EnvironmentError(`The Docker engine cannot be used: ${data.ServerErrors[0]}`);
  const native = normalizePlatform(parsePlatform(`${ver.Os ?? 'linux'}/${ver.Arch ?? 'unknown'}`));
  const apiVersion = ver.ApiVersion;
  const imageStore = imageStoreOf(data.DriverStatus);
  const host = currentDockerHost();
  const engineIsLocal = !host?.startsWith('tcp://') && !host?.startsWith('ssh://') && data.Name === hostname();
  const handlers = await readHandlers({ engineIsLocal, ...(options.session ? { session: options.session } : {}) });
  const qemuVersions: Record<string, string> = {};
  if (engineIsLocal) {
    const qemus = handlers.filter((x) => x.enabled && /qemu/.test(x.interpreter + x.name));
    const found = await Promise.all(qemus.map((h) => qemuVersionOf(h.interpreter)));
    qemus.forEach((h, i) => {
      if (found[i]) qemuVersions[h.interpreter] = found[i];
    });
  }
  const kernel = data.KernelVersion ?? 'unknown';
  const key = await handlerSetKey(`${data.ID ?? data.Name}@${data.ServerVersion}`, kernel, handlers, engineIsLocal);
  const seen = await observePlatforms({
    key,
    handlers,
    platforms: observablePlatforms(native.os),
    ...(options.session ? { labels: options.session.labelRecord } : {}),
    ...(options.freshObservations ? { fresh: true } : {}),
  });
  return {
    engineVersion: data.ServerVersion ?? 'unknown',
    apiVersion: apiVersion ?? 'unknown',
    native,
    kernel,
    imageStore,
    buildxVersion,
    engineIsLocal,
    dockerEngine: (ver.Components ?? []).some((c) => c.Name === 'Engine'),
    handlers,
    qemuVersions,
    observations: seen.platforms,
    observedAt: seen.observedAt,
  };
}
