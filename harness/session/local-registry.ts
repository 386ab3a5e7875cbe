/**
 * The session's own registry: a `registry:2` container (or the image `--registry-image` names, else
 * MULTIARCH_REGISTRY_IMAGE) started with testcontainers, published on loopback, stopped at the end
 * of the run. Its configuration is given as REGISTRY_* variables, which distribution 2 and 3 both
 * read, so no configuration file is copied in (registry:2 reads /etc/docker/registry/config.yml,
 * registry:3 /etc/distribution/config.yml: the image's own file applies in either).
 *
 * Everything testcontainers is told is told per container, through its public API. Nothing is set
 * in `process.env`: the library runs in a user's process, where the user's own testcontainers tests
 * read `TESTCONTAINERS_*` after it.
 * - No Ryuk: `withAutoCleanup(false)` starts no reaper for this container (the reaper's image cannot
 *   be pulled offline, and the session removes what it creates itself: its label, its deferred stop).
 *   The user's own containers still get Ryuk, or not, as their environment says.
 * - Loopback: the port is published on 127.0.0.1 only, and the harness names that address itself
 *   (`address`, the readiness wait, `answers()`), never testcontainers' `getHost()`. Its host is
 *   whatever testcontainers works out for everyone in the process (`TESTCONTAINERS_HOST_OVERRIDE`,
 *   the engine's URL, or, in a container, the bridge gateway), and the registry does not depend on it.
 *
 * What stays shared: testcontainers keeps one engine client per process (`getContainerRuntimeClient`),
 * made from the environment as it is at the first start. If the registry is the process's first
 * testcontainers container, that client is made here, from the user's environment unchanged, as the
 * user's own first container would make it.
 */
import { boundMs, EnvironmentError } from '../base/index.ts';
import { RegistryReady, registryAnswers } from './registry-ready.ts';
import type { Session } from './session.ts';

/** The only address the registry is published on, and the one every image reference names. */
const REGISTRY_HOST = '127.0.0.1';
const REGISTRY_PORT = 5000;

/** The registry image a run starts when it is not told another: `registry:2`, as before issue 27. */
const DEFAULT_REGISTRY_IMAGE = 'registry:2';

/** The image a run's registry is: the one asked for, else MULTIARCH_REGISTRY_IMAGE, else registry:2. */
function registryImage(asked?: string): string {
  return asked ?? process.env.MULTIARCH_REGISTRY_IMAGE ?? DEFAULT_REGISTRY_IMAGE;
}

export interface LocalRegistry {
  /** host:port, as image references use it: 127.0.0.1:49153 */
  address: string;
  /** The image it runs (registry:2 unless told): the report names it. */
  image: string;
  /** Whether it still answers GET /v2/ (a run asks after a failure, to tell the registry's fault from the image's). */
  answers(): Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * The progress line a run prints once its registry answers: "registry 127.0.0.1:49153 (registry:2) is up".
 * The soak (bench/soak.ts) waits for it to find the registry it may kill; its test reads it from here.
 */
export function registryUpLine(registry: Pick<LocalRegistry, 'address' | 'image'>): string {
  return `registry ${registry.address} (${registry.image}) is up`;
}

export async function startRegistry(ctx: Session, asked?: string): Promise<LocalRegistry> {
  const image = registryImage(asked);
  // Imported here, when a run needs its registry: nothing else loads testcontainers (about 0.25 s of CPU).
  const { GenericContainer } = await import('testcontainers');

  /**
   * `withExposedPorts` publishes on the engine's default address (0.0.0.0 unless daemon.json's "ip"
   * says otherwise) and takes no host address; the binding it made gets 127.0.0.1 here. `hostConfig`
   * is protected: the API testcontainers gives its subclasses.
   */
  class LoopbackContainer extends GenericContainer {
    withLoopbackPort(port: number): this {
      this.withExposedPorts(port);
      this.hostConfig.PortBindings = { ...this.hostConfig.PortBindings, [`${port}/tcp`]: [{ HostIp: REGISTRY_HOST, HostPort: '0' }] };
      return this;
    }
  }

  let container;
  try {
    container = await new LoopbackContainer(image)
      .withLoopbackPort(REGISTRY_PORT)
      .withAutoCleanup(false)
      .withLabels(ctx.labelRecord)
      .withEnvironment({ REGISTRY_STORAGE_DELETE_ENABLED: 'true' })
      // GET /v2/ answers 200, asked every 200 ms (testcontainers' HTTP wait asks once a second by default,
      // which cost up to a second per run, and loads its undici: registry-ready.ts).
      .withWaitStrategy(new RegistryReady(REGISTRY_PORT, REGISTRY_HOST))
      // 60 s, or MULTIARCH_HARNESS_REGISTRY_READY_TIMEOUT_MS (bounds.ts); testcontainers gives it to the wait strategy.
      .withStartupTimeout(boundMs('registryReady'))
      .start();
  } catch (err) {
    // testcontainers removes a container that did not become ready; the session's label sweeps anything else.
    const why = (err instanceof Error ? err.message.split('\n')[0]! : String(err)).trim().replace(/[.\s]+$/, '');
    throw new EnvironmentError(`The local registry (${image}) did not start: ${why}.`);
  }
  const port = container.getMappedPort(REGISTRY_PORT);
  const address = `${REGISTRY_HOST}:${port}`;
  const stop = async () => {
    await container.stop({ remove: true, removeVolumes: true });
  };
  ctx.defer(`stopping the registry ${address}`, stop);
  return { address, image, answers: () => registryAnswers(REGISTRY_HOST, port), stop };
}
