// @h1kit/fastify against a real fastify 5 app on 127.0.0.1, driven by fetch (duplex: 'half'),
// curl and raw sockets: duplex routes run after fastify's hooks, use fastify's routing, survive
// its body parsers, report their errors, hand the connection back and drain on close.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { DuplexErrorCode, H1Error } from '@h1kit/duplex';
import h1kitFastify from '@h1kit/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { inTime } from '../../../testkit/bounded.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  // An exchange stuck by a failed test would hold close() (it drains): a bounded wait says so.
  await inTime(Promise.all(apps.splice(0).map((app) => app.close())), 'every app closed');
});

/** Every piece of the body answered upper-cased as soon as it arrives. */
async function upper(exchange: import('@h1kit/duplex').DuplexExchange): Promise<void> {
  const out = exchange.respond(200, { 'Content-Type': 'text/plain' });
  for await (const piece of exchange.body) out.write(Buffer.from(piece).toString().toUpperCase());
  out.end();
}

async function start(setup: (app: FastifyInstance) => void | Promise<void>): Promise<string> {
  const app = Fastify();
  apps.push(app);
  await app.register(h1kitFastify);
  await setup(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address() as { port: number };
  return `http://127.0.0.1:${address.port}`;
}

/** A request body the test writes piece by piece, for fetch with `duplex: 'half'`. */
function pushBody(): {
  stream: ReadableStream<Uint8Array>;
  push: (text: string) => void;
  end: () => void;
} {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({
    start: (c) => {
      controller = c;
    },
  });
  return {
    stream,
    push: (text) => controller.enqueue(new TextEncoder().encode(text)),
    end: () => controller.close(),
  };
}

/** Reads a fetch response body until `want` has arrived, failing with what came otherwise. */
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

/** A raw connection collecting what the server sends. */
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

describe('@h1kit/fastify duplex routes', () => {
  it('answers each piece of a fetch upload while it is still being sent (duplex: half)', async () => {
    const base = await start((app) => {
      app.duplex({ method: 'POST', url: '/upper', handler: upper });
    });
    const body = pushBody();
    // undici sends the request head with the first piece of the body, and fetch resolves with the
    // response head: the first piece goes before the wait.
    body.push('hello ');
    const response = await inTime(
      fetch(`${base}/upper`, { method: 'POST', body: body.stream, duplex: 'half' } as RequestInit),
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

  it('streams through curl, routed by fastify with the query string', async () => {
    let query: unknown;
    const base = await start((app) => {
      app.duplex({
        method: 'PUT',
        url: '/upper',
        handler: (exchange, request) => {
          query = request.query;
          return upper(exchange);
        },
      });
    });
    // `-T .` reads standard input without blocking, so curl prints answers while it uploads; it
    // sends Expect: 100-continue, answered once by node:http before the hijack.
    const curl = spawn('curl', ['-sS', '-N', '-T', '.', `${base}/upper?x=1`], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
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
      expect(query).toEqual({ x: '1' });
    } finally {
      curl.kill();
    }
  });

  it("runs fastify's async hooks first, which see every header and may refuse the request", async () => {
    const order: string[] = [];
    const base = await start((app) => {
      app.addHook('onRequest', async (request, reply) => {
        await sleep(10);
        order.push(
          `onRequest ${request.headers['content-type']} ${request.headers['content-length']}`,
        );
        if (request.headers.authorization !== 'Bearer yes') {
          await reply.code(401).send({ error: 'who are you' });
        }
      });
      app.addHook('preValidation', async (request) => {
        order.push(`preValidation ${request.headers['content-type']}`);
      });
      app.addHook('preHandler', async () => {
        await sleep(10);
        order.push('preHandler');
      });
      app.duplex({
        method: 'POST',
        url: '/upper',
        handler: (exchange) => {
          order.push('handler');
          return upper(exchange);
        },
      });
    });
    // application/json with a body that is not JSON: fastify's parser never sees it.
    const headers = { 'Content-Type': 'application/json', 'Content-Length': '9' };
    const refused = await fetch(`${base}/upper`, { method: 'POST', headers, body: 'not json!' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('connection')).toBe('close');
    expect(await refused.json()).toEqual({ error: 'who are you' });
    expect(order).toEqual(['onRequest application/json 9']);
    order.length = 0;
    const served = await fetch(`${base}/upper`, {
      method: 'POST',
      headers: { ...headers, Authorization: 'Bearer yes' },
      body: 'not json!',
    });
    expect(await served.text()).toBe('NOT JSON!');
    expect(order).toEqual([
      'onRequest application/json 9',
      'preValidation application/json',
      'preHandler',
      'handler',
    ]);
  });

  it('gives the connection back to fastify after a clean exchange, and leaves other routes alone', async () => {
    const base = await start((app) => {
      app.post('/json', async (request) => ({ got: request.body }));
      app.duplex({ method: 'POST', url: '/upper', handler: upper });
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
    const app = Fastify();
    apps.push(app);
    await app.register(h1kitFastify, {
      onError: (error, request) => failures.push([(error as Error).message, request.url]),
    });
    app.duplex({
      method: 'POST',
      url: '/fail',
      handler: async () => {
        throw new Error('handler broke');
      },
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const response = await fetch(`http://127.0.0.1:${port}/fail?y=2`, {
      method: 'POST',
      body: 'x',
    });
    expect(response.status).toBe(500);
    await response.arrayBuffer();
    expect(failures).toEqual([['handler broke', '/fail?y=2']]);
  });

  it("logs a handler's failure through fastify's logger by default", async () => {
    const lines: Array<{ msg?: string; err?: { message?: string }; reqId?: string }> = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(JSON.parse(chunk.toString()));
        callback();
      },
    });
    const app = Fastify({ logger: { stream, level: 'info' } });
    apps.push(app);
    await app.register(h1kitFastify);
    app.duplex({
      method: 'POST',
      url: '/fail',
      handler: async () => {
        throw new Error('handler broke');
      },
    });
    app.duplex({ method: 'POST', url: '/upper', handler: upper });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const failed = await fetch(`http://127.0.0.1:${port}/fail`, { method: 'POST', body: 'x' });
    expect(failed.status).toBe(500);
    await failed.arrayBuffer();
    const served = await fetch(`http://127.0.0.1:${port}/upper`, { method: 'POST', body: 'ok' });
    expect(await served.text()).toBe('OK');
    const failure = lines.find((line) => line.msg === 'duplex route failed');
    expect(failure?.err?.message).toBe('handler broke');
    // Logged with the request's own logger: the line carries fastify's request id.
    expect(failure?.reqId).toMatch(/^req-/);
    await inTime(
      (async () => {
        while (!lines.some((line) => line.msg === 'duplex exchange completed')) await sleep(5);
      })(),
      'the completed exchange logged',
    );
  });

  it('drains on close: an exchange in flight runs to its end before app.close() resolves', async () => {
    const app = Fastify();
    apps.push(app);
    await app.register(h1kitFastify);
    app.duplex({ method: 'POST', url: '/upper', handler: upper });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const body = pushBody();
    body.push('one ');
    const response = await inTime(
      fetch(`http://127.0.0.1:${port}/upper`, {
        method: 'POST',
        body: body.stream,
        duplex: 'half',
      } as RequestInit),
      'the response head',
    );
    const reader = response.body!.getReader();
    const seen = { text: '' };
    await readUntil(reader, seen, 'ONE ');
    let closed = false;
    const closing = app.close().then(() => {
      closed = true;
    });
    await sleep(50);
    expect(closed).toBe(false);
    body.push('two');
    await readUntil(reader, seen, 'TWO');
    body.end();
    expect((await reader.read()).done).toBe(true);
    await inTime(closing, 'app.close() once the exchange ended');
    expect(seen.text).toBe('ONE TWO');
  });

  it('refuses at registration what would let node:http read a body first', async () => {
    const early = Fastify();
    apps.push(early);
    early.addHook('onRequest', async () => {});
    early.register(h1kitFastify);
    const error = await early.ready().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(H1Error);
    expect((error as H1Error).code).toBe(DuplexErrorCode.HIJACK_UNSAFE);
    expect((error as H1Error).message).toMatch(/before any onRequest hook/);

    const sibling = Fastify();
    apps.push(sibling);
    let routeError: unknown;
    // A context created before the plugin was registered does not run its hooks.
    sibling.register(async (child) => {
      child.addHook('onRequest', async () => {});
      await child.after();
      try {
        (child as FastifyInstance).duplex({ method: 'POST', url: '/x', handler: upper });
      } catch (e) {
        routeError = e;
      }
    });
    await sibling.register(h1kitFastify);
    await sibling.ready();
    expect(routeError).toBeInstanceOf(Error);
    expect(sibling.hasRoute({ method: 'POST', url: '/x' })).toBe(false);
  });

  it('refuses a body schema on a duplex route', async () => {
    const app = Fastify();
    apps.push(app);
    await app.register(h1kitFastify);
    expect(() =>
      app.duplex({
        method: 'POST',
        url: '/x',
        schema: { body: { type: 'object' } } as never,
        handler: upper,
      }),
    ).toThrow(/no parsed body/);
  });
});
