// The client's keep-alive Agent against real servers: sequential requests share one connection
// (counted on the server), a connection is reused only after a clean exchange the response let
// stay open, the per-origin limit makes requests wait their turn, and close() / the idle timeout
// end what is pooled.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, createServer, type H1Server, request } from '@h1kit/duplex';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, collect } from '../../../testkit/bytes.js';
import {
  deferred,
  httpServers,
  inTime,
  listen,
  selfSignedCertificate,
  TextReader,
} from './helpers.js';

const httpServer = httpServers();
const h1Servers: H1Server[] = [];
const agents: Agent[] = [];
afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  await Promise.all(h1Servers.splice(0).map((s) => inTime(s.close({ force: true }), 'close')));
});

function agent(options?: ConstructorParameters<typeof Agent>[0]): Agent {
  const made = new Agent(options);
  agents.push(made);
  return made;
}

/** A node:http server answering `ok`, counting the connections it accepted. */
async function countingHttpServer(
  listener: Parameters<typeof httpServer>[0] = (_req, res) => res.end('ok'),
): Promise<{ server: Server; port: number; connections: () => number }> {
  const server = httpServer(listener);
  let connections = 0;
  server.on('connection', () => connections++);
  return { server, port: await listen(server), connections: () => connections };
}

/** Sends a GET and reads its whole response body. */
async function get(url: string, options: Parameters<typeof request>[1] = {}): Promise<string> {
  const exchange = request(url, options);
  const response = await inTime(exchange.response, `the response head from ${url}`);
  return (await inTime(collect(response.body), 'the response body')).toString();
}

/**
 * Two ping-pong exchanges through `pool` to `url`: each line is written only after the echo of
 * the one before was read; the second exchange must find the first's connection in the pool.
 */
async function pingPongTwice(url: string, options: Parameters<typeof request>[1]): Promise<void> {
  for (let exchangeNo = 0; exchangeNo < 2; exchangeNo++) {
    const exchange = request(url, { method: 'POST', ...options });
    const response = await inTime(exchange.response, 'the response head');
    const reader = new TextReader(response.body);
    for (let i = 0; i < 10; i++) {
      exchange.body.write(`line ${i}\n`);
      await reader.until(`line ${i}\n`);
    }
    exchange.body.end();
    await reader.end();
  }
}

/** A node:http(s) listener echoing each request body piece as it arrives. */
const echoListener = (
  req: import('node:http').IncomingMessage,
  res: import('node:http').ServerResponse,
): void => {
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  // The head goes now: the client reads it before it writes its first line.
  res.flushHeaders();
  req.on('data', (chunk: Buffer) => res.write(chunk));
  req.on('end', () => res.end());
};

