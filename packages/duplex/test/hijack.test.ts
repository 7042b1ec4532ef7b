import { once } from 'node:events';
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
} from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import {
  type DuplexExchange,
  enableHijack,
  H1Error,
  type HijackedRequest,
  hijack,
} from '@h1kit/duplex';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { upgradeRouting } from '../src/server/node-http.js';
import {
  closeServer,
  collect,
  listen,
  rawClient,
  selfSignedCertificate,
  statusLines,
} from './helpers.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
});

function track<T extends Server>(server: T): T {
  servers.push(server);
  return server;
}

/** Echoes each line of the request body as soon as it arrives. */
async function lineEcho(exchange: DuplexExchange): Promise<void> {
  const out = exchange.respond(200, { 'Content-Type': 'text/plain' });
  let pending = '';
  for await (const chunk of exchange.body) {
    pending += Buffer.from(chunk as Uint8Array).toString('latin1');
    for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n')) {
      out.write(`echo: ${pending.slice(0, nl)}\n`);
      pending = pending.slice(nl + 1);
    }
  }
  out.end();
}

async function pingPong(
  port: number,
  path: string,
  rounds: number,
  gapMs = 0,
  https?: { ca: string },
): Promise<string> {
  const options = {
    port,
    host: '127.0.0.1',
    method: 'POST',
    path,
    headers: { 'Transfer-Encoding': 'chunked' },
    ...(https ?? {}),
  };
  const req = https ? httpsRequest(options) : httpRequest(options);
  req.flushHeaders();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  res.setEncoding('latin1');
  const lines = res[Symbol.asyncIterator]();
  let answers = '';
  for (let round = 1; round <= rounds; round++) {
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    req.write(`line ${round}\n`);
    while (!answers.includes(`echo: line ${round}\n`)) answers += (await lines.next()).value;
  }
  req.end();
  for (let next = await lines.next(); !next.done; next = await lines.next()) answers += next.value;
  return answers;
}

const expected = (rounds: number): string =>
  Array.from({ length: rounds }, (_, i) => `echo: line ${i + 1}\n`).join('');

