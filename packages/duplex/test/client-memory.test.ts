// A pooled connection the agent closes lets go of what it read. Its response head parser is
// llhttp's, native: a parser never closed, or holding views of its last head, kept the socket's
// last read buffer alive for good (found by `pnpm soak`: 500 MiB held after 30 s at 1,000
// exchanges in flight). Here 40 connections each read a head that shares a ~60 KiB read with its
// body; once the agent has closed them, a full collection must give that memory back.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Agent, request } from '@h1kit/duplex';
import { describe, expect, it } from 'vitest';
import { collect } from '../../../testkit/bytes.js';
import { httpServers, inTime, listen } from './helpers.js';

const httpServer = httpServers();
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function settledArrayBuffers(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return process.memoryUsage().arrayBuffers;
}

describe('client memory', () => {
  it('connections the agent closed keep none of their read buffers', async () => {
    const body = Buffer.alloc(60_000, 0x61);
    const server = httpServer((_req, res) => {
      // Head and body in one write, so that the client reads both in one buffer.
      res.writeHead(200, { 'Content-Length': body.length });
      res.end(body);
    });
    const port = await listen(server);
    const before = await settledArrayBuffers();
    const agent = new Agent();
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const response = await inTime(
          request(`http://127.0.0.1:${port}/${i}`, { agent }).response,
          `response ${i}`,
        );
        expect((await inTime(collect(response.body), `body ${i}`)).length).toBe(body.length);
      }),
    );
    expect(agent.connections.get(`http://127.0.0.1:${port}`)?.idle).toBe(40);
    await inTime(agent.close(), 'the agent closing its idle connections');
    server.closeAllConnections();
    // The sockets' close events run on the next turns.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await settledArrayBuffers();
    expect(after - before).toBeLessThan(512 * 1024);
  });
});
