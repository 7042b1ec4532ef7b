import { getEventListeners, once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { Transform } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { type ClientExchange, createServer, H1Error, type H1Server, request } from '@h1kit/duplex';
import { afterEach, describe, expect, it } from 'vitest';
import { collect } from '../../../testkit/bytes.js';
import {
  BOUND_MS,
  closeServer,
  forceClose,
  httpServers,
  inTime,
  listen,
  selfSignedCertificate,
  standaloneServers,
  TextReader,
  within,
} from './helpers.js';

const servers: Server[] = [];
const h1servers: H1Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
  await Promise.all(h1servers.splice(0).map(forceClose));
});
const serve = standaloneServers();
const httpServer = httpServers();

function lineEchoServer(): Server {
  const server = createHttpServer((req, res) => {
    const echo = new Transform({ transform: (chunk, _e, done) => done(null, `echo: ${chunk}`) });
    req.pipe(echo).pipe(res);
  });
  servers.push(server);
  return server;
}

async function pingPong(exchange: ClientExchange, rounds: number): Promise<string> {
  const response = await inTime(exchange.response, 'the response head');
  response.body.setEncoding('latin1');
  const answers = new TextReader(response.body);
  for (let round = 1; round <= rounds; round++) {
    exchange.body.write(`line ${round}\n`);
    await answers.until(`line ${round}\n`);
  }
  exchange.body.end();
  return answers.end();
}

