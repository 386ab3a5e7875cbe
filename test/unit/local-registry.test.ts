/**
 * The run's registry (session/local-registry.ts) leaves the user's process as it found it: no
 * `TESTCONTAINERS_*` variable is set, changed or removed, before, while testcontainers starts the
 * container (when it reads them) or after. What testcontainers needs is said per container: no reaper
 * for this one, its port on 127.0.0.1. testcontainers' real builder is used; only `start()` is
 * replaced, so nothing reaches an engine.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { Session } from '../../harness/session/index.ts';

interface Started {
  env: Record<string, string | undefined>;
  image: string;
  autoCleanup: boolean;
  portBindings: unknown;
  labels: Record<string, string> | undefined;
}
const started: Started[] = [];

/** Every TESTCONTAINERS_* variable, set or not: an unset one is a key with no value. */
const NAMES = ['TESTCONTAINERS_HOST_OVERRIDE', 'TESTCONTAINERS_RYUK_DISABLED', 'TESTCONTAINERS_REUSE_ENABLE'];
function testcontainersEnv(): Record<string, string | undefined> {
  const names = new Set([...NAMES, ...Object.keys(process.env).filter((k) => k.startsWith('TESTCONTAINERS_'))]);
  return Object.fromEntries([...names].sort().map((k) => [k, process.env[k]]));
}

vi.mock('testcontainers', async (importOriginal) => {
  const real = await importOriginal<typeof import('testcontainers')>();
  class GenericContainer extends real.GenericContainer {
    override async start(): Promise<never> {
      started.push({
        env: testcontainersEnv(),
        image: this.imageName.string,
        autoCleanup: this.autoCleanup,
        portBindings: this.hostConfig.PortBindings,
        labels: this.createOpts.Labels,
      });
      // testcontainers' own host (here a bridge gateway it guessed) is not the registry's address.
      const fake = { getHost: () => '172.17.0.1', getMappedPort: (port: number) => (port === 5000 ? 49153 : -1), stop: async () => fake };
      return fake as never;
    }
  }
  return { ...real, GenericContainer };
});

const { startRegistry } = await import('../../harness/session/index.ts');

const session = () => {
  const deferred: string[] = [];
  const ctx = { labelRecord: { 'io.multiarch-harness.run': 'test' }, defer: (what: string) => deferred.push(what) };
  return { ctx: ctx as unknown as Session, deferred };
};

let saved: Record<string, string | undefined>;
beforeEach(() => {
  saved = testcontainersEnv();
  started.length = 0;
});
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe("the run's registry", () => {
  test('sets no TESTCONTAINERS_* variable: unset ones stay unset, before, during the start and after', async () => {
    for (const k of NAMES) delete process.env[k];
    const before = testcontainersEnv();
    const { ctx, deferred } = session();
    const registry = await startRegistry(ctx, 'registry:2');
    expect(started).toHaveLength(1);
    expect(started[0]!.env).toEqual(before);
    expect(testcontainersEnv()).toEqual(before);
    expect(Object.values(testcontainersEnv()).every((v) => v === undefined)).toBe(true);
    expect(registry.address).toBe('127.0.0.1:49153');
    expect(deferred).toEqual(['stopping the registry 127.0.0.1:49153']);
  });

  test("keeps the user's own values as they are", async () => {
    process.env.TESTCONTAINERS_HOST_OVERRIDE = 'docker.example';
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'false';
    const before = testcontainersEnv();
    await startRegistry(session().ctx, 'registry:2');
    expect(started[0]!.env).toEqual(before);
    expect(testcontainersEnv()).toEqual(before);
    expect(process.env.TESTCONTAINERS_HOST_OVERRIDE).toBe('docker.example');
    expect(process.env.TESTCONTAINERS_RYUK_DISABLED).toBe('false');
  });

  test('asks testcontainers per container: no reaper, the port on 127.0.0.1 only, the session label', async () => {
    await startRegistry(session().ctx, 'registry:2');
    expect(started[0]).toMatchObject({
      image: 'registry:2',
      autoCleanup: false,
      portBindings: { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '0' }] },
      labels: expect.objectContaining({ 'io.multiarch-harness.run': 'test' }) as unknown,
    });
  });

  test('its image: the one asked for (--registry-image), else MULTIARCH_REGISTRY_IMAGE, else registry:2; the registry says which', async () => {
    const saved = process.env.MULTIARCH_REGISTRY_IMAGE;
    try {
      delete process.env.MULTIARCH_REGISTRY_IMAGE;
      expect((await startRegistry(session().ctx)).image).toBe('registry:2');
      process.env.MULTIARCH_REGISTRY_IMAGE = 'mirror.test/registry:2.8';
      expect((await startRegistry(session().ctx)).image).toBe('mirror.test/registry:2.8');
      expect((await startRegistry(session().ctx, 'registry:3')).image).toBe('registry:3');
      expect(started.map((s) => s.image)).toEqual(['registry:2', 'mirror.test/registry:2.8', 'registry:3']);
    } finally {
      if (saved === undefined) delete process.env.MULTIARCH_REGISTRY_IMAGE;
      else process.env.MULTIARCH_REGISTRY_IMAGE = saved;
    }
  });
});
