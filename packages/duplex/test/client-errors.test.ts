// What the client says when something fails, each failure an H1Error whose code names what
// failed (connect, TLS, head, body, timeout, abort) with Node's own error as its cause; its
// timeouts; Expect: 100-continue; and how it writes methods, URL credentials and Upgrade
// requests. Servers are real: node:http, node:https, and raw TCP servers that misbehave on cue.
import { once } from 'node:events';
import { createServer as createHttpsServer } from 'node:https';
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server,
  type Socket,
} from 'node:net';
import { request } from '@h1kit/duplex';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, collect } from '../../../testkit/bytes.js';
import { deferred, httpServers, inTime, listen, selfSignedCertificate } from './helpers.js';

const httpServer = httpServers();
const netServers: Server[] = [];
afterEach(async () => {
  for (const server of netServers.splice(0)) {
    await inTime(new Promise((resolve) => server.close(resolve)), 'the raw server close');
  }
});

/** A raw TCP server whose connections `onSocket` handles; resolves with its port. */
async function rawServer(onSocket: (socket: Socket) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket);
  });
  // Closing the server ends what its connections still hold.
  const close = server.close.bind(server);
  server.close = (callback) => {
    for (const socket of sockets) socket.destroy();
    return close(callback);
  };
  netServers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** What a promise rejected with, failing if it resolves or takes too long. */
async function rejection(promise: Promise<unknown>, what: string): Promise<Error> {
  const outcome = await inTime(
    promise.then(
      () => undefined,
      (error: unknown) => error as Error,
    ),
    what,
  );
  expect(outcome, `${what} should have failed`).toBeInstanceOf(Error);
  return outcome!;
}

/** Everything the raw server read up to the end of a head. */
function headOf(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      if (text.includes('\r\n\r\n')) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
  });
}

describe('client failures', () => {
  it("a string that is not a URL fails with INVALID_URL, not the URL constructor's TypeError", () => {
    // A regression: request('8080/x') threw a TypeError.
    for (const text of ['8080/x', 'http://[::1', '']) {
      let thrown: unknown;
      try {
        request(text);
      } catch (error) {
        thrown = error;
      }
      expect(codeOf(thrown)).toBe('ERR_H1_INVALID_URL');
    }
  });

  it('a refused connection fails with CONNECT_FAILED, the socket error as cause', async () => {
    const port = await rawServer(() => {});
    await inTime(new Promise((resolve) => netServers.pop()!.close(resolve)), 'closing the port');
    const exchange = request(`http://127.0.0.1:${port}/`, { agent: false });
    const error = await rejection(exchange.response, 'the response');
    expect(error.name).toBe('H1Error');
    expect(codeOf(error)).toBe('ERR_H1_CONNECT_FAILED');
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  it('a certificate the client does not trust fails with TLS_FAILED', async () => {
    const { key, cert } = selfSignedCertificate();
    const server = createHttpsServer({ key, cert }, (_req, res) => res.end('never'));
    server.on('tlsClientError', () => {});
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const error = await rejection(
        request(`https://127.0.0.1:${port}/`, { agent: false }).response,
        'the response',
      );
      expect(codeOf(error)).toBe('ERR_H1_TLS_FAILED');
      expect((error.cause as { code?: string }).code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
    } finally {
      server.closeAllConnections();
      await inTime(new Promise((resolve) => server.close(resolve)), 'the https server close');
    }
  });

  it('a server that closes without a head fails with INCOMPLETE_HEAD, one that sends garbage with INVALID_HEAD', async () => {
    const silent = await rawServer((socket) => {
      headOf(socket).then(() => socket.end());
    });
    const ended = await rejection(
      request(`http://127.0.0.1:${silent}/`).response,
      'the response from a server that closes',
    );
    expect(codeOf(ended)).toBe('ERR_H1_INCOMPLETE_HEAD');
    const garbage = await rawServer((socket) => {
      headOf(socket).then(() => socket.end('\x16\x03\x01 not http at all\r\n\r\n'));
    });
    const invalid = await rejection(
      request(`http://127.0.0.1:${garbage}/`).response,
      'the response from a server that sends garbage',
    );
    expect(codeOf(invalid)).toBe('ERR_H1_INVALID_HEAD');
  });

  it('times out a TLS handshake that never completes with CONNECT_TIMEOUT', async () => {
    const port = await rawServer(() => {});
    const error = await rejection(
      request(`https://127.0.0.1:${port}/`, { connectTimeout: 50, agent: false }).response,
      'the response',
    );
    expect(codeOf(error)).toBe('ERR_H1_CONNECT_TIMEOUT');
  });

  it('times out a response head that never comes with HEAD_TIMEOUT', async () => {
    const port = await rawServer(() => {});
    const exchange = request(`http://127.0.0.1:${port}/`, { headTimeout: 50 });
    const error = await rejection(exchange.response, 'the response');
    expect(codeOf(error)).toBe('ERR_H1_HEAD_TIMEOUT');
    expect(exchange.socket?.destroyed).toBe(true);
  });

  it('times out a silent response body with BODY_TIMEOUT, but not one that keeps moving', async () => {
    const stalls = await rawServer((socket) => {
      headOf(socket).then(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab'));
    });
    const response = await inTime(
      request(`http://127.0.0.1:${stalls}/`, { bodyTimeout: 50 }).response,
      'the response head',
    );
    expect(codeOf(await rejection(collect(response.body), 'the body'))).toBe('ERR_H1_BODY_TIMEOUT');

    const trickles = await rawServer((socket) => {
      headOf(socket).then(async () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n');
        for (const byte of 'moving') {
          await new Promise((resolve) => setTimeout(resolve, 25));
          socket.write(byte);
        }
      });
    });
    const moving = await inTime(
      request(`http://127.0.0.1:${trickles}/`, { bodyTimeout: 60 }).response,
      'the trickling response head',
    );
    expect((await inTime(collect(moving.body), 'the trickling body')).toString()).toBe('moving');
  });
});

describe('client Expect: 100-continue', () => {
  it('sends the head alone and the body only after 100 Continue (node:http checkContinue)', async () => {
    const server = httpServer();
    let expectField: string | undefined;
    server.on('checkContinue', async (req, res) => {
      expectField = req.headers.expect;
      res.writeContinue();
      const body = await collect(req);
      res.end(`got ${body}`);
    });
    const port = await listen(server);
    const exchange = request(`http://127.0.0.1:${port}/`, {
      method: 'PUT',
      expectContinue: { timeout: 10_000 },
    });
    exchange.body.end('payload');
    const response = await inTime(exchange.response, 'the response head');
    expect((await inTime(collect(response.body), 'the body')).toString()).toBe('got payload');
    expect(expectField).toBe('100-continue');
  });

  it('holds the body until 100 Continue arrives: the server had only the head when it answered', async () => {
    const seenAtContinue = deferred<string>();
    const port = await rawServer((socket) => {
      headOf(socket).then((head) => {
        seenAtContinue.resolve(head);
        socket.write('HTTP/1.1 100 Continue\r\n\r\n');
        let body = '';
        socket.on('data', (chunk: Buffer) => {
          body += chunk.toString('latin1');
          if (body.endsWith('0\r\n\r\n')) {
            socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
          }
        });
      });
    });
    const exchange = request(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      expectContinue: { timeout: 10_000 },
    });
    exchange.body.end('held back');
    const head = await inTime(seenAtContinue.promise, 'the head at the server');
    expect(head.endsWith('\r\n\r\n')).toBe(true);
    expect(head).toMatch(/\r\nExpect: 100-continue\r\n/);
    const response = await inTime(exchange.response, 'the response head');
    expect(response.status).toBe(200);
  });

  it('sends the body after the timeout when the server says nothing', async () => {
    const port = await rawServer((socket) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (text.endsWith('0\r\n\r\n')) {
          socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
        }
      });
    });
    const exchange = request(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      expectContinue: { timeout: 30 },
    });
    exchange.body.end('late body');
    const response = await inTime(exchange.response, 'the response head');
    expect((await inTime(collect(response.body), 'the body')).toString()).toBe('ok');
  });

  it('after a 417 the body refuses writes and end() with EXPECTATION_FAILED', async () => {
    const server = httpServer();
    server.on('checkContinue', (_req, res) => {
      res.writeHead(417, { 'Content-Length': 0 });
      res.end();
    });
    const port = await listen(server);
    const exchange = request(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      expectContinue: true,
    });
    const response = await inTime(exchange.response, 'the response head');
    expect(response.status).toBe(417);
    const written = deferred<unknown>();
    exchange.body.write('no', (error) => written.resolve(error));
    expect(codeOf(await inTime(written.promise, 'the write callback'))).toBe(
      'ERR_H1_EXPECTATION_FAILED',
    );
    const ended = deferred<unknown>();
    exchange.body.end((error?: Error | null) => ended.resolve(error));
    expect(codeOf(await inTime(ended.promise, 'the end callback'))).toBe(
      'ERR_H1_EXPECTATION_FAILED',
    );
    expect((await inTime(collect(response.body), 'the 417 body')).length).toBe(0);
  });
});

