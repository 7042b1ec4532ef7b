// Misuse is refused where it is made, with an H1Error that says what was wrong, and nothing
// that the serializer would refuse reaches the wire.
import { createServer as createHttpServer, type Server } from 'node:http';
import { type DuplexExchange, enableHijack, H1Error, hijack, request } from '@h1kit/duplex';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, collect, text, thrown } from '../../../testkit/bytes.js';
import { closeServer, inTime, listen, rawClient, standaloneServers } from './helpers.js';

const serve = standaloneServers();

/** Runs `use` on the exchange of one GET and returns what it threw; the exchange is then ended. */
async function misuse(use: (exchange: DuplexExchange) => unknown): Promise<unknown> {
  let caught: unknown = 'nothing thrown';
  let handled!: () => void;
  const ran = new Promise<void>((resolve) => {
    handled = resolve;
  });
  const { port } = await serve((exchange) => {
    caught = thrown(() => use(exchange));
    if (!exchange.response) exchange.respond(204).end();
    handled();
  });
  const client = await rawClient(port);
  client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  await inTime(ran, 'the handler');
  client.close();
  return caught;
}

describe('misuse of a DuplexExchange', () => {
  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('refuses a field value of %s in respond(), sending nothing', async (_what, value) => {
    const caught = await misuse((exchange) => exchange.respond(200, { 'X-A': value }));
    expect(caught).toBeInstanceOf(H1Error);
    expect(codeOf(caught)).toBe('ERR_H1_INVALID_FIELD_VALUE');
    expect((caught as Error).message).toMatch(/not a finite number/);
  });

  it('says a status given as a string is a string', async () => {
    const caught = await misuse((exchange) => exchange.respond('200' as unknown as number));
    expect(codeOf(caught)).toBe('ERR_H1_INVALID_STATUS');
    expect((caught as Error).message).toMatch(/string "200"/);
  });

  it('refuses bad trailer fields when they are set, not at end()', async () => {
    const caught = await misuse((exchange) => exchange.respond(200).setTrailers({ A: 'x\ny' }));
    expect(caught).toBeInstanceOf(H1Error);
    expect(codeOf(caught)).toBe('ERR_H1_INVALID_FIELD_VALUE');
  });

  it('hands over a detached tunnel neither paused nor flowing, as node:http does', async () => {
    let flowing: boolean | null | undefined;
    const { port } = await serve((exchange) => {
      exchange.respond(101, { Upgrade: 'echo', Connection: 'Upgrade' });
      const { socket } = exchange.detach();
      flowing = socket.readableFlowing;
      // A plain 'data' listener must start the flow by itself.
      socket.on('data', (chunk: Buffer) => socket.write(chunk));
    });
    const client = await rawClient(port);
    client.write('GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    await client.until((t) => t.includes('\r\n\r\n'));
    client.write('ping');
    await client.until((t) => t.endsWith('\r\n\r\nping'));
    expect(flowing).toBeNull();
    client.close();
  });
});

describe('misuse of hijack(req, res)', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(closeServer));
  });

  it('refuses a second hijack() of the same request, saying so', async () => {
    let second: unknown;
    const server = createHttpServer((req, res) => {
      const first = hijack(req, res);
      second = thrown(() => hijack(req, res));
      void first.then((hijacked) => hijacked.socket.end('HTTP/1.1 204 No Content\r\n\r\n'));
    });
    servers.push(server);
    enableHijack(server);
    const port = await listen(server);
    const client = await rawClient(port);
    client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(await client.untilEnd()).toMatch(/^HTTP\/1\.1 204 /);
    expect(codeOf(second)).toBe('ERR_H1_HIJACK_UNSAFE');
    expect((second as Error).message).toMatch(/already hijacked/);
    client.close();
  });
});

describe('misuse of request()', () => {
  it('refuses a write on the body of a GET, saying it has none, and the response still comes', async () => {
    const { port } = await serve((exchange) => {
      exchange.respond(200, { 'Content-Length': 2 }).end('ok');
    });
    const exchange = request(`http://127.0.0.1:${port}/`);
    const caught = thrown(() => exchange.body.write('stray'));
    expect(codeOf(caught)).toBe('ERR_H1_BODY_NOT_ALLOWED');
    expect((caught as Error).message).toMatch(/GET request has no body/);
    const response = await inTime(exchange.response, 'the response head');
    expect(text(await inTime(collect(response.body), 'the response body'))).toBe('ok');
  });

  it('fails only the write made after end(), not a response still coming', async () => {
    const { port } = await serve(async (exchange) => {
      const body = await collect(exchange.body);
      const out = exchange.respond(200);
      out.write('got ');
      setTimeout(() => out.end(text(body)), 50);
    });
    const exchange = request(`http://127.0.0.1:${port}/`, { method: 'POST' });
    exchange.body.end('data');
    // In the same tick as end(): the body is ending, not yet finished, as a careless caller has it.
    const late = inTime(
      new Promise<unknown>((resolve) => exchange.body.write('late', resolve)),
      'the late write callback',
    );
    const response = await inTime(exchange.response, 'the response head');
    expect(((await late) as { code?: string }).code).toBe('ERR_STREAM_WRITE_AFTER_END');
    expect(text(await inTime(collect(response.body), 'the response body'))).toBe('got data');
  });
});
