/**
 * `docker run --rm` through the engine's API, as the docker CLI does it (cli/command/container/run.go):
 * create the container (with AutoRemove), attach to its output, wait for it to be removed, start it,
 * and read the exit status. No CLI process per run (client.ts says why that matters).
 *
 * What differs from the CLI is only what it prints: a container the engine refuses (exit 125) or that
 * cannot start (its program is missing, or not executable here: 127, 126, else 125) gets the CLI's
 * exit code and the engine's own sentence as its last line of stderr, instead of the CLI's "Run
 * 'docker run --help'". Whatever happens after the container exists, it is removed before this returns.
 */
import type { Duplex } from 'node:stream';
import type { BindMount } from './none-network.ts';
import type { Hang } from './hang-watchdog.ts';
import { Engine, responseJson } from './client.ts';
import { EngineError } from './engine-error.ts';

export interface ContainerSpec {
  name: string;
  platform: string;
  image: string;
  /** Replaces the image's ENTRYPOINT when given. */
  entrypoint?: string[];
  /** Replaces the image's CMD when given (and not empty). */
  cmd?: string[];
  /** NAME=value pairs. */
  env?: string[];
  user?: string;
  privileged?: boolean;
  capAdd?: string[];
  /** Removed once it has ended (docker run --rm); default true. A container kept is the caller's to commit and remove. */
  autoRemove?: boolean;
  labels: Record<string, string>;
  /** docker run --network; the engine's default when not given. */
  network?: string;
  /** host:container[:ro] bind mounts. */
  binds?: string[];
  /** Bind mounts whose source must exist (the engine refuses the container otherwise). */
  mounts?: BindMount[];
  /** No network sandbox at all: the runtime makes the namespace (none-network.ts). */
  networkDisabled?: boolean;
  timeoutMs: number;
  /** Called whenever the container writes anything (a hang watchdog's sign of life). */
  onOutput?: () => void;
  /** Called with the container's id once it exists (a hang watchdog looks at its processes only). */
  onCreated?: (id: string) => void;
}

/** What a container did: the run check's, a second opinion's, a structure test command's. */
export interface ContainerResult {
  /** The engine refused to create the container (a 4xx answer): its words. The program did not run. */
  refused?: string;
  /** The container was made but could not start (its program is missing or not executable here); it is removed. */
  notStarted?: true;
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  /** The run showed no progress under QEMU and was stopped. */
  hung?: Hang;
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

/** `docker run [--rm]` on an engine (the one the current work is placed on, by default). */
export async function runContainer(spec: ContainerSpec, engine: Engine = Engine.current()): Promise<ContainerResult> {
  const autoRemove = spec.autoRemove ?? true;
  const forceRemove = (id: string) => engine.removeContainer(id);
  const started = performance.now();
  const took = () => Math.round(performance.now() - started);
  let id: string;
  try {
    ({ Id: id } = await engine.json<{ Id: string }>('POST', '/containers/create', {
      query: { name: spec.name, platform: spec.platform || undefined },
      body: {
        Image: spec.image,
        Labels: spec.labels,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        OpenStdin: false,
        ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
        ...(spec.cmd?.length ? { Cmd: spec.cmd } : {}),
        ...(spec.env?.length ? { Env: spec.env } : {}),
        ...(spec.user ? { User: spec.user } : {}),
        ...(spec.networkDisabled ? { NetworkDisabled: true } : {}),
        HostConfig: {
          AutoRemove: autoRemove,
          ...(spec.privileged ? { Privileged: true } : {}),
          ...(spec.capAdd?.length ? { CapAdd: spec.capAdd } : {}),
          ...(spec.network ? { NetworkMode: spec.network } : {}),
          ...(spec.binds?.length ? { Binds: spec.binds } : {}),
          ...(spec.mounts?.length ? { Mounts: spec.mounts } : {}),
        },
      },
    }));
  } catch (err) {
    // The engine refused the container (no image for this platform, a bad option): `docker run` exits 125 with its words.
    if (err instanceof EngineError && err.status !== undefined && err.status < 500)
      return { refused: err.message, exitCode: 125, stdout: '', stderr: err.message, durationMs: took(), timedOut: false };
    // No answer (a timeout, a reset, a 5xx): the engine may have made it all the same; its name is this container's own.
    await forceRemove(spec.name);
    throw err;
  }
  const out = new OutputDemuxer();
  let socket: Duplex | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    spec.onCreated?.(id);
    socket = await engine.upgrade('POST', `/containers/${id}/attach`, { query: { stream: 1, stdout: 1, stderr: 1 } });
    const attached = socket;
    const streamEnded = new Promise<void>((resolve) => {
      attached.on('data', (chunk: Buffer) => {
        out.push(chunk);
        spec.onOutput?.();
      });
      attached.on('end', resolve);
      attached.on('close', resolve);
      attached.on('error', () => resolve());
    });
    // Registered before the start, as the CLI does (the engine answers its headers once the wait is
    // registered): a container that ends and is removed at once is not missed.
    const waitResponse = await engine.request('POST', `/containers/${id}/wait`, {
      query: { condition: autoRemove ? 'removed' : 'next-exit' },
      timeoutMs: spec.timeoutMs + 60_000,
    });
    const waited = responseJson<{ StatusCode: number; Error?: { Message?: string } | null }>(waitResponse);
    waited.catch(() => undefined);
    const start = await engine.status('POST', `/containers/${id}/start`);
    if (start.status >= 400) {
      // AutoRemove removes a container that never started too; this makes sure.
      await forceRemove(id);
      return {
        notStarted: true,
        exitCode: startFailureExitCode(start.message),
        stdout: '',
        stderr: start.message,
        durationMs: took(),
        timedOut: false,
      };
    }
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), spec.timeoutMs);
    });
    // The run ends when the engine says the container is gone and its output has ended; the timeout bounds both.
    const ended = (async () => {
      const status = await waited;
      await streamEnded;
      return status;
    })();
    ended.catch(() => undefined);
    const first = await Promise.race([ended, timedOut]);
    if (first === 'timeout') {
      await forceRemove(id);
      return { exitCode: undefined, stdout: out.text('stdout'), stderr: out.text('stderr'), durationMs: took(), timedOut: true };
    }
    return {
      exitCode: first.StatusCode,
      stdout: out.text('stdout'),
      stderr: [out.text('stderr'), first.Error?.Message].filter(Boolean).join('\n'),
      durationMs: took(),
      timedOut: false,
    };
  } catch (err) {
    // The engine stopped answering mid-run (a reset connection): the container must not outlive this run.
    await forceRemove(id);
    throw err;
  } finally {
    clearTimeout(timer);
    socket?.destroy();
  }
}
