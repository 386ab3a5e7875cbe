/**
 * For the unit tests that talk to a server over real sockets: a node:http server on 127.0.0.1 (an
 * ephemeral port), and what those tests do with work they start while the clock is fake (the
 * retries' pauses), the sockets' I/O being real: settle it, and read the one sentence it fails with.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { expect, vi } from 'vitest';
import { EnvironmentError } from '../../harness/base/errors.ts';

export interface LoopbackServer {
  readonly server: Server;
  readonly port: number;
  /** 127.0.0.1:PORT */
  readonly address: string;
  /** Ends every connection still open (a client still reading, an answer that never ends), then stops listening. */
  close(): Promise<void>;
}

/** A node:http server listening on 127.0.0.1, on a port the system picks; without a listener, it answers nothing. */
export async function startLoopbackServer(listener?: RequestListener): Promise<LoopbackServer> {
  const server = listener ? createServer(listener) : createServer();
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    address: `127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Settles the work: the fake clock moves to the next timer only while nothing else is pending
 * (a timer is, and no request is on its way); meanwhile the real event loop turns.
 */
export async function settle<T>(work: Promise<T>): Promise<T> {
  let done = false;
  work.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  while (!done) {
    if (vi.getTimerCount() > 0) await vi.advanceTimersToNextTimerAsync();
    else await new Promise((resolve) => setImmediate(resolve));
  }
  return work;
}

/**
 * The error the work (settled as above) rejects with: an EnvironmentError of one sentence, with no
 * line break, ending as `end` says (a stop or a question mark unless told).
 */
export async function sentence(work: Promise<unknown>, end: RegExp = /[.?]$/): Promise<string> {
  const err = await settle(work).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EnvironmentError);
  const message = (err as Error).message;
  expect(message).not.toMatch(/\n/);
  expect(message).toMatch(end);
  return message;
}
