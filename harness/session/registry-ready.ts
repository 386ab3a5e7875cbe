/**
 * When the run's registry is ready, for testcontainers: `GET /v2/` answers 200 (the distribution
 * API's version check), asked every 200 ms through node:http until the start-up timeout.
 * testcontainers' own HTTP wait does the same through its bundled undici, whose loading alone cost
 * some 20 ms of CPU and as much again in garbage collection per build scenario.
 */
import { request } from 'node:http';
import { BOUNDS, boundMs, formatBound } from '../base/index.ts';

/** The global timer, not node:timers/promises': a test's fake clock drives it. */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether http://host:port/v2/ answers 200 now (no answer within a second is a no). */
export function registryAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/v2/', method: 'GET', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * testcontainers' WaitStrategy, structurally: its abstract class is not exported. Its start-up
 * timeout is 60 s, or MULTIARCH_HARNESS_REGISTRY_READY_TIMEOUT_MS (bounds.ts), unless set.
 */
export class RegistryReady {
  private startupTimeoutMs = boundMs('registryReady');
  private startupTimeoutSet = false;

  constructor(
    private readonly containerPort: number,
    private readonly host = '127.0.0.1',
  ) {}

  withStartupTimeout(ms: number): this {
    this.startupTimeoutMs = ms;
    this.startupTimeoutSet = true;
    return this;
  }

  isStartupTimeoutSet(): boolean {
    return this.startupTimeoutSet;
  }

  getStartupTimeout(): number {
    return this.startupTimeoutMs;
  }

  async waitUntilReady(_container: unknown, boundPorts: { getBinding(port: number): number }): Promise<void> {
    const port = boundPorts.getBinding(this.containerPort);
    const deadline = Date.now() + this.startupTimeoutMs;
    while (!(await registryAnswers(this.host, port))) {
      if (Date.now() >= deadline) {
        // The end of a sentence: local-registry.ts begins it.
        throw new Error(
          `the registry did not answer GET /v2/ with 200 on ${this.host}:${port} within ${formatBound(this.startupTimeoutMs)} (${BOUNDS.registryReady.variable} sets that bound)`,
        );
      }
      await sleep(200);
    }
  }
}
