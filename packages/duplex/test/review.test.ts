// Review findings for @h1kit/duplex, each a test on real loopback sockets that states the
// behaviour the contract (ARCHITECTURE.md, issue 5, the package README) asks for. A test here
// that fails demonstrates a bug still present in src/.
import { spawn } from 'node:child_process';
import { getEventListeners, once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
} from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { enableHijack, request } from '@h1kit/duplex';
import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BOUND_MS,
  closeServer,
  collect,
  listen,
  type RawClient,
  rawClient,
  selfSignedCertificate,
  standaloneServers,
  statusLines,
  tick,
  within,
} from './helpers.js';

/** 'closed' once the server ended the connection, else 'open' after the bound. */
function closedWithin(client: RawClient): Promise<'closed' | 'open'> {
  return within(
    client
      .until(() => client.ended, 'the end')
      .then(
        () => 'closed' as const,
        () => 'closed' as const,
      ),
    BOUND_MS,
    'open' as const,
  );
}

const serve = standaloneServers();

const httpServers: Server[] = [];
afterEach(async () => {
  await Promise.all(httpServers.splice(0).map(closeServer));
});
function httpServer(listener?: RequestListener): Server {
  const server = listener ? createHttpServer(listener) : createHttpServer();
  httpServers.push(server);
  return server;
}

describe('review: enableHijack', () => {
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
        const [line] = (await once(child.stdout, 'data')) as [Buffer];
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

describe('review: DuplexExchange', () => {
  it('keeps a response the handler completed when the request body fails after it', async () => {
    const { port } = await serve((exchange) => {
      exchange.respond(200, { 'Content-Length': 5 }).end('early');
    });
    const client = await rawClient(port);
    // The chunk-size line is not hex: the body fails right after the head.
    client.write('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
    const text = await client.untilEnd();
    client.close();
    // The answer was complete before the fault: it goes out whole, then the connection closes.
    expect(text.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    expect(text.endsWith('\r\n\r\nearly')).toBe(true);
  });

  it('gives a handler that reads the body after ending its response all of it, or an error, never a silently cut body', async () => {
    let outcome: string | undefined;
    const { port } = await serve(async (exchange) => {
      exchange.respond(200, { 'Content-Length': 4 }).end('done');
      await tick();
      try {
        outcome = `body ${(await collect(exchange.body)).toString()}`;
      } catch (error) {
        outcome = `error ${(error as Error).message}`;
      }
    });
    const client = await rawClient(port);
    client.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello');
    await client.until((t) => t.endsWith('done'));
    client.write('world');
    await within(
      (async () => {
        while (outcome === undefined) await tick();
      })(),
      BOUND_MS,
      undefined,
    );
    client.close();
    expect(outcome).toMatch(/^(body helloworld|error .*)$/);
  });

  it('ends or fails the request body of a handler that answered before reading it, under Expect', async () => {
    let read: Promise<string> | undefined;
    const { port } = await serve((exchange) => {
      exchange.respond(200, { 'Content-Length': 5 }).end('early');
      // Full duplex: the answer first, then the body (the client sends it regardless).
      read = collect(exchange.body).then(
        (body) => `body ${body.toString()}`,
        (error: Error) => `error ${error.message}`,
      );
    });
    const client = await rawClient(port);
    client.write('POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
    await client.until((t) => t.endsWith('early'));
    client.write('hello');
    while (read === undefined) await tick();
    const outcome = await within(read, BOUND_MS, 'the body neither ended nor failed');
    client.close();
    expect(outcome).toMatch(/^(body hello|error .*)$/);
  });

  it('closes the connection when the handler destroys its response body', async () => {
    const { port } = await serve((exchange) => {
      const out = exchange.respond(200, { 'Content-Length': 10 });
      out.write('hello');
      out.destroy();
    });
    const client = await rawClient(port);
    client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    await client.until((t) => t.endsWith('hello'));
    // The response can never be completed: the client must not wait for the other 5 bytes.
    expect(await closedWithin(client)).toBe('closed');
    client.close();
  });
});

describe('review: createServer', () => {
  it('does not read the bytes after a 2xx answer to CONNECT as HTTP requests', async () => {
    const seen: string[] = [];
    const { port } = await serve((exchange) => {
      seen.push(`${exchange.request.method} ${exchange.request.target}`);
      exchange.respond(200).end();
    });
    const client = await rawClient(port);
    client.write(
      'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nGET /tunnelled HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    await client.until((t) => t.startsWith('HTTP/1.1 200 OK\r\n'));
    await closedWithin(client);
    client.close();
    // After 2xx the connection is a tunnel (RFC 9110 section 9.3.6): what follows is not HTTP.
    expect(seen).toEqual(['CONNECT example.com:443']);
  });

  it('refuses a head larger than maxHeadBytes whatever its segmentation', async () => {
    const { port } = await serve(
      (exchange) => {
        exchange.respond(200, { 'Content-Length': 0, Connection: 'close' }).end();
      },
      { maxHeadBytes: 16384 },
    );
    // 40 KiB of head, most of it whitespace before a field value, written in one piece.
    const head = `GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ${' '.repeat(40_000)}v\r\n\r\n`;
    const whole = await rawClient(port);
    whole.write(head);
    const inPieces = await rawClient(port);
    for (let at = 0; at < head.length; at += 1000) {
      inPieces.write(head.slice(at, at + 1000));
      await tick();
    }
    const answers = [await whole.untilEnd(), await inPieces.untilEnd()].map(
      (t) => statusLines(t)[0],
    );
    whole.close();
    inPieces.close();
    expect(answers).toEqual([
      'HTTP/1.1 431 Request Header Fields Too Large',
      'HTTP/1.1 431 Request Header Fields Too Large',
    ]);
  });
});

describe('review: request() client', () => {
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
      const response = await exchange.response;
      expect((await collect(response.body)).toString()).toBe('ok');
      await once(exchange.socket, 'close');
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
    await collect((await exchange.response).body);
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
    const req = await connected;
    exchange.destroy();
    // RFC 9110 section 9.3.6: a CONNECT request has no content; chunked framing on it would be
    // read as tunnel bytes by the proxy.
    expect(req.headers['transfer-encoding']).toBeUndefined();
    expect(req.headers['content-length']).toBeUndefined();
  });
});