describe('request(): the full-duplex client', () => {
  it('plays ping-pong with node:http: each line is written only after the answer to the last one was read', async () => {
    const port = await listen(lineEchoServer());
    // node:http answers its head only with the first body byte; ask for it with a first write.
    const exchange = request(`http://127.0.0.1:${port}/echo`, { method: 'POST' });
    exchange.body.write('line 0\n');
    const answers = await pingPong(exchange, 4);
    expect(answers).toBe(
      ['line 0', 'line 1', 'line 2', 'line 3', 'line 4'].map((l) => `echo: ${l}\n`).join(''),
    );
  });

  it('sends and receives trailers, and reads the response while the request body is open', async () => {
    const server = createServer(async (exchange) => {
      const out = exchange.respond(200);
      out.write('early\n');
      const body = await collect(exchange.body);
      out.setTrailers({
        'X-Got': `${body.length};${exchange.trailers.map(([n, v]) => `${n}=${v}`).join(',')}`,
      });
      out.end('late\n');
    });
    h1servers.push(server);
    const { port } = await inTime(server.listen(), 'listen() of the h1kit server');
    const exchange = request(`http://127.0.0.1:${port}/`, { method: 'PUT' });
    const response = await inTime(exchange.response, 'the response head');
    const first = await inTime(once(response.body, 'data'), 'the first piece of the response');
    expect(Buffer.from(first[0]).toString()).toBe('early\n');
    expect(exchange.body.writableEnded).toBe(false);
    exchange.body.setTrailers({ Checksum: 'abc' });
    exchange.body.end('12345');
    const rest = await inTime(collect(response.body), 'the rest of the response body');
    expect(rest.toString()).toBe('late\n');
    expect(response.trailers).toEqual([['X-Got', '5;Checksum=abc']]);
  });

  it('sends a Content-Length body when told its length, and no body for GET', async () => {
    const seen: string[] = [];
    const server = createServer(async (exchange) => {
      const body = await collect(exchange.body);
      seen.push(
        `${exchange.request.method} ${exchange.request.headers['content-length'] ?? '-'} ${exchange.request.headers['transfer-encoding'] ?? '-'} ${body}`,
      );
      exchange.respond(204).end();
    });
    h1servers.push(server);
    const { port } = await inTime(server.listen(), 'listen() of the h1kit server');
    const put = request(`http://127.0.0.1:${port}/`, {
      method: 'PUT',
      headers: { 'Content-Length': 3 },
    });
    put.body.end('abc');
    expect((await inTime(put.response, 'the answer to the PUT')).status).toBe(204);
    const get = request(`http://127.0.0.1:${port}/`);
    const response = await inTime(get.response, 'the answer to the GET');
    expect((await inTime(collect(response.body), 'the body of the GET')).length).toBe(0);
    expect(seen).toEqual(['PUT 3 - abc', 'GET - - ']);
  });

  it('reports 1xx responses and takes the connection over after a 101', async () => {
    const server = createHttpServer();
    servers.push(server);
    server.on('upgrade', (_req, socket, head) => {
      socket.write(
        'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nhello from the other protocol',
      );
      socket.write(head);
      socket.pipe(socket);
    });
    const port = await listen(server);
    const exchange = request(`http://127.0.0.1:${port}/`, {
      headers: { Upgrade: 'echo', Connection: 'Upgrade' },
    });
    const hints: number[] = [];
    exchange.on('informational', (head) => hints.push(head.status));
    const { socket, head, response } = await inTime(exchange.hijack(), 'the 101 and its socket');
    expect(response.status).toBe(101);
    expect(hints).toEqual([103]);
    let received = Buffer.from(head).toString();
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
    });
    socket.write(' and back');
    while (!received.endsWith(' and back')) {
      await inTime(
        once(socket, 'data'),
        `the echo of " and back" (got ${JSON.stringify(received)})`,
      );
    }
    expect(received).toBe('hello from the other protocol and back');
    socket.destroy();
  });

  it('speaks TLS', async () => {
    const { key, cert } = selfSignedCertificate();
    const server = createHttpsServer({ key, cert }, (req, res) => req.pipe(res));
    servers.push(server);
    const port = await listen(server);
    const exchange = request(`https://127.0.0.1:${port}/`, { method: 'POST', tls: { ca: cert } });
    exchange.body.end('secret');
    const response = await inTime(exchange.response, 'the response head over TLS');
    expect((await inTime(collect(response.body), 'the response body over TLS')).toString()).toBe(
      'secret',
    );
  });

  it('fails the response body with H1Error when the server closes mid-body, and rejects a malformed head', async () => {
    const cut = createNetServer((socket) => {
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    });
    cut.listen(0, '127.0.0.1');
    await once(cut, 'listening');
    const exchange = request(`http://127.0.0.1:${(cut.address() as { port: number }).port}/`);
    const response = await inTime(exchange.response, 'the head of the cut response');
    await inTime(
      expect(collect(response.body)).rejects.toBeInstanceOf(H1Error),
      'the failure of the cut body',
    );

    const bad = createNetServer((socket) => {
      socket.end('HTTP/1.1 200 OK\r\nBad Header\r\n\r\n');
    });
    bad.listen(0, '127.0.0.1');
    await once(bad, 'listening');
    const broken = request(`http://127.0.0.1:${(bad.address() as { port: number }).port}/`);
    await inTime(
      expect(broken.response).rejects.toMatchObject({ code: 'ERR_H1_INVALID_HEAD' }),
      'the refusal of the malformed head',
    );
    cut.close();
    bad.close();
  });

  it('sends nothing and rejects when its signal is already aborted', async () => {
    let requests = 0;
    const { port } = await serve((exchange) => {
      requests++;
      exchange.respond(204).end();
    });
    const exchange = request(`http://127.0.0.1:${port}/`, { signal: AbortSignal.abort() });
    const outcome = await within(
      exchange.response.then(
        () => 'resolved',
        () => 'rejected',
      ),
      BOUND_MS,
      'pending',
    );
    exchange.destroy();
    expect({ outcome, requests }).toEqual({ outcome: 'rejected', requests: 0 });
  });

  it('removes its abort listener from the signal once the exchange is over', async () => {
    const { port } = await serve((exchange) => {
      exchange.respond(200, { 'Content-Length': 2 }).end('ok');
    });
    const controller = new AbortController();
    for (let i = 0; i < 3; i++) {
      const exchange = request(`http://127.0.0.1:${port}/`, { signal: controller.signal });
      const response = await inTime(exchange.response, `the response head ${i + 1}`);
      expect((await inTime(collect(response.body), `the response body ${i + 1}`)).toString()).toBe(
        'ok',
      );
      // The body's end ended the exchange: its connection went back to the pool.
    }
    // A long-lived signal (one per page, per job) must not collect one listener per request.
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('sends no server name (SNI) for an IP-literal https: URL', async () => {
    const { key, cert } = selfSignedCertificate();
    let servername: string | false | null | undefined;
    const { port } = await serve(
      (exchange) => {
        servername = (exchange.socket as TLSSocket).servername;
        exchange.respond(204).end();
      },
      { tls: { key, cert } },
    );
    const exchange = request(`https://127.0.0.1:${port}/`, { tls: { ca: cert } });
    await inTime(
      collect((await inTime(exchange.response, 'the response head over TLS')).body),
      'the response body over TLS',
    );
    // RFC 6066 section 3: "Literal IPv4 and IPv6 addresses are not permitted in HostName".
    expect(servername).toBeFalsy();
  });

  it('sends a CONNECT request without body framing', async () => {
    const server = httpServer();
    const connected = new Promise<IncomingMessage>((resolve) => {
      server.on('connect', (req: IncomingMessage, socket) => {
        socket.on('error', () => {});
        socket.end('HTTP/1.1 200 Connection Established\r\n\r\n');
        resolve(req);
      });
    });
    const port = await listen(server);
    const exchange = request(`http://127.0.0.1:${port}/`, { method: 'CONNECT' });
    const req = await inTime(connected, 'the CONNECT request at node:http');
    exchange.destroy();
    // RFC 9110 section 9.3.6: a CONNECT request has no content; chunked framing on it would be
    // read as tunnel bytes by the proxy.
    expect(req.headers['transfer-encoding']).toBeUndefined();
    expect(req.headers['content-length']).toBeUndefined();
  });

  it('client: a response whose small body is not read still completes, and a connection of its own closes', async () => {
    const { port } = await serve((exchange) => {
      exchange.respond(200, { 'Content-Length': 2 }).end('hi');
    });
    const exchange = request(`http://127.0.0.1:${port}/`, { agent: false });
    try {
      const response = await inTime(exchange.response, 'the response head');
      expect(response.status).toBe(200);
      const closed = once(exchange.socket!, 'close').then(() => 'closed');
      expect(await within(closed, BOUND_MS, 'still open')).toBe('closed');
      expect(response.body.complete).toBe(true);
    } finally {
      exchange.destroy();
    }
  });
});
