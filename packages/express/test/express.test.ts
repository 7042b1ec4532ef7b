// @h1kit/express against a real express 5 app on 127.0.0.1, driven by fetch (duplex: 'half'),
// curl and raw sockets: duplex routes run after async middleware, are routed by express, survive
// its body parsers, report their errors, hand the connection back and drain on close.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DuplexErrorCode, type DuplexExchange, H1Error } from '@h1kit/duplex';
import { type ExpressDuplex, h1kitExpress } from '@h1kit/express';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { inTime } from '../../../testkit/bounded.js';

const servers: Server[] = [];
afterEach(async () => {
  await inTime(
    Promise.all(
      servers.splice(0).map(
        (server) =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      ),
    ),
    'every server closed',
  );
});

/** Every piece of the body answered upper-cased as soon as it arrives. */
async function upper(exchange: DuplexExchange): Promise<void> {
  const out = exchange.respond(200, { 'Content-Type': 'text/plain' });
  for await (const piece of exchange.body) out.write(Buffer.from(piece).toString().toUpperCase());
  out.end();
}

/** An async auth middleware, as a session or token lookup would be. */
async function auth(req: Request, res: Response, next: NextFunction): Promise<void> {
  await sleep(10);
  if (req.headers.authorization !== 'Bearer yes') {
    res.status(401).json({ error: 'who are you' });
    return;
  }
  next();
}

async function start(
  setup: (app: Express, duplex: ExpressDuplex) => void,
): Promise<{ base: string; duplex: ExpressDuplex; server: Server }> {
  const app = express();
  const duplex = h1kitExpress(app);
  setup(app, duplex);
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { base: `http://127.0.0.1:${port}`, duplex, server };
}

/** A request body the test writes piece by piece, for fetch with `duplex: 'half'`. */
function pushBody() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({
    start: (c) => {
      controller = c;
    },
  });
  return {
    stream,
    push: (text: string) => controller.enqueue(new TextEncoder().encode(text)),
    end: () => controller.close(),
  };
}

async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  seen: { text: string },
  want: string,
): Promise<void> {
  while (!seen.text.includes(want)) {
    const { value, done } = await inTime(reader.read(), `"${want}" in the response`);
    if (done)
      throw new Error(`the response ended before "${want}"; got ${JSON.stringify(seen.text)}`);
    seen.text += new TextDecoder().decode(value);
  }
}

async function raw(
  base: string,
): Promise<{ socket: Socket; text: () => string; ended: Promise<void> }> {
  const socket = connect({ port: Number(new URL(base).port), host: '127.0.0.1' });
  await once(socket, 'connect');
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
  });
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  return { socket, text: () => received, ended };
}

