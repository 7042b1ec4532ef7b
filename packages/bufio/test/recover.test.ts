// recover() on real loopback sockets: sockets handed over by node:http ('upgrade', 'connect', and
// the hijack path @h1kit/duplex takes), and raw sockets left paused, flowing, or past their end.
// In each case the reader must yield `head`, then every later byte, once and in order.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { type BufferedReader, BufioErrorCode, H1Error, recover } from '@h1kit/bufio';
import { afterEach, describe, expect, it } from 'vitest';
import { inTime } from '../../../testkit/bounded.js';
import { bytes, collect, text } from '../../../testkit/bytes.js';
import { loopback, socketPair, turns } from './helpers.js';

/** Everything the reader yields until the end of the stream. */
async function readAll(reader: BufferedReader): Promise<string> {
  return text(await collect(reader));
}

/** Reads from a socket until `pattern` has arrived, then pauses it; returns all it read. */
function readUntil(socket: Socket, pattern: string): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const onData = (chunk: Buffer) => {
      got += chunk.toString('latin1');
      if (!got.includes(pattern)) return;
      socket.off('data', onData);
      socket.pause();
      resolve(got);
    };
    socket.on('data', onData);
  });
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await turns();
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A node:http server on 127.0.0.1 whose every socket is destroyed at the end of the test. */
async function httpServer(): Promise<{ server: Server; dial: () => Promise<Socket> }> {
  const server = createServer((_req, res) => res.end('ok'));
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => sockets.add(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    server.close();
    await once(server, 'close');
  });
  const dial = async () => {
    const client = connect(port, '127.0.0.1');
    sockets.add(client);
    await once(client, 'connect');
    return client;
  };
  return { server, dial };
}

const UPGRADE =
  'GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h1kit-test\r\n\r\n';
const SWITCHED =
  'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h1kit-test\r\n\r\n';

describe('sockets from node:http', () => {
  it("'upgrade': bytes pipelined after the head come first, then what the client sends later", async () => {
    const { server, dial } = await httpServer();
    const seen = new Promise<{ head: string; all: string }>((resolve) => {
      server.on('upgrade', async (_req: IncomingMessage, socket: Socket, head: Buffer) => {
        const { reader, writer } = recover(socket, head);
        await writer.write(bytes(SWITCHED));
        await writer.flush();
        resolve({ head: text(head), all: await readAll(reader) });
        socket.end();
      });
    });
    const client = await dial();
    client.write(`${UPGRADE}first|`);
    await inTime(readUntil(client, '\r\n\r\n'), 'the 101 written through recover()');
    client.write('second|');
    await turns(2);
    client.end('third|');
    const { head, all } = await inTime(seen, 'everything the recovered reader yields');
    expect(head).toBe('first|');
    expect(all).toBe('first|second|third|');
  });

  it("'upgrade' taken late: bytes and the end wait in the socket's buffer, and come after head", async () => {
    const { server, dial } = await httpServer();
    const seen = new Promise<{ state: unknown; all: string }>((resolve) => {
      server.on('upgrade', async (_req: IncomingMessage, socket: Socket, head: Buffer) => {
        // node:http hands the socket over with its own listeners gone and readableFlowing
        // reset to null: nobody reads, so later bytes collect in the socket's buffer.
        await until(() => socket.readableLength >= 'later|and more|'.length);
        const state = {
          flowing: socket.readableFlowing,
          dataListeners: socket.listenerCount('data'),
        };
        const { reader } = recover(socket, head);
        resolve({ state, all: await readAll(reader) });
        socket.end();
      });
    });
    const client = await dial();
    client.write(`${UPGRADE}piped|`);
    await turns(2);
    client.write('later|');
    client.end('and more|');
    const { state, all } = await inTime(seen, 'everything the recovered reader yields');
    expect(state).toEqual({ flowing: null, dataListeners: 0 });
    expect(all).toBe('piped|later|and more|');
  });

  it("'connect': the tunnel's first bytes come from head", async () => {
    const { server, dial } = await httpServer();
    const seen = new Promise<string>((resolve) => {
      server.on('connect', async (_req: IncomingMessage, socket: Socket, head: Buffer) => {
        const { reader, writer } = recover(socket, head);
        await writer.write(bytes('HTTP/1.1 200 Connection Established\r\n\r\n'));
        await writer.flush();
        resolve(await readAll(reader));
        socket.end();
      });
    });
    const client = await dial();
    client.write('CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\nhello|');
    await inTime(readUntil(client, '\r\n\r\n'), 'the 200 written through recover()');
    client.end('tunnel|');
    expect(await inTime(seen, 'everything the recovered reader yields')).toBe('hello|tunnel|');
  });

  it('the hijack path (onIncoming returns 2) after a pipelined request node:http answers first', async () => {
    const { server, dial } = await httpServer();
    type OnIncoming = (this: unknown, req: IncomingMessage, keepAlive: boolean) => unknown;
    server.on('connection', (socket: Socket & { parser?: { onIncoming: OnIncoming } }) => {
      const parser = socket.parser!;
      const original = parser.onIncoming;
      parser.onIncoming = function (this: unknown, req: IncomingMessage, keepAlive: boolean) {
        if (req.url !== '/take') return original.call(this, req, keepAlive);
        (req as IncomingMessage & { upgrade: boolean }).upgrade = true;
        original.call(this, req, keepAlive);
        return 2;
      };
    });
    const seen = new Promise<{ head: string; all: string }>((resolve) => {
      server.on('upgrade', async (_req: IncomingMessage, socket: Socket, head: Buffer) => {
        const { reader, writer } = recover(socket, head);
        await writer.write(bytes('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\ntaken'));
        await writer.flush();
        resolve({ head: text(head), all: await readAll(reader) });
        socket.end();
      });
    });
    const client = await dial();
    client.write(
      'GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /take HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nbody!next',
    );
    const answers = await inTime(
      readUntil(client, 'taken'),
      'the answer written through recover()',
    );
    client.end('|last');
    const { head, all } = await inTime(seen, 'everything the recovered reader yields');
    // The unprocessed body and whatever followed it are the hijacker's, in order.
    expect(head).toBe('body!next');
    expect(all).toBe('body!next|last');
    // node:http's answer to the earlier request precedes ours on the wire.
    expect(answers.indexOf('\r\n\r\nok')).toBeGreaterThan(0);
    expect(answers.indexOf('\r\n\r\nok')).toBeLessThan(answers.indexOf('taken'));
  });
});

