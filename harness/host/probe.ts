/**
 * What the engine in front of us can do: its version and native platform, classic or containerd
 * image store, buildx, the binfmt handlers its kernel has registered, and how it really runs each
 * platform (observed by running a probe program per platform: host/observe.ts).
 */
import { hostname } from 'node:os';
import { readHandlers, type BinfmtHandler } from './binfmt.ts';
import { docker } from '../engine/docker.ts';
import { currentDockerHost } from '../engine/engine-scope.ts';
import { EnvironmentError } from '../errors.ts';
import { normalizePlatform, parsePlatform, type Platform } from '../platform/platform.ts';
import { qemuVersionOf } from './emulators.ts';
import type { PlatformObservation } from '../platform/observation.ts';
import { handlerSetKey, observablePlatforms, observePlatforms } from './observe.ts';

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
  handlers: BinfmtHandler[];
  /** QEMU version by interpreter path, when it could be asked (local engine only). */
  qemuVersions: Record<string, string>;
  /** How each platform ran when its probe program was run on this engine, by observationKey(). */
  observations: Record<string, PlatformObservation>;
  /** When they were observed (they are cached per engine, kernel and handler set). */
  observedAt?: string;
}

/** Which image store `docker info`'s DriverStatus describes: the containerd store names its snapshotter. */
export function imageStoreOf(driverStatus: ReadonlyArray<[string, string]> | undefined): HostProbe['imageStore'] {
  return (driverStatus ?? []).some(([k, v]) => k === 'driver-type' && v.includes('snapshotter')) ? 'containerd' : 'classic';
}

export async function probeHost(options: { probeImage?: string; labels?: readonly string[]; freshObservations?: boolean } = {}): Promise<HostProbe> {
  const info = await docker(['info', '--format', '{{json .}}'], { check: false, timeoutMs: 20_000 });
  if (info.exitCode !== 0 || !info.stdout.startsWith('{')) {
    throw new EnvironmentError(
      'No Docker engine answers (docker info failed): start one, or run `bash setup/prepare-host.sh` as root on Debian/Ubuntu.',
    );
  }
  const data = JSON.parse(info.stdout) as {
    ID?: string; Name?: string; KernelVersion?: string; ServerVersion?: string; OSType?: string; Architecture?: string;
    DriverStatus?: Array<[string, string]>; ServerErrors?: string[];
  };
  if (data.ServerErrors?.length) throw new EnvironmentError(`The Docker engine cannot be used: ${data.ServerErrors[0]}`);
  const ver = await docker(['version', '--format', '{{.Server.Os}}/{{.Server.Arch}} {{.Server.APIVersion}}']);
  const [platformText, apiVersion] = ver.stdout.trim().split(' ');
  const native = normalizePlatform(parsePlatform(platformText!));
  const imageStore = imageStoreOf(data.DriverStatus);
  const bx = await docker(['buildx', 'version'], { check: false });
  const buildxVersion = bx.exitCode === 0 ? bx.stdout.trim().split(/\s+/)[1] : undefined;
  const host = currentDockerHost();
  const engineIsLocal = !host?.startsWith('tcp://') && !host?.startsWith('ssh://') && data.Name === hostname();
  const handlers = await readHandlers({ engineIsLocal, ...options });
  const qemuVersions: Record<string, string> = {};
  if (engineIsLocal) {
    for (const h of handlers.filter((x) => x.enabled && /qemu/.test(x.interpreter + x.name))) {
      const version = await qemuVersionOf(h.interpreter);
      if (version) qemuVersions[h.interpreter] = version;
    }
  }
  const kernel = data.KernelVersion ?? 'unknown';
  const key = await handlerSetKey(`${data.ID ?? data.Name}@${data.ServerVersion}`, kernel, handlers, engineIsLocal);
  const seen = await observePlatforms({
    key, handlers, platforms: observablePlatforms(native.os), ...(options.labels ? { labels: options.labels } : {}),
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
    handlers,
    qemuVersions,
    observations: seen.platforms,
    observedAt: seen.observedAt,
  };
}
