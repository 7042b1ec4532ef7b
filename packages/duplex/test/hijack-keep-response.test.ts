// hijack(req, res, { keepResponse: true }): what a framework whose hooks run after the hijack
// needs. The request is taken at header time, yet `res` can still refuse it (a hook's 401); when
// nothing refused it, the exchange takes the connection as with any hijack.
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DuplexErrorCode,
  enableHijack,
  H1Error,
  type HijackedRequest,
  hideBodyFields,
  hijack,
} from '@h1kit/duplex';
import { afterEach, describe, expect, it } from 'vitest';
import { closeServer, inTime, listen, rawClient, statusLines } from './helpers.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
});

/**
 * A node:http server whose /held requests are hijacked with keepResponse, then given to `later`
 * after a pause (as async hooks would take); everything else is answered by node:http.
 */
async function server(
  later: (
    req: IncomingMessage,
    res: import('node:http').ServerResponse,
    held: Promise<HijackedRequest>,
  ) => void,
): Promise<number> {
  const http = createHttpServer((req, res) => {
    if (req.url !== '/held') {
      res.end(`node ${req.url}`);
      return;
    }
    const held = hijack(req, res, { keepResponse: true });
    held.catch(() => {});
    setTimeout(() => later(req, res, held), 20);
  });
  servers.push(http);
  enableHijack(http);
  return listen(http);
}

describe('hijack with keepResponse', () => {
  it('lets the response refuse the request after the hijack, then closes gracefully', async () => {
    const taken: unknown[] = [];
    const port = await server(async (_req, res, held) => {
      res.writeHead(401, { 'Content-Length': 2 });
      res.end('no');
      const hijacked = await held;
      taken.push(hijacked.answered);
      try {
        hijacked.exchange();
      } catch (error) {
        taken.push((error as H1Error).code);
      }
    });
    const client = await rawClient(port);
    const errors: Error[] = [];
    client.socket.on('error', (error) => errors.push(error));
    // The client sends its whole body and reads nothing for a while: the 401 waits in its
    // receive buffer while the body the server never read keeps arriving there. Destroying the
    // socket then would reset the connection, and the reset throws the unread answer away.
    client.socket.pause();
    client.write('POST /held HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n');
    client.write(Buffer.alloc(4_000_000, 0x61));
    await sleep(300);
    client.socket.resume();
    const text = await client.untilEnd();
    expect(statusLines(text)).toEqual(['HTTP/1.1 401 Unauthorized']);
    expect(text).toMatch(/\r\nConnection: close\r\n/i);
    expect(errors).toEqual([]);
    expect(taken).toEqual([true, DuplexErrorCode.HIJACKED]);
    client.close();
  });

  it('closes the connection after an answer that asked for keep-alive itself', async () => {
    const port = await server((_req, res) => {
      res.writeHead(403, { Connection: 'keep-alive', 'Content-Length': 0 }).end();
    });
    const client = await rawClient(port);
    client.write('POST /held HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody');
    const text = await client.untilEnd();
    expect(statusLines(text)).toEqual(['HTTP/1.1 403 Forbidden']);
    client.close();
  });

  it('gives the connection to the exchange when nothing answered, and neutralizes res then', async () => {
    const writes: unknown[] = [];
    const port = await server(async (_req, res, held) => {
      const hijacked = await held;
      expect(hijacked.answered).toBe(false);
      const exchange = hijacked.exchange();
      try {
        res.end('late');
      } catch (error) {
        writes.push(error instanceof H1Error && error.code);
      }
      const out = exchange.respond(200, { 'Content-Type': 'text/plain' });
      for await (const piece of exchange.body)
        out.write(Buffer.from(piece).toString().toUpperCase());
      out.end();
    });
    const client = await rawClient(port);
    client.write(
      'POST /held HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n',
    );
    // Full duplex: the first piece is answered while the body is still open.
    await client.until((t) => t.includes('HELLO'), 'the answer to the first piece');
    client.write('0\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const text = await client.untilEnd();
    // The exchange ended cleanly: node:http got the connection back for the next request.
    expect(statusLines(text)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
    expect(text.endsWith('node /next')).toBe(true);
    expect(writes).toEqual([DuplexErrorCode.HIJACKED]);
    client.close();
  });

  it('refuses keepResponse once the response began', async () => {
    const seen: unknown[] = [];
    const http = createHttpServer((req, res) => {
      res.flushHeaders();
      try {
        hijack(req, res, { keepResponse: true });
      } catch (error) {
        seen.push((error as H1Error).code);
      }
      res.end();
    });
    servers.push(http);
    enableHijack(http);
    const port = await listen(http);
    const client = await rawClient(port);
    client.write('GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await inTime(client.untilEnd(), 'the response');
    expect(seen).toEqual([DuplexErrorCode.HIJACK_UNSAFE]);
    client.close();
    await sleep(0);
  });
});

describe('hideBodyFields', () => {
  it('hides the fields that announce a body from req.headers while the exchange keeps them all', async () => {
    let seenWhileHidden: Record<string, unknown> | undefined;
    const port = await server((req, _res, held) => {
      const restore = hideBodyFields(req);
      seenWhileHidden = { ...req.headers };
      restore();
      held.then(async (hijacked) => {
        const exchange = hijacked.exchange();
        let body = '';
        for await (const piece of exchange.body) body += Buffer.from(piece).toString();
        const answer = `${req.headers['content-type']} ${body}`;
        exchange.respond(200, { 'Content-Length': answer.length }).end(answer);
      });
    });
    const client = await rawClient(port);
    client.write(
      'POST /held HTTP/1.1\r\nHost: x\r\nContent-Type: text/x1\r\nTransfer-Encoding: chunked\r\nX-Other: kept\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    );
    const text = await client.until((t) => t.endsWith('text/x1 abc'));
    expect(statusLines(text)).toEqual(['HTTP/1.1 200 OK']);
    expect(text).toContain('\r\nContent-Length: 11\r\n');
    expect(seenWhileHidden).toEqual({ host: 'x', 'x-other': 'kept' });
    client.close();
  });
});
