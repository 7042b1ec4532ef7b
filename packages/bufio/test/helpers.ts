// Real streams for the tests: a Readable fed segment by segment, loopback socket pairs, and a
// sink that records what it was given. No mocks: every one is a node:stream or node:net object.
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Readable, Writable } from 'node:stream';
import type { Delivery } from '../../../testkit/arbitraries/bufio.js';

export const SOURCE_ERROR = 'source failed on purpose';

/**
 * A Readable that pushes one segment per `_read`, now or a turn later, then ends as told. A
 * failure waits until every pushed byte has been taken, since destroying a Readable drops its
 * buffer: the reader must see all the bytes and then the failure.
 */
export function feed(d: Pick<Delivery, 'segments' | 'later' | 'ending'>): Readable {
  let i = 0;
  const stream = new Readable({
    highWaterMark: 0,
    read() {
      if (i < d.segments.length) {
        const k = i++;
        const push = () => {
          if (!stream.destroyed) stream.push(Buffer.from(d.segments[k]!));
        };
        if (d.later[k]) setImmediate(push);
        else push();
        return;
      }
      if (d.ending === 'end') {
        stream.push(null);
        return;
      }
      const stop = () => {
        if (stream.destroyed) return;
        if (stream.readableLength > 0) setImmediate(stop);
        else stream.destroy(d.ending === 'error' ? new Error(SOURCE_ERROR) : undefined);
      };
      stop();
    },
  });
  return stream;
}

/** Everything a sink was given: chunks in order, and how many `_write`/`_writev` calls. */
export interface Recorded {
  chunks: Uint8Array[];
  calls: number;
}

/**
 * A Writable that records its chunks and calls back now or a turn later, per `later` (cycled).
 * `writev` makes it take corked chunks in one call, as a socket does.
 */
export function recordingSink(
  options: { later?: boolean[]; highWaterMark?: number; writev?: boolean; failAt?: number } = {},
): Writable & { recorded: Recorded } {
  const later = options.later ?? [false];
  const recorded: Recorded = { chunks: [], calls: 0 };
  let n = 0;
  const done = (callback: (error?: Error | null) => void) => {
    const fail = options.failAt !== undefined && recorded.calls > options.failAt;
    const error = fail ? new Error(SOURCE_ERROR) : null;
    if (later[n++ % later.length]) setImmediate(() => callback(error));
    else callback(error);
  };
  const sink = new Writable({
    highWaterMark: options.highWaterMark ?? 16384,
    write(chunk: Uint8Array, _encoding, callback) {
      recorded.calls++;
      recorded.chunks.push(chunk);
      done(callback);
    },
    ...(options.writev
      ? {
          writev(chunks: Array<{ chunk: Uint8Array }>, callback: (error?: Error | null) => void) {
            recorded.calls++;
            for (const c of chunks) recorded.chunks.push(c.chunk);
            done(callback);
          },
        }
      : {}),
  });
  return Object.assign(sink, { recorded });
}

/** A listening loopback server; `accepted` yields its connections in order. */
export async function loopback(): Promise<{
  server: Server;
  port: number;
  accepted: () => Promise<Socket>;
  close: () => Promise<void>;
}> {
  const waiting: Array<(s: Socket) => void> = [];
  const ready: Socket[] = [];
  const all = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    all.add(socket);
    const w = waiting.shift();
    if (w) w(socket);
    else ready.push(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    accepted: () => {
      const s = ready.shift();
      return s ? Promise.resolve(s) : new Promise((resolve) => waiting.push(resolve));
    },
    close: async () => {
      for (const s of all) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A connected pair of loopback sockets: `client` dialled, `peer` the server's side. */
export async function socketPair(l: Awaited<ReturnType<typeof loopback>>): Promise<{
  client: Socket;
  peer: Socket;
}> {
  const client = connect({ port: l.port, host: '127.0.0.1', allowHalfOpen: true });
  const [peer] = await Promise.all([l.accepted(), once(client, 'connect')]);
  return { client, peer };
}

/** Resolves after `turns` turns of the event loop: lets pending I/O callbacks run. */
export async function turns(n = 1): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}