describe('client request heads', () => {
  it('upper-cases standard methods, sends custom ones as given', async () => {
    const lines: string[] = [];
    const port = await rawServer((socket) => {
      headOf(socket).then((head) => {
        lines.push(head.slice(0, head.indexOf('\r\n')));
        socket.end('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n');
      });
    });
    for (const method of ['get', 'Patch', 'Frob']) {
      const exchange = request(`http://127.0.0.1:${port}/m`, { method, body: false });
      expect((await inTime(exchange.response, `the answer to ${method}`)).status).toBe(204);
    }
    expect(lines).toEqual(['GET /m HTTP/1.1', 'PATCH /m HTTP/1.1', 'Frob /m HTTP/1.1']);
  });

  it('sends URL credentials as Basic auth, unless an Authorization field is given', async () => {
    const seen: Array<string | undefined> = [];
    const server = httpServer((req, res) => {
      seen.push(req.headers.authorization);
      res.end();
    });
    const port = await listen(server);
    await collect((await request(`http://us%40er:p%3Aw@127.0.0.1:${port}/`).response).body);
    await collect(
      (
        await request(`http://user:pw@127.0.0.1:${port}/`, {
          headers: { Authorization: 'Bearer t' },
        }).response
      ).body,
    );
    expect(seen).toEqual([`Basic ${Buffer.from('us@er:p:w').toString('base64')}`, 'Bearer t']);
  });

  it('sends no body framing with an Upgrade request unless asked', async () => {
    const head = deferred<string>();
    const port = await rawServer((socket) => {
      headOf(socket).then((text) => {
        head.resolve(text);
        socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      });
    });
    const exchange = request(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { Connection: 'Upgrade', Upgrade: 'tcp' },
    });
    expect(() => exchange.body.write('x')).toThrow(/has no body/);
    const text = await inTime(head.promise, 'the head at the server');
    expect(text).not.toMatch(/transfer-encoding|content-length/i);
    await inTime(exchange.response, 'the response');
  });
});
