/**
 * Every connection to an engine: one agent per engine, for a unix socket, plain tcp, tcp with TLS
 * (the CLI's certificate files, read by endpoint.ts), and whatever only the CLI can dial (ssh://,
 * npipe://, or every request when MULTIARCH_ENGINE_TUNNEL=1) through its own tunnel,
 * `docker system dial-stdio`, which relays bytes to the engine as the CLI reaches it.
 */
import { spawn } from 'node:child_process';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import { Duplex } from 'node:stream';
import { EnvironmentError } from '../base/index.ts';
import type { EngineVariables, Reach } from './endpoint.ts';

export interface Transport {
  agent: HttpAgent;
  /** Where requests go: a socket path, or a host and port (the tunnel's are placeholders). */
  target: { socketPath: string } | { host: string; port?: number };
  tls: boolean;
  request(options: RequestOptions, onResponse?: (res: IncomingMessage) => void): ClientRequest;
}

/**
 * No TLS server name to work out when the engine's API is plain HTTP: Node's agent would test the
 * Host header for an IP address, compiling its IPv6 pattern on the first request (4 ms a process).
 */
const NO_SERVER_NAME = { servername: '' } as object;

export function transportOf(reach: Reach): Transport {
  switch (reach.kind) {
    case 'unix':
      return plain(new HttpAgent({ keepAlive: true }), { socketPath: reach.socketPath });
    case 'tcp':
      if (!reach.tls) return plain(new HttpAgent({ keepAlive: true }), { host: reach.host, port: reach.port });
      return {
        agent: new HttpsAgent({
          keepAlive: true,
          // The CA file is trusted besides the system's roots, as the CLI trusts it (Node's `ca` alone would replace them).
          ...(reach.tls.ca ? { ca: [...rootCertificates, reach.tls.ca] } : {}),
          ...(reach.tls.cert ? { cert: reach.tls.cert } : {}),
          ...(reach.tls.key ? { key: reach.tls.key } : {}),
          rejectUnauthorized: reach.tls.verify,
        }),
        target: { host: reach.host, port: reach.port },
        tls: true,
        request: (o, cb) => httpsRequest(o, cb),
      };
    case 'tunnel': {
      // One tunnel per request (no keep-alive: a kept tunnel would be a process holding this one open).
      const agent = new HttpAgent({ keepAlive: false });
      (agent as unknown as { createConnection: () => Duplex }).createConnection = () => dialStdio(reach.env);
      return plain(agent, { host: 'docker' });
    }
  }
}

function plain(agent: HttpAgent, target: Transport['target']): Transport {
  return { agent, target, tls: false, request: (o, cb) => httpRequest({ ...NO_SERVER_NAME, ...o }, cb) };
}

function dialStdio(vars: EngineVariables): Duplex {
  const child = spawn('docker', ['system', 'dial-stdio'], {
    env: { ...process.env, ...vars } as NodeJS.ProcessEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  // node:http times a request out through its socket's idle timer ('timeout' events): a pipe has none, so this is it.
  let idleMs = 0;
  let idle: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(idle);
    if (idleMs > 0) idle = setTimeout(() => duplex.emit('timeout'), idleMs);
  };
  const duplex = new Duplex({
    write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void) {
      touch();
      child.stdin.write(chunk, cb);
    },
    final(cb: () => void) {
      child.stdin.end();
      cb();
    },
    read() {
      child.stdout.resume();
    },
    destroy(err: Error | null, cb: (err: Error | null) => void) {
      clearTimeout(idle);
      // SIGKILL: the CLI answers a first SIGTERM by cancelling its context only, and its pipes would keep this process alive.
      child.kill('SIGKILL');
      child.stdin.destroy();
      child.stdout.destroy();
      child.stderr.destroy();
      cb(err);
    },
  });
  // What node:http asks of a socket besides reading and writing.
  Object.assign(duplex, {
    setTimeout: (ms: number, onTimeout?: () => void) => {
      idleMs = ms;
      if (onTimeout) duplex.once('timeout', onTimeout);
      touch();
      return duplex;
    },
    setKeepAlive: () => duplex,
    setNoDelay: () => duplex,
    ref: () => duplex,
    unref: () => duplex,
  });
  child.stdout.on('data', (d: Buffer) => {
    touch();
    if (!duplex.push(d)) child.stdout.pause();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  child.stdin.on('error', (err) => duplex.destroy(err));
  child.on('error', (err) => {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    duplex.destroy(
      missing ? new EnvironmentError('The docker CLI is needed to reach this engine (ssh://): it was not found on PATH.') : err,
    );
  });
  // The stream ends when the tunnel has exited: a tunnel that failed says why (ssh's own words), not "socket hang up".
  child.on('close', (code) => {
    clearTimeout(idle);
    if (duplex.destroyed) return;
    if (code)
      duplex.destroy(
        new EnvironmentError(
          `No Docker engine answers through \`docker system dial-stdio\` (${stderr.trim().split('\n').at(-1) || `exit ${code}`}).`,
        ),
      );
    else duplex.push(null);
  });
  return duplex;
}
