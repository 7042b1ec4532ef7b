import { spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
} from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type DuplexExchange,
  enableHijack,
  H1Error,
  type HijackedRequest,
  hijack,
} from '@h1kit/duplex';
import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { collect } from '../../../testkit/bytes.js';
import { upgradeRouting } from '../src/server/node-http.js';
import {
  BOUND_MS,
  closeServer,
  holdsWithin,
  httpServers,
  inTime,
  listen,
  rawClient,
  selfSignedCertificate,
  statusLines,
  TextReader,
  within,
} from './helpers.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
});

function track<T extends Server>(server: T): T {
  servers.push(server);
  return server;
}

const httpServer = httpServers();

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
  const [res] = (await inTime(once(req, 'response'), 'the response head')) as [IncomingMessage];
  res.setEncoding('latin1');
  const answers = new TextReader(res);
  for (let round = 1; round <= rounds; round++) {
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    req.write(`line ${round}\n`);
    await answers.until(`echo: line ${round}\n`);
  }
  req.end();
  return answers.end();
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
    const plain = await inTime(
      collect(
        (
          await inTime(
            once(httpRequest({ port, host: '127.0.0.1', path: '/' }).end(), 'response'),
            "node:http's answer",
          )
        )[0] as IncomingMessage,
      ),
      "the body of node:http's answer",
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

  it('sends one 100 Continue when the request is hijacked in the listener after node:http sent its own', async () => {
    // A regression: node:http answers Expect before emitting 'request', and the exchange of a
    // hijack() made there sent a second 100 Continue on its first read of the body.
    const server = httpServer((req, res) => {
      hijack(req, res).then(async (hijacked) => {
        const exchange = hijacked.exchange();
        const body = (await collect(exchange.body)).toString();
        exchange.respond(200, { 'Content-Length': body.length }).end(body);
      });
    });
    enableHijack(server);
    const port = await listen(server);
    const client = await rawClient(port);
    client.write('PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
    await client.until((t) => t.includes('100 Continue\r\n\r\n'));
    client.write('hello');
    const text = await client.until((t) => t.endsWith('hello'));
    expect(statusLines(text)).toEqual(['HTTP/1.1 100 Continue', 'HTTP/1.1 200 OK']);
    client.close();
  });

  it('sends the 100 Continue of a pipelined request hijacked in the listener once, after the earlier answer', async () => {
    // node:http queues the 100 Continue of a request behind an unfinished response: it goes out
    // once that response is done, and the exchange must neither repeat nor lose it.
    let finishSlow: (() => void) | undefined;
    const server = httpServer((req, res) => {
      if (req.url === '/slow') {
        finishSlow = () => res.end('slow');
        return;
      }
      hijack(req, res).then(async (hijacked) => {
        const exchange = hijacked.exchange();
        const body = (await collect(exchange.body)).toString();
        exchange.respond(200, { 'Content-Length': body.length }).end(body);
      });
    });
    enableHijack(server);
    const port = await listen(server);
    const client = await rawClient(port);
    client.write(
      'GET /slow HTTP/1.1\r\nHost: x\r\n\r\nPUT /take HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n',
    );
    expect(await holdsWithin(() => finishSlow !== undefined)).toBe(true);
    // Not answered before the earlier response is done: it still holds the connection.
    expect(client.text()).not.toContain('100 Continue');
    finishSlow!();
    await client.until((t) => t.includes('100 Continue\r\n\r\n'));
    client.write('hello');
    const text = await client.until((t) => t.endsWith('hello'));
    expect(statusLines(text)).toEqual([
      'HTTP/1.1 200 OK',
      'HTTP/1.1 100 Continue',
      'HTTP/1.1 200 OK',
    ]);
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
    await inTime(closed, 'the close of the server once destroyAll() cut the exchange');
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
    // The tunnel's answer, then the bytes sent with the head, echoed by the handler's pipe.
    const tunnel = 'HTTP/1.1 200 Connection Established\r\n\r\n';
    expect(await client.until((t) => t.endsWith('\r\n\r\nearly'), 'the early bytes')).toBe(
      `${tunnel}early`,
    );
    client.write(' late');
    expect(await client.until((t) => t.endsWith('early late'), 'the late bytes')).toBe(
      `${tunnel}early late`,
    );
    client.close();
  });

  // The README example, run in a process of its own: src bundled by esbuild, as scripts/build does.
  it('a request whose framing exchange() refuses does not crash a server written like the README example', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'h1kit-review-'));
    const src = (pkg: string) =>
      fileURLToPath(new URL(`../../${pkg}/src/index.ts`, import.meta.url));
    try {
      await build({
        entryPoints: [src('duplex')],
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        outfile: join(dir, 'duplex.mjs'),
        alias: {
          '@h1kit/headers': src('headers'),
          '@h1kit/chunked': src('chunked'),
          '@h1kit/bufio': src('bufio'),
          '@h1kit/errors': src('errors'),
        },
        logLevel: 'silent',
      });
      writeFileSync(
        join(dir, 'server.mjs'),
        `import { createServer } from 'node:http';
import { enableHijack } from './duplex.mjs';
const server = createServer((req, res) => res.end('ordinary\\n'));
enableHijack(
  server,
  (req) => req.url === '/echo',
  (hijacked) => {
    const exchange = hijacked.exchange();
    exchange.body.pipe(exchange.respond(200, { 'Content-Type': 'text/plain' }));
  },
);
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`,
      );
      const child = spawn(process.execPath, [join(dir, 'server.mjs')], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        const [line] = (await inTime(
          once(child.stdout, 'data'),
          'the port of the README server',
          5 * BOUND_MS,
        )) as [Buffer];
        const port = Number(line.toString().trim());
        const bad = await rawClient(port);
        bad.write('POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabc');
        expect(await bad.untilEnd()).toMatch(/^HTTP\/1.1 400 /);
        // The server must still be there for the next client.
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
        });
        const crashed = once(child, 'exit').then(
          () => `crashed: ${stderr.split('\n').find((line) => /Error/.test(line)) ?? stderr}`,
        );
        const answered = (async () => {
          const next = await rawClient(port);
          next.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
          const text = await next.until((t) => t.endsWith('ordinary\n')).catch(String);
          next.close();
          return text.endsWith('ordinary\n') ? 'answered' : `not answered: ${text}`;
        })().catch((error: Error) => `not answered: ${error.message}`);
        const result = await answered;
        const exit = result === 'answered' ? '' : await within(crashed, BOUND_MS, 'still running');
        expect({ result, exit }).toEqual({ result: 'answered', exit: '' });
      } finally {
        child.kill();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hands the connection over only after node:http answered every earlier request, checkContinue ones included', async () => {
    const server = httpServer((_req, res) => res.end('ordinary'));
    server.on('checkContinue', (req, res) => {
      // With 100 Continue sent the connection stays open; without it node:http closes it after
      // the final answer (and the hijacked request is then refused, see hijack.ts).
      res.writeContinue();
      req.resume();
      setTimeout(() => res.end('slow'), 50);
    });
    enableHijack(
      server,
      (req) => req.url === '/take',
      (hijacked) => {
        const exchange = hijacked.exchange();
        exchange.respond(200, { 'Content-Length': 6 }).end('hijack');
      },
    );
    const port = await listen(server);
    const client = await rawClient(port);
    client.write(
      'POST /slow HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\nGET /take HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    const text = await client.until((t) => t.includes('hijack'));
    client.close();
    // Both answered, in the order asked.
    expect(text).toContain('slow');
    expect(text.indexOf('slow')).toBeLessThan(text.indexOf('hijack'));
  });

  it('hijacked.exchange() frames the body from every field line, even past maxHeadersCount', async () => {
    const server = httpServer((_req, res) => res.end());
    const bodies: string[] = [];
    enableHijack(
      server,
      () => true,
      async (hijacked) => {
        const exchange = hijacked.exchange();
        const body = (await collect(exchange.body)).toString();
        bodies.push(body);
        exchange.respond(200, { 'Content-Length': body.length }).end(body);
      },
    );
    const port = await listen(server);
    const client = await rawClient(port);
    // 2000 empty fields (node:http's default maxHeadersCount) then the Content-Length: 8 KiB of
    // head, well inside the 16 KiB llhttp takes.
    client.write(
      `POST / HTTP/1.1\r\nHost: a\r\n${'a:\r\n'.repeat(2000)}Content-Length: 5\r\n\r\nhello`,
    );
    const text = await client.until((t) => t.includes('\r\n\r\n'));
    client.close();
    // Either the body arrives whole, or the request is refused; never read as empty.
    if (bodies.length > 0) expect(bodies).toEqual(['hello']);
    else expect(text).toMatch(/^HTTP\/1.1 4\d\d /);
  });

  it('refuses a hijacked HTTP/1.1 request without Host, as node:http and createServer() do', async () => {
    let handled = 0;
    const server = httpServer((_req, res) => res.end());
    enableHijack(
      server,
      () => true,
      (hijacked) => {
        handled++;
        try {
          hijacked.exchange().respond(200, { 'Content-Length': 0 }).end();
        } catch {
          // exchange() may refuse the request (and answer 400) by throwing, as for framing.
          handled--;
        }
      },
    );
    const port = await listen(server);
    const client = await rawClient(port);
    client.write('GET / HTTP/1.1\r\n\r\n');
    const text = await client.until((t) => t.includes('\r\n\r\n'));
    client.close();
    expect(text).toMatch(/^HTTP\/1.1 400 /);
    expect(handled).toBe(0);
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
    const [res] = (await inTime(
      once(
        httpRequest({ port, host: '127.0.0.1', method: 'POST', path: '/' }).end('body'),
        'response',
      ),
      "node:http's answer",
    )) as [IncomingMessage];
    expect((await inTime(collect(res), "the body of node:http's answer")).toString()).toBe(
      'served by node:http',
    );
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
    await inTime(
      collect(
        (
          await inTime(
            once(httpRequest({ port, host: '127.0.0.1' }).end(), 'response'),
            "node:http's answer",
          )
        )[0] as IncomingMessage,
      ),
      "the body of node:http's answer",
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
    await inTime(once(socket, 'open'), 'the WebSocket handshake of ws');
    const replies: string[] = [];
    socket.on('message', (data) => replies.push(String(data)));
    socket.send('one');
    // A hijacked full-duplex exchange while the WebSocket stays open.
    expect(await pingPong(port, '/duplex', 3)).toBe(expected(3));
    socket.send('two');
    while (replies.length < 2) await inTime(once(socket, 'message'), 'the echo of "two"');
    expect(replies).toEqual(['echo one', 'echo two']);
    socket.close();
    await inTime(once(socket, 'close'), 'the WebSocket closing handshake');
    await inTime(
      new Promise<void>((resolve) => wss.close(() => resolve())),
      'the close of the ws server (its clients gone)',
    );
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
    const [message] = (await inTime(once(socket, 'message'), 'the message of ws')) as [Buffer];
    expect(String(message)).toBe('from ws');
    socket.close();
    await inTime(once(socket, 'close'), 'the WebSocket closing handshake');
    await inTime(
      new Promise<void>((resolve) => wss.close(() => resolve())),
      'the close of the ws server (its clients gone)',
    );
  });

  it('leaves no listener behind: a later upgrade on a server without upgrade listeners is an ordinary request', async () => {
    const server = track(createHttpServer((req, res) => res.end(`request ${req.url}`)));
    const control = enableHijack(
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
    // The hold counted through the server's own listenerCount, which disable() gives back.
    control.disable();
    expect(server.listenerCount).toBe(EventEmitter.prototype.listenerCount);
  });
});