describe('enableHijack on a stock node:http server', () => {
  it('runs a full-duplex exchange that outlives requestTimeout, leaving other requests to node:http', async () => {
    const server = track(
      createHttpServer({ requestTimeout: 1000, connectionsCheckingInterval: 200 }, (_req, res) =>
        res.end('plain'),
      ),
    );
    enableHijack(
      server,
      (req) => req.url === '/duplex',
      (hijacked) => void lineEcho(hijacked.exchange()),
    );
    const port = await listen(server);
    const plain = await collect(
      (
        await once(httpRequest({ port, host: '127.0.0.1', path: '/' }).end(), 'response')
      )[0] as IncomingMessage,
    );
    expect(plain.toString()).toBe('plain');
    // Six rounds 300 ms apart: 1.8 s, well past requestTimeout, with bytes flowing all along.
    expect(await pingPong(port, '/duplex', 6, 300)).toBe(expected(6));
  });

  it('answers requests pipelined before the hijacked one first, then hands over every byte after its head', async () => {
    const server = track(
      createHttpServer((req, res) => {
        setTimeout(() => res.end(`slow ${req.url}`), 50);
      }),
    );
    const bodies: string[] = [];
    enableHijack(
      server,
      (req) => req.url === '/take',
      async (hijacked) => {
        const exchange = hijacked.exchange();
        const body = await collect(exchange.body);
        bodies.push(body.toString());
        exchange.respond(200, { 'Content-Length': body.length }).end(body);
      },
    );
    const port = await listen(server);
    const client = await rawClient(port);
    client.write(
      'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nPOST /take HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwire',
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    client.write('\r\n5\r\n-tail\r\n0\r\n\r\n');
    const text = await client.until((t) => t.endsWith('wire-tail'));
    expect(statusLines(text)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
    expect(text.indexOf('slow /a')).toBeLessThan(text.indexOf('slow /b'));
    expect(text.indexOf('slow /b')).toBeLessThan(text.indexOf('wire-tail'));
    expect(bodies).toEqual(['wire-tail']);
    client.close();
  });

  it('leaves node:http answering Expect: 100-continue itself when no checkContinue listener exists', async () => {
    // A regression: tracking responses through a 'checkContinue' listener of our own made
    // node:http emit that event instead of 'request', and the request was never answered.
    const server = track(
      createHttpServer((req, res) => req.resume().on('end', () => res.end('served'))),
    );
    enableHijack(
      server,
      (req) => req.url === '/h',
      (hijacked) => {
        hijacked.exchange().respond(200, { 'Content-Length': 8 }).end('hijacked');
      },
    );
    const port = await listen(server);
    const client = await rawClient(port);
    client.write(
      'POST /n HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nokGET /h HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    const text = await client.until((t) => t.endsWith('hijacked'));
    expect(statusLines(text)).toEqual([
      'HTTP/1.1 100 Continue',
      'HTTP/1.1 200 OK',
      'HTTP/1.1 200 OK',
    ]);
    expect(text.indexOf('served')).toBeLessThan(text.indexOf('hijacked'));
    client.close();
  });

  it('gives Go-style code the raw bytes after the head through the ReadWriter', async () => {
    const server = track(createHttpServer((_req, res) => res.end()));
    enableHijack(
      server,
      (req) => req.headers.upgrade === 'line-protocol',
      async (hijacked: HijackedRequest) => {
        const { reader, writer } = hijacked.readWriter;
        await writer.write(
          Buffer.from(
            'HTTP/1.1 101 Switching Protocols\r\nUpgrade: line-protocol\r\nConnection: Upgrade\r\n\r\n',
          ),
        );
        await writer.flush();
        for (let line = await reader.readLine(); line !== null; line = await reader.readLine()) {
          await writer.write(Buffer.from(`got ${Buffer.from(line.line).toString()}\n`));
          await writer.flush();
        }
        hijacked.socket.end();
      },
    );
    const port = await listen(server);
    const client = await rawClient(port);
    client.write(
      'GET /raw HTTP/1.1\r\nHost: x\r\nUpgrade: line-protocol\r\nConnection: Upgrade\r\n\r\none\r\ntwo\n',
    );
    await client.until((t) => t.endsWith('got one\ngot two\n'));
    client.write('three\n');
    client.socket.end();
    const text = await client.untilEnd();
    expect(text.endsWith('\r\n\r\ngot one\ngot two\ngot three\n')).toBe(true);
  });

  it('does not cut a hijacked exchange when the server closes, until destroyAll()', async () => {
    const server = createHttpServer((_req, res) => res.end());
    let exchangeSeen: DuplexExchange | undefined;
    const control = enableHijack(
      server,
      () => true,
      (hijacked) => {
        exchangeSeen = hijacked.exchange();
        exchangeSeen.respond(200).write('started\n');
      },
    );
    const port = await listen(server);
    const client = await rawClient(port);
    client.write('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    await client.until((t) => t.includes('started'));
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(client.ended).toBe(false);
    expect(control.connections.size).toBe(1);
    exchangeSeen!.response!.write('still here\n');
    await client.until((t) => t.includes('still here'));
    control.destroyAll();
    await client.untilEnd();
    await closed;
    expect(control.connections.size).toBe(0);
  });

  it('hijacks over TLS', async () => {
    const { key, cert } = selfSignedCertificate();
    const server = track(createHttpsServer({ key, cert }, (_req, res) => res.end('plain')));
    enableHijack(
      server,
      () => true,
      (hijacked) => void lineEcho(hijacked.exchange()),
    );
    const port = await listen(server);
    expect(await pingPong(port, '/tls', 3, 0, { ca: cert })).toBe(expected(3));
  });

  it('takes a CONNECT request even with no connect listener', async () => {
    const server = track(createHttpServer((_req, res) => res.end()));
    enableHijack(
      server,
      (req) => req.method === 'CONNECT',
      (hijacked) => {
        hijacked.socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        hijacked.socket.write(hijacked.head);
        hijacked.socket.pipe(hijacked.socket);
      },
    );
    const port = await listen(server);
    const client = await rawClient(port);
    client.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nearly');
    await client.until((t) => t.endsWith('\r\n\r\nearly'));
    client.write(' late');
    await client.until((t) => t.endsWith('early late'));
    client.close();
  });
});

describe('hijack(req, res) inside a request listener', () => {
  it('takes the connection when called synchronously, and the response refuses writes after', async () => {
    let refused: unknown;
    const server = track(createHttpServer());
    enableHijack(server);
    server.on('request', (req, res) => {
      const taken = hijack(req, res);
      try {
        res.end('too late');
      } catch (error) {
        refused = error;
      }
      taken.then((hijacked) => lineEcho(hijacked.exchange()));
    });
    const port = await listen(server);
    expect(await pingPong(port, '/go-style', 3)).toBe(expected(3));
    expect(refused).toBeInstanceOf(H1Error);
    expect((refused as H1Error).code).toBe('ERR_H1_HIJACKED');
  });

  it('refuses to hijack after the listener returned, saying why, and node:http goes on serving', async () => {
    let failure: unknown;
    const server = track(
      createHttpServer(async (req, res) => {
        await new Promise((resolve) => setImmediate(resolve));
        try {
          await hijack(req, res);
        } catch (error) {
          failure = error;
        }
        res.end('served by node:http');
      }),
    );
    enableHijack(server);
    const port = await listen(server);
    const [res] = (await once(
      httpRequest({ port, host: '127.0.0.1', method: 'POST', path: '/' }).end('body'),
      'response',
    )) as [IncomingMessage];
    expect((await collect(res)).toString()).toBe('served by node:http');
    expect(failure).toBeInstanceOf(H1Error);
    expect((failure as H1Error).code).toBe('ERR_H1_HIJACK_UNSAFE');
    expect((failure as H1Error).message).toMatch(/synchronously/);
  });

  it('refuses when enableHijack was never called', async () => {
    let failure: unknown;
    const server = track(
      createHttpServer((req, res) => {
        try {
          void hijack(req, res);
        } catch (error) {
          failure = error;
        }
        res.end();
      }),
    );
    const port = await listen(server);
    await collect(
      (
        await once(httpRequest({ port, host: '127.0.0.1' }).end(), 'response')
      )[0] as IncomingMessage,
    );
    expect((failure as H1Error).code).toBe('ERR_H1_HIJACK_UNSAFE');
  });
});

describe('enableHijack beside other upgrade users', () => {
  /** The requests each node:http path saw, by url. */
  function observe(server: Server): { requests: string[]; upgrades: string[] } {
    const seen = { requests: [] as string[], upgrades: [] as string[] };
    server.on('request', (req, res) => {
      seen.requests.push(req.url!);
      res.end(`request ${req.url}`);
    });
    server.on('upgrade', (req, socket) => {
      seen.upgrades.push(req.url!);
      socket.end(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\n\r\nupgraded ${req.url}`,
      );
    });
    return seen;
  }

  const answer = (exchange: DuplexExchange, text: string): void => {
    exchange.respond(200, { 'Content-Length': text.length, Connection: 'close' }).end(text);
  };

  /** Sends one request and half-closes, so that every server path ends the connection after it. */
  async function send(port: number, head: string): Promise<string> {
    const client = await rawClient(port);
    client.write(head);
    client.socket.end();
    return client.untilEnd();
  }

  it("leaves unselected upgrades to the server's own shouldUpgradeCallback, where this line has one", async () => {
    const server = track(
      createHttpServer({
        shouldUpgradeCallback: (req: IncomingMessage) => req.headers.upgrade === 'chat',
      } as Parameters<typeof createHttpServer>[0]),
    );
    const seen = observe(server);
    enableHijack(
      server,
      (req) => req.url === '/take',
      (hijacked) => answer(hijacked.exchange(), 'taken'),
    );
    const port = await listen(server);
    const upgrade = (path: string, protocol: string): string =>
      `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n\r\n`;
    expect(await send(port, upgrade('/chat', 'chat'))).toMatch(
      /101 Switching[\s\S]*upgraded \/chat$/,
    );
    const other = await send(
      port,
      `${upgrade('/other', 'other').slice(0, -2)}Connection: close\r\n\r\n`,
    );
    expect(await send(port, upgrade('/take', 'chat'))).toMatch(/200 OK[\s\S]*taken$/);
    if (upgradeRouting(server) === 'shouldUpgradeCallback') {
      // Late 22.x, 24.9+ and 26: the callback says no, so node:http serves it as a request.
      expect(other).toMatch(/200 OK[\s\S]*request \/other$/);
      expect(seen).toEqual({ requests: ['/other'], upgrades: ['/chat'] });
    } else {
      // Node 20 and early 22.x ignore the option: any upgrade goes to the 'upgrade' listener.
      expect(other).toMatch(/101 Switching[\s\S]*upgraded \/other$/);
      expect(seen).toEqual({ requests: [], upgrades: ['/chat', '/other'] });
    }
    expect(server.listenerCount('upgrade')).toBe(1);
  });

  it('lets a ws WebSocketServer on the same server keep its upgrades, while hijacked requests never reach it', async () => {
    const server = track(createHttpServer((_req, res) => res.end('plain')));
    const wss = new WebSocketServer({ server, path: '/ws' });
    wss.on('connection', (socket) => socket.on('message', (data) => socket.send(`echo ${data}`)));
    const wsUpgrades: string[] = [];
    server.prependListener('upgrade', (req: IncomingMessage) => wsUpgrades.push(req.url!));
    enableHijack(
      server,
      (req) => req.url === '/duplex',
      (hijacked) => void lineEcho(hijacked.exchange()),
    );
    const port = await listen(server);
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await once(socket, 'open');
    const replies: string[] = [];
    socket.on('message', (data) => replies.push(String(data)));
    socket.send('one');
    // A hijacked full-duplex exchange while the WebSocket stays open.
    expect(await pingPong(port, '/duplex', 3)).toBe(expected(3));
    socket.send('two');
    while (replies.length < 2) await once(socket, 'message');
    expect(replies).toEqual(['echo one', 'echo two']);
    socket.close();
    await once(socket, 'close');
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    expect(wsUpgrades).toEqual(['/ws']);
  });

  it('takes a selected WebSocket handshake away from ws, and ws serves the rest', async () => {
    const server = track(createHttpServer());
    const wss = new WebSocketServer({ server });
    wss.on('connection', (socket) => socket.send('from ws'));
    enableHijack(
      server,
      (req) => req.url === '/mine',
      (hijacked) => answer(hijacked.exchange(), 'not a websocket'),
    );
    const port = await listen(server);
    const handshake = (path: string): string =>
      `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
    expect(await send(port, handshake('/mine'))).toMatch(
      /^HTTP\/1\.1 200 OK[\s\S]*not a websocket$/,
    );
    const socket = new WebSocket(`ws://127.0.0.1:${port}/theirs`);
    const [message] = (await once(socket, 'message')) as [Buffer];
    expect(String(message)).toBe('from ws');
    socket.close();
    await once(socket, 'close');
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });

  it('leaves no listener behind: a later upgrade on a server without upgrade listeners is an ordinary request', async () => {
    const server = track(createHttpServer((req, res) => res.end(`request ${req.url}`)));
    enableHijack(
      server,
      (req) => req.url === '/take' || req.method === 'CONNECT',
      (hijacked) => {
        if (hijacked.req.method !== 'CONNECT') answer(hijacked.exchange(), 'taken');
        else hijacked.socket.end('HTTP/1.1 200 Connection Established\r\n\r\ntaken');
      },
    );
    const port = await listen(server);
    expect(await send(port, 'GET /take HTTP/1.1\r\nHost: x\r\n\r\n')).toMatch(/taken$/);
    expect(await send(port, 'CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n\r\n')).toMatch(/taken$/);
    expect([server.listenerCount('upgrade'), server.listenerCount('connect')]).toEqual([0, 0]);
    // With no 'upgrade' listener node:http serves an upgrade request through 'request' on every line.
    expect(
      await send(
        port,
        'GET /later HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\nUpgrade: chat\r\n\r\n',
      ),
    ).toMatch(/200 OK[\s\S]*request \/later$/);
  });
});
