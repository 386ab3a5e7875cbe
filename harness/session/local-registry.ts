/**
 * The session's own registry: a `registry:2` container started with testcontainers, published on
 * loopback, stopped at the end of the run.
 */
import { boundMs, EnvironmentError } from '../base/index.ts';
import { RegistryReady, registryAnswers } from './registry-ready.ts';
import type { Session } from './session.ts';

export interface LocalRegistry {
  /** host:port, as image references use it: 127.0.0.1:49153 */
  address: string;
  /** Whether it still answers GET /v2/ (a run asks after a failure, to tell the registry's fault from the image's). */
  answers(): Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * testcontainers must talk to the engine on loopback (these machines have /.dockerenv, which
 * makes it guess a bridge gateway), and its Ryuk reaper image cannot be pulled offline: the
 * harness removes what it creates itself. Users may override both.
 */
function configureTestcontainers(): void {
  process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
}

export async function startRegistry(ctx: Session, image = process.env.MULTIARCH_REGISTRY_IMAGE ?? 'registry:2'): Promise<LocalRegistry> {
  configureTestcontainers();
  // Imported here, when a run needs its registry: nothing else loads testcontainers (about 0.25 s of CPU).
  const { GenericContainer } = await import('testcontainers');
  let container;
  try {
    container = await new GenericContainer(image)
      .withExposedPorts(5000)
      .withLabels(ctx.labelRecord)
      .withEnvironment({ REGISTRY_STORAGE_DELETE_ENABLED: 'true' })
      // GET /v2/ answers 200, asked every 200 ms (testcontainers' HTTP wait asks once a second by default,
      // which cost up to a second per run, and loads its undici: registry-ready.ts).
      .withWaitStrategy(new RegistryReady(5000))
      // 60 s, or MULTIARCH_HARNESS_REGISTRY_READY_TIMEOUT_MS (bounds.ts); testcontainers gives it to the wait strategy.
      .withStartupTimeout(boundMs('registryReady'))
      .start();
  } catch (err) {
    // testcontainers removes a container that did not become ready; the session's label sweeps anything else.
    const why = (err instanceof Error ? err.message.split('\n')[0]! : String(err)).trim().replace(/[.\s]+$/, '');
    throw new EnvironmentError(`The local registry (${image}) did not start: ${why}.`);
  }
  const address = `${container.getHost()}:${container.getMappedPort(5000)}`;
  const stop = async () => {
    await container.stop({ remove: true, removeVolumes: true });
  };
  ctx.defer(`stopping the registry ${address}`, stop);
  return { address, answers: () => registryAnswers(container.getHost(), container.getMappedPort(5000)), stop };
}
