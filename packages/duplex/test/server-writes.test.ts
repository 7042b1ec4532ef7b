// How the standalone server writes: a small response is one socket write, and the responses to
// requests pipelined in one read leave together. The counts come from the server's own socket:
// every `_write` or `_writev` call is one write request handed to libuv.
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { rawClient, standaloneServers, statusLines } from './helpers.js';

const serve = standaloneServers();

/** Counts the reads and writes of each socket the server accepts, from before its first byte. */
function countIo(server: { on(event: 'connection', listener: (socket: Socket) => void): unknown }) {
  const io = { reads: 0, writes: 0 };
  server.on('connection', (socket) => {
    socket.on('data', () => io.reads++);
    const write = socket._write.bind(socket);
    const writev = socket._writev?.bind(socket);
    socket._write = (chunk, encoding, callback) => {
      io.writes++;
      write(chunk, encoding, callback);
    };
    if (writev) {
      socket._writev = (chunks, callback) => {
        io.writes++;
        writev(chunks, callback);
      };
    }
  });
  return io;
}

describe('standalone server writes', () => {
  it('sends a small response, head and body, in one write', async () => {
    const { server, port } = await serve((exchange) => {
      exchange.respond(200, { 'Content-Type': 'text/plain', 'Content-Length': 5 }).end('hello');
    });
    const io = countIo(server.server);
    const client = await rawClient(port);
    client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    const text = await client.until((t) => t.endsWith('hello'));
    expect(statusLines(text)).toEqual(['HTTP/1.1 200 OK']);
    expect(io.writes).toBe(1);
    client.close();
  });

  it('answers requests pipelined in one read in order, in one write for the whole batch', async () => {
    const { server, port } = await serve((exchange) => {
      const text = `answer ${exchange.request.target}\n`;
      exchange.respond(200, { 'Content-Length': text.length }).end(text);
    });
    const io = countIo(server.server);
    const client = await rawClient(port);
    const paths = Array.from({ length: 16 }, (_, i) => `/${i}`);
    // One write of about 500 bytes: one segment on loopback, so one read on the server.
    client.write(paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: a\r\n\r\n`).join(''));
    const text = await client.until((t) => t.endsWith('answer /15\n'));
    expect(text.match(/answer \/\d+/g)).toEqual(paths.map((p) => `answer ${p}`));
    expect(io.reads).toBeGreaterThan(0);
    // Each read's requests were answered together: as many writes as reads, never one a response.
    expect(io.writes).toBe(io.reads);
    client.close();
  });

  it('sends a chunked response begun and ended in one tick in one write, last-chunk included', async () => {
    const { server, port } = await serve((exchange) => {
      const body = exchange.respond(200);
      body.write('part one, ');
      body.end('part two');
    });
    const io = countIo(server.server);
    const client = await rawClient(port);
    client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    await client.until((t) => t.endsWith('0\r\n\r\n'));
    expect(io.writes).toBe(1);
    client.close();
  });
});