describe('@h1kit/express duplex routes', () => {
  it('answers each piece of a fetch upload while it is still being sent, behind async middleware and express.json()', async () => {
    const { base } = await start((app, duplex) => {
      app.use(express.json());
      duplex.route({ method: 'POST', path: '/upper', middleware: [auth], handler: upper });
    });
    const body = pushBody();
    body.push('hello ');
    const response = await inTime(
      fetch(`${base}/upper`, {
        method: 'POST',
        body: body.stream,
        duplex: 'half',
        headers: { Authorization: 'Bearer yes', 'Content-Type': 'application/json' },
      } as RequestInit),
      'the response head',
    );
    const reader = response.body!.getReader();
    const seen = { text: '' };
    await readUntil(reader, seen, 'HELLO ');
    // The second piece is sent only after the first one was answered.
    body.push('world');
    await readUntil(reader, seen, 'WORLD');
    body.end();
    expect((await reader.read()).done).toBe(true);
    expect(seen.text).toBe('HELLO WORLD');
  });

  it('streams through curl, routed by express with params and the query string', async () => {
    let seen: unknown;
    const { base } = await start((_app, duplex) => {
      duplex.route({
        method: 'PUT',
        path: '/files/:name',
        handler: (exchange, req) => {
          seen = { params: req.params, query: req.query, type: req.headers['content-type'] };
          return upper(exchange);
        },
      });
    });
    // `-T .` reads standard input without blocking, so curl prints answers while it uploads.
    const curl = spawn(
      'curl',
      ['-sS', '-N', '-T', '.', '-H', 'Content-Type: text/plain', `${base}/files/a.txt?x=1`],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    curl.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = once(curl, 'close');
    try {
      curl.stdin.write('first line\n');
      await inTime(
        (async () => {
          while (!out.includes('FIRST LINE')) await sleep(5);
        })(),
        'the answer to the first line before the second is sent',
      );
      curl.stdin.end('second line\n');
      const [code] = await inTime(exited, 'curl to exit');
      expect(code).toBe(0);
      expect(out).toBe('FIRST LINE\nSECOND LINE\n');
      // The handler sees the body fields as sent, although body parsers did not.
      expect(seen).toEqual({ params: { name: 'a.txt' }, query: { x: '1' }, type: 'text/plain' });
    } finally {
      curl.kill();
    }
  });

  it('lets the middleware refuse through express, and hides the body from every parser before the handler', async () => {
    const parsed: unknown[] = [];
    const { base } = await start((app, duplex) => {
      app.use(express.json(), express.text(), express.raw({ type: '*/*' }));
      app.use((req, _res, next) => {
        parsed.push(req.body);
        next();
      });
      duplex.route({ method: 'POST', path: '/upper', middleware: [auth], handler: upper });
      app.post('/json', (req, res) => {
        res.json({ got: req.body });
      });
    });
    // application/json with a body that is not JSON: express.json() never sees it.
    const headers = { 'Content-Type': 'application/json', 'Content-Length': '9' };
    const refused = await fetch(`${base}/upper`, { method: 'POST', headers, body: 'not json!' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('connection')).toBe('close');
    expect(await refused.json()).toEqual({ error: 'who are you' });
    const served = await fetch(`${base}/upper`, {
      method: 'POST',
      headers: { ...headers, Authorization: 'Bearer yes' },
      body: 'not json!',
    });
    expect(await served.text()).toBe('NOT JSON!');
    expect(parsed).toEqual([undefined, undefined]);
    // An ordinary route still parses its body.
    const json = await fetch(`${base}/json`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"a":1}',
    });
    expect(await json.json()).toEqual({ got: { a: 1 } });
  });

  it('gives the connection back to express after a clean exchange', async () => {
    const { base } = await start((app, duplex) => {
      app.use(express.json());
      duplex.route({ method: 'POST', path: '/upper', handler: upper });
      app.post('/json', (req, res) => {
        res.json({ got: req.body });
      });
    });
    const client = await raw(base);
    client.socket.write(
      'POST /upper HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc' +
        'POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\nConnection: close\r\n\r\n{"a":1}',
    );
    await inTime(client.ended, 'both responses and the close');
    const text = client.text();
    expect(text.match(/HTTP\/1\.1 \d+/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200']);
    expect(text).toContain('ABC');
    expect(text.endsWith('{"got":{"a":1}}')).toBe(true);
  });

  it("reports a handler's failure to onError and answers 500", async () => {
    const failures: unknown[] = [];
    const app = express();
    const duplex = h1kitExpress(app, {
      onError: (error, req) => failures.push([error.message, req.originalUrl]),
    });
    duplex.route({
      method: 'POST',
      path: '/fail',
      handler: async () => {
        throw new Error('handler broke');
      },
    });
    const server = app.listen(0, '127.0.0.1');
    servers.push(server);
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const response = await fetch(`http://127.0.0.1:${port}/fail?y=2`, {
      method: 'POST',
      body: 'x',
    });
    expect(response.status).toBe(500);
    await response.arrayBuffer();
    expect(failures).toEqual([['handler broke', '/fail?y=2']]);
  });

  it('works on a server made with http.createServer(app) once attached, and says what is missing otherwise', async () => {
    const errors: string[] = [];
    const app = express();
    const duplex = h1kitExpress(app);
    duplex.route({ method: 'POST', path: '/upper', handler: upper });
    app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
      errors.push(error.message);
      res.status(500).end('not attached');
    });
    const unattached = createServer(app);
    const attached = createServer(app);
    duplex.attach(attached);
    const ports: number[] = [];
    for (const server of [unattached, attached]) {
      servers.push(server);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      ports.push((server.address() as { port: number }).port);
    }
    const failed = await fetch(`http://127.0.0.1:${ports[0]}/upper`, { method: 'POST', body: 'x' });
    expect(failed.status).toBe(500);
    expect(await failed.text()).toBe('not attached');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/duplex\.attach\(server\)/);
    const served = await fetch(`http://127.0.0.1:${ports[1]}/upper`, {
      method: 'POST',
      body: 'ok',
    });
    expect(await served.text()).toBe('OK');
  });

  it('drains on close: an exchange in flight runs to its end before duplex.close() resolves', async () => {
    const { base, duplex } = await start((_app, d) => {
      d.route({ method: 'POST', path: '/upper', handler: upper });
    });
    const body = pushBody();
    body.push('one ');
    const response = await inTime(
      fetch(`${base}/upper`, { method: 'POST', body: body.stream, duplex: 'half' } as RequestInit),
      'the response head',
    );
    const reader = response.body!.getReader();
    const seen = { text: '' };
    await readUntil(reader, seen, 'ONE ');
    let closed = false;
    const closing = duplex.close().then(() => {
      closed = true;
    });
    await sleep(50);
    expect(closed).toBe(false);
    // A new duplex request while closing is refused.
    const late = await fetch(`${base}/upper`, { method: 'POST', body: 'late' });
    expect(late.status).toBe(503);
    await late.arrayBuffer();
    body.push('two');
    await readUntil(reader, seen, 'TWO');
    body.end();
    expect((await reader.read()).done).toBe(true);
    await inTime(closing, 'duplex.close() once the exchange ended');
    expect(seen.text).toBe('ONE TWO');
  });

  it('refuses at registration what would let node:http read a body first, and routes it cannot serve', () => {
    const late = express();
    late.use((_req, _res, next) => next());
    const error = (() => {
      try {
        h1kitExpress(late);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(H1Error);
    expect((error as H1Error).code).toBe(DuplexErrorCode.HIJACK_UNSAFE);
    expect((error as H1Error).message).toMatch(/before any app\.use\(\) or route/);

    const app = express();
    const duplex = h1kitExpress(app);
    expect(() => h1kitExpress(app)).toThrow(/already called/);
    expect(() => duplex.route({ method: 'OPTIONS' as never, path: '/x', handler: upper })).toThrow(
      H1Error,
    );
  });
});