describe('the client Agent', () => {
  it('plays ping-pong through the pool with node:http, the standalone server and over TLS, on one connection each', async () => {
    const pool = agent();
    const node = await countingHttpServer(echoListener);
    await pingPongTwice(`http://127.0.0.1:${node.port}/`, { agent: pool });
    expect(node.connections()).toBe(1);

    let h1Connections = 0;
    const h1 = createServer(async (exchange) => {
      const out = exchange.respond(200);
      for await (const chunk of exchange.body) out.write(chunk);
      out.end();
    });
    h1Servers.push(h1);
    h1.on('connection', () => h1Connections++);
    const { port } = await h1.listen();
    await pingPongTwice(`http://127.0.0.1:${port}/`, { agent: pool });
    expect(h1Connections).toBe(1);

    const { key, cert } = selfSignedCertificate();
    const { createServer: createHttpsServer } = await import('node:https');
    const tlsServer = createHttpsServer({ key, cert }, echoListener);
    let tlsConnections = 0;
    tlsServer.on('secureConnection', () => tlsConnections++);
    tlsServer.listen(0, '127.0.0.1');
    await inTime(new Promise((resolve) => tlsServer.once('listening', resolve)), 'listening');
    try {
      const tlsPort = (tlsServer.address() as AddressInfo).port;
      await pingPongTwice(`https://127.0.0.1:${tlsPort}/`, { agent: pool, tls: { ca: cert } });
      expect(tlsConnections).toBe(1);
    } finally {
      pool.destroy();
      tlsServer.closeAllConnections();
      await inTime(new Promise((resolve) => tlsServer.close(resolve)), 'the https server close');
    }
  });

  it('carries sequential requests on one connection, to node:http and to the standalone server', async () => {
    const pool = agent();
    const node = await countingHttpServer();
    for (let i = 0; i < 3; i++) {
      expect(await get(`http://127.0.0.1:${node.port}/${i}`, { agent: pool })).toBe('ok');
    }
    expect(node.connections()).toBe(1);

    let h1Connections = 0;
    const h1 = createServer((exchange) => {
      exchange.respond(200, { 'Content-Length': 2 }).end('h1');
    });
    h1Servers.push(h1);
    h1.on('connection', () => h1Connections++);
    const { port } = await h1.listen();
    for (let i = 0; i < 3; i++) {
      const exchange = request(`http://127.0.0.1:${port}/`, { method: 'POST', agent: pool });
      exchange.body.end(`body ${i}`);
      const response = await inTime(exchange.response, 'the response head');
      expect((await inTime(collect(response.body), 'the body')).toString()).toBe('h1');
    }
    expect(h1Connections).toBe(1);
    expect(pool.connections.get(`http://127.0.0.1:${port}`)).toEqual({ busy: 0, idle: 1 });
  });

  it('sends a request without a body as one write of its head on a pooled connection, its body ended when asked for', async () => {
    const pool = agent();
    const node = await countingHttpServer((req, res) => res.end(`${req.method} ${req.url}`));
    const url = `http://127.0.0.1:${node.port}`;
    const first = request(`${url}/first`, { agent: pool });
    const firstResponse = await inTime(first.response, 'the first response head');
    expect((await inTime(collect(firstResponse.body), 'the body')).toString()).toBe('GET /first');
    // The connection the second request will be given: its writes are counted from here.
    const socket = first.socket as unknown as {
      _write: (...args: unknown[]) => void;
      _writev?: (...args: unknown[]) => void;
    };
    let writes = 0;
    const write = socket._write.bind(socket);
    socket._write = (...args) => {
      writes++;
      write(...args);
    };
    const writev = socket._writev?.bind(socket);
    if (writev) {
      socket._writev = (...args) => {
        writes++;
        writev(...args);
      };
    }
    const second = request(`${url}/second`, { agent: pool });
    expect(second.socket).toBe(first.socket);
    const response = await inTime(second.response, 'the second response head');
    expect((await inTime(collect(response.body), 'the body')).toString()).toBe('GET /second');
    expect(node.connections()).toBe(1);
    expect(writes).toBe(1);
    expect(second.body.writableEnded).toBe(true);
    expect(() => second.body.write('x')).toThrow(/has no body/);
  });

  it('carries sequential requests on one TLS connection made with the same tls options', async () => {
    const { key, cert } = selfSignedCertificate();
    const { createServer: createHttpsServer } = await import('node:https');
    const server = createHttpsServer({ key, cert }, (_req, res) => res.end('tls'));
    let connections = 0;
    server.on('secureConnection', () => connections++);
    server.listen(0, '127.0.0.1');
    await inTime(new Promise((resolve) => server.once('listening', resolve)), 'listening');
    const { port } = server.address() as AddressInfo;
    const pool = agent();
    const tls = { ca: cert };
    try {
      for (let i = 0; i < 3; i++) {
        expect(await get(`https://127.0.0.1:${port}/`, { agent: pool, tls })).toBe('tls');
      }
      expect(connections).toBe(1);
    } finally {
      pool.destroy();
      server.closeAllConnections();
      await inTime(new Promise((resolve) => server.close(resolve)), 'the https server close');
    }
  });

  it('opens a new connection after a response that says Connection: close, and for agent: false', async () => {
    const pool = agent();
    const node = await countingHttpServer((req, res) => {
      if (req.url === '/close') res.setHeader('Connection', 'close');
      res.end('ok');
    });
    const base = `http://127.0.0.1:${node.port}`;
    await get(`${base}/close`, { agent: pool });
    await get(`${base}/`, { agent: pool });
    expect(node.connections()).toBe(2);
    await get(`${base}/`, { agent: false });
    await get(`${base}/`, { agent: false });
    expect(node.connections()).toBe(4);
    // The pooled one is still there, and carries the next.
    await get(`${base}/`, { agent: pool });
    expect(node.connections()).toBe(4);
  });

  it('does not reuse a connection whose response body was given up or whose request asked to close', async () => {
    const pool = agent();
    const node = await countingHttpServer((_req, res) => res.end('x'.repeat(100_000)));
    const base = `http://127.0.0.1:${node.port}`;
    const first = request(`${base}/`, { agent: pool });
    const response = await inTime(first.response, 'the first response head');
    response.body.destroy();
    await get(`${base}/`, { agent: pool, headers: { Connection: 'close' } });
    await get(`${base}/`, { agent: pool });
    expect(node.connections()).toBe(3);
  });

  it('makes requests beyond maxConnectionsPerOrigin wait for a connection, then reuses it', async () => {
    const pool = agent({ maxConnectionsPerOrigin: 1 });
    const release = deferred();
    const order: string[] = [];
    const node = await countingHttpServer(async (req, res) => {
      order.push(req.url!);
      if (req.url === '/first') await release.promise;
      res.end(req.url);
    });
    const base = `http://127.0.0.1:${node.port}`;
    const first = get(`${base}/first`, { agent: pool });
    const second = request(`${base}/second`, { agent: pool });
    // Waiting for the one connection: it has none yet, and the server saw one request.
    expect(second.socket).toBeUndefined();
    expect(pool.connections.get(base)).toEqual({ busy: 1, idle: 0 });
    release.resolve();
    expect(await first).toBe('/first');
    const response = await inTime(second.response, 'the second response head');
    expect((await inTime(collect(response.body), 'the second body')).toString()).toBe('/second');
    expect(order).toEqual(['/first', '/second']);
    expect(node.connections()).toBe(1);
  });

  it('fails a request aborted while it waits for a connection with ABORTED, and serves the next', async () => {
    const pool = agent({ maxConnectionsPerOrigin: 1 });
    const release = deferred();
    const node = await countingHttpServer(async (req, res) => {
      if (req.url === '/slow') await release.promise;
      res.end('ok');
    });
    const base = `http://127.0.0.1:${node.port}`;
    const slow = get(`${base}/slow`, { agent: pool });
    const controller = new AbortController();
    const waiting = request(`${base}/`, { agent: pool, signal: controller.signal });
    controller.abort(new Error('changed my mind'));
    const outcome = await inTime(
      waiting.response.then(
        () => 'resolved',
        (error: unknown) => error,
      ),
      'the aborted response',
    );
    expect(codeOf(outcome)).toBe('ERR_H1_ABORTED');
    expect(((outcome as Error).cause as Error).message).toBe('changed my mind');
    release.resolve();
    expect(await slow).toBe('ok');
    expect(await get(`${base}/`, { agent: pool })).toBe('ok');
    expect(node.connections()).toBe(1);
  });

  it('closes idle connections after idleTimeout, and close() resolves once busy ones ended', async () => {
    const pool = agent({ idleTimeout: 30 });
    const closed = deferred();
    const node = await countingHttpServer();
    node.server.on('connection', (socket) => socket.once('close', () => closed.resolve()));
    await get(`http://127.0.0.1:${node.port}/`, { agent: pool });
    await inTime(closed.promise, 'the idle connection closing at idleTimeout');
    expect(pool.connections.size).toBe(0);

    const second = agent();
    const release = deferred();
    const busy = await countingHttpServer(async (_req, res) => {
      await release.promise;
      res.end('late');
    });
    const pending = get(`http://127.0.0.1:${busy.port}/`, { agent: second });
    // The request is on the wire once the server has its connection.
    await inTime(
      new Promise((resolve) => busy.server.once('request', resolve)),
      'the request arriving',
    );
    let drained = false;
    const closing = second.close().then(() => {
      drained = true;
    });
    expect(drained).toBe(false);
    release.resolve();
    expect(await pending).toBe('late');
    await inTime(closing, 'close() once the busy connection ended');
    expect(second.connections.size).toBe(0);
  });

  it('drops a pooled connection the server closed while it was idle, and the next request succeeds', async () => {
    const pool = agent();
    const node = await countingHttpServer();
    const serverSide = deferred<import('node:net').Socket>();
    node.server.once('connection', (socket) => serverSide.resolve(socket));
    await get(`http://127.0.0.1:${node.port}/`, { agent: pool });
    const socket = await inTime(serverSide.promise, 'the server side of the connection');
    const gone = deferred();
    socket.once('close', () => gone.resolve());
    socket.destroy();
    await inTime(gone.promise, 'the server closing its side');
    // The pool hears of the close on its next turn of the event loop.
    await inTime(
      (async () => {
        while (pool.connections.size > 0) await new Promise((r) => setImmediate(r));
      })(),
      'the pool dropping the closed connection',
    );
    expect(await get(`http://127.0.0.1:${node.port}/`, { agent: pool })).toBe('ok');
    expect(node.connections()).toBe(2);
  });

  it('hands over a Docker-attach style 101 (Upgrade: tcp) with the bytes sent right after it, and the connection leaves the pool', async () => {
    const pool = agent();
    const h1 = createServer((exchange) => {
      exchange.respond(101, { Upgrade: 'tcp', Connection: 'Upgrade' });
      const { socket } = exchange.detach();
      // The container's first output leaves at once, before the client could have asked.
      socket.write('stdout: ready\n');
      socket.on('data', (chunk: Buffer) => socket.write(`stdout: ${chunk}`));
    });
    h1Servers.push(h1);
    const { port } = await h1.listen();
    const origin = `http://127.0.0.1:${port}`;
    const exchange = request(`${origin}/containers/c1/attach?stream=1&stdin=1`, {
      method: 'POST',
      agent: pool,
      headers: { Upgrade: 'tcp', Connection: 'Upgrade' },
    });
    const { socket, head, response } = await inTime(exchange.hijack(), 'the 101 and its socket');
    expect(response.status).toBe(101);
    expect(pool.connections.has(origin)).toBe(false);
    let received = Buffer.from(head).toString();
    const wanted = 'stdout: ready\nstdout: ls\n';
    const echoed = new Promise<void>((resolve) => {
      const check = (): void => {
        if (received === wanted) resolve();
      };
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString();
        check();
      });
      check();
    });
    socket.write('ls\n');
    await inTime(echoed, `the attach stream (got ${JSON.stringify(received)})`);
    socket.destroy();
  });

  it('keeps one connection when each response body ends in a later read than its head', async () => {
    const pool = agent();
    const node = await countingHttpServer((_req, res) => {
      res.write('first ');
      setTimeout(() => res.end('last'), 10);
    });
    const origin = `http://127.0.0.1:${node.port}`;
    for (let i = 0; i < 6; i++) {
      const response = await inTime(
        request(`${origin}/${i}`, { agent: pool }).response,
        `response head ${i}`,
      );
      // Read as it flows ('data'), the way that ends the body inside the socket's own event.
      let text = '';
      await inTime(
        new Promise<void>((resolve, reject) => {
          response.body.on('data', (chunk: Uint8Array) => {
            text += Buffer.from(chunk).toString();
          });
          response.body.on('end', resolve);
          response.body.on('error', reject);
        }),
        `response body ${i}`,
      );
      expect(text).toBe('first last');
      // The pool hears of a connection it should not have kept on the next turn, if at all.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(node.connections()).toBe(1);
    expect(pool.connections.get(origin)).toEqual({ busy: 0, idle: 1 });
  });
});
