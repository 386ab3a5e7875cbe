/**
 * `docker run --rm` through the engine's API, as the docker CLI does it (cli/command/container/run.go):
 * create the container (with AutoRemove), attach to its output, wait for it to be removed, start it,
 * and read the exit status. No CLI process per run (engine-api.ts says why that matters).
 *
 * What differs from the CLI is only what it prints: a container that cannot start (its program is
 * missing, or is not executable here) gets the CLI's exit code for that (127, 126, else 125) and the
 * engine's own sentence as its last line of stderr, instead of the CLI's "Run 'docker run --help'".
 */
import type { Duplex } from 'node:stream';
import { EngineApiError, engineJson, engineStatus, engineUpgrade } from './engine-api.ts';

export interface ContainerSpec {
  name: string;
  platform: string;
  image: string;
  /** Replaces the image's ENTRYPOINT when given. */
  entrypoint?: string[];
  /** Replaces the image's CMD when given (and not empty). */
  cmd?: string[];
  labels: Record<string, string>;
  /** docker run --network; the engine's default when not given. */
  network?: string;
  /** host:container[:ro] bind mounts. */
  binds?: string[];
  timeoutMs: number;
  /** Called whenever the container writes anything (a hang watchdog's sign of life). */
  onOutput?: () => void;
  /** Called with the container's id once it exists (a hang watchdog looks at its processes only). */
  onCreated?: (id: string) => void;
}

export interface ContainerRun {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
}

/** The exit code `docker run` gives a container that could not start, from the engine's message (run.go, runStartContainerErr). */
export function startFailureExitCode(message: string): number {
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(message)) return 127;
  if (/permission denied|is a directory/.test(message)) return 126;
  return 125;
}

/** The engine's multiplexed output: 8-byte frame headers (stream 1 stdout, 2 stderr; big-endian length) and their payloads. */
export class OutputDemuxer {
  private pending: Buffer = Buffer.alloc(0);
  readonly stdout: Buffer[] = [];
  readonly stderr: Buffer[] = [];

  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const payload = this.pending.subarray(8, 8 + size);
      (this.pending[0] === 2 ? this.stderr : this.stdout).push(Buffer.from(payload));
      this.pending = this.pending.subarray(8 + size);
    }
  }

  text(stream: 'stdout' | 'stderr'): string {
    return Buffer.concat(this[stream]).toString('utf8');
  }
}

/** Attaches to a created container's output: the raw stream, once the engine switched protocols. */
function attach(id: string): Promise<Duplex> {
  return engineUpgrade('POST', `/containers/${id}/attach`, { query: { stream: 1, stdout: 1, stderr: 1 } });
}

export async function runContainer(spec: ContainerSpec): Promise<ContainerRun> {
  const started = performance.now();
  const { Id: id } = await engineJson<{ Id: string }>('POST', '/containers/create', {
    query: { name: spec.name, platform: spec.platform },
    body: {
      Image: spec.image, Labels: spec.labels, AttachStdout: true, AttachStderr: true, Tty: false, OpenStdin: false,
      ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}), ...(spec.cmd?.length ? { Cmd: spec.cmd } : {}),
      HostConfig: { AutoRemove: true, ...(spec.network ? { NetworkMode: spec.network } : {}), ...(spec.binds?.length ? { Binds: spec.binds } : {}) },
    },
  });
  spec.onCreated?.(id);
  const out = new OutputDemuxer();
  const socket = await attach(id);
  const streamEnded = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => { out.push(chunk); spec.onOutput?.(); });
    socket.on('end', resolve);
    socket.on('close', resolve);
    socket.on('error', () => resolve());
  });
  // Asked before the start, as the CLI does: a container that ends at once is not missed.
  const waited = engineJson<{ StatusCode: number; Error?: { Message?: string } | null }>('POST', `/containers/${id}/wait`, {
    query: { condition: 'removed' }, timeoutMs: spec.timeoutMs + 60_000,
  });
  waited.catch(() => undefined);
  const start = await engineStatus('POST', `/containers/${id}/start`);
  if (start.status >= 400) {
    socket.destroy();
    // AutoRemove removes a container that never started too; this makes sure.
    await engineStatus('DELETE', `/containers/${id}`, { query: { force: 'true' } }).catch(() => undefined);
    return { exitCode: startFailureExitCode(start.message), stdout: '', stderr: start.message, durationMs: Math.round(performance.now() - started), timedOut: false };
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), spec.timeoutMs); });
  const first = await Promise.race([waited.then(() => 'done' as const, () => 'done' as const), timedOut]);
  clearTimeout(timer);
  if (first === 'timeout') {
    // Killing the container ends it (and AutoRemove removes it); the force removal is for an engine that did not.
    await engineStatus('DELETE', `/containers/${id}`, { query: { force: 'true' } }).catch(() => undefined);
    socket.destroy();
    return { exitCode: undefined, stdout: out.text('stdout'), stderr: out.text('stderr'), durationMs: Math.round(performance.now() - started), timedOut: true };
  }
  await streamEnded;
  const status = await waited.catch((err: Error) => err);
  if (status instanceof Error) throw status instanceof EngineApiError ? status : new EngineApiError(500, status.message);
  return {
    exitCode: status.StatusCode, stdout: out.text('stdout'), stderr: [out.text('stderr'), status.Error?.Message].filter(Boolean).join('\n'),
    durationMs: Math.round(performance.now() - started), timedOut: false,
  };
}