describe('recover() refusing its socket', () => {
  it('leaves the socket untouched when the writer refuses it (an object-mode writable side)', () => {
    const duplex = new Duplex({
      writableObjectMode: true,
      read() {},
      write(_chunk, _encoding, callback) {
        callback();
      },
    });
    let caught: unknown;
    try {
      recover(duplex, bytes('head'));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(H1Error);
    expect((caught as H1Error).code).toBe(BufioErrorCode.INVALID_ARGUMENT);
    // No reader was left behind consuming it.
    expect(duplex.listenerCount('data')).toBe(0);
    expect(duplex.listenerCount('readable')).toBe(0);
    expect(duplex.readableFlowing).not.toBe(true);
  });
});

describe('raw sockets in every state', () => {
  async function pair() {
    const l = await loopback();
    cleanups.push(() => l.close());
    return socketPair(l);
  }

  it('paused, with bytes in its readable buffer', async () => {
    const { client, peer } = await pair();
    peer.pause();
    client.write('abc');
    client.write('def');
    await until(() => peer.readableLength === 6);
    const { reader } = recover(peer, bytes('HEAD|'));
    expect(reader.buffered).toBeGreaterThanOrEqual(5);
    client.end('ghi');
    expect(await inTime(readAll(reader), 'the reader to its end')).toBe('HEAD|abcdefghi');
  });

  it('flowing: taken over inside its own data handler', async () => {
    const { client, peer } = await pair();
    const seen = new Promise<string>((resolve) => {
      const first = (chunk: Buffer) => {
        peer.off('data', first);
        // The server used the first 3 bytes; the rest of the chunk is the head.
        resolve(readAll(recover(peer, chunk.subarray(3)).reader));
      };
      peer.on('data', first);
    });
    client.write('xx|abc');
    await turns(2);
    client.write('def');
    client.end('ghi');
    expect(await inTime(seen, 'everything the recovered reader yields')).toBe('abcdefghi');
  });

  it('flowing with no listener: taken at once, before any byte is emitted', async () => {
    const { client, peer } = await pair();
    peer.resume();
    expect(peer.readableFlowing).toBe(true);
    const { reader } = recover(peer, bytes('h|'));
    client.end('tail');
    expect(await inTime(readAll(reader), 'the reader to its end')).toBe('h|tail');
  });

  it.each([
    ['half-open', false],
    ['closed', true],
  ])("past its 'end' (%s): head, then null", async (_name, close) => {
    const { client, peer } = await pair();
    client.end('all of it');
    expect(await readUntil(peer, 'all of it')).toBe('all of it');
    await once(peer, 'end');
    if (close) {
      peer.destroy();
      await once(peer, 'close');
    }
    const { reader } = recover(peer, bytes('unprocessed'));
    expect(await inTime(readAll(reader), 'the reader to its end')).toBe('unprocessed');
    expect(await inTime(reader.read(), 'read() past the end')).toBeNull();
  });

  it('a reset by the peer rejects the waiting call with the socket error, after head', async () => {
    const { client, peer } = await pair();
    const { reader } = recover(peer, bytes('h'));
    expect(await inTime(reader.readByte(), 'readByte() of the head')).toBe(0x68);
    const waiting = reader.readByte();
    client.resetAndDestroy();
    const error = (await inTime(
      waiting.catch((e: unknown) => e),
      'the failure of the waiting readByte()',
    )) as NodeJS.ErrnoException;
    expect(error.code).toBe('ECONNRESET');
  });

  it('a socket destroyed under the reader is ERR_BUFIO_PREMATURE_CLOSE, not the end', async () => {
    const { peer } = await pair();
    const { reader } = recover(peer, bytes('h'));
    const waiting = reader.readFull(2);
    peer.destroy();
    const error = await inTime(
      waiting.catch((e: unknown) => e),
      'the failure of the waiting readFull(2)',
    );
    expect(error).toBeInstanceOf(H1Error);
    expect((error as H1Error).code).toBe(BufioErrorCode.PREMATURE_CLOSE);
  });
});
