import { once } from 'node:events';
import { createServer, request } from 'node:http';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChunkedDecoderTransform,
  ChunkedEncoderTransform,
  ChunkedErrorCode,
  encodeChunk,
  encodeLastChunk,
  H1Error,
} from '@h1kit/chunked';
import { describe, expect, it } from 'vitest';
import { eachInTime, inTime } from '../../../testkit/bounded.js';
import { collect, text } from '../../../testkit/bytes.js';

/** A wire of `chunks` chunks of `size` bytes each, cut into 64 KiB reads. */
function wirePieces(chunks: number, size: number): Buffer[] {
  const data = Buffer.alloc(size, 0x61);
  const frame = Buffer.concat(encodeChunk(data));
  const wire = Buffer.concat([...Array(chunks).fill(frame), encodeLastChunk()]);
  const pieces: Buffer[] = [];
  for (let at = 0; at < wire.length; at += 65536) pieces.push(wire.subarray(at, at + 65536));
  return pieces;
}

describe('ChunkedEncoderTransform', () => {
  it('frames each write, skips empty ones, and ends with trailers computed at the end', async () => {
    let seen = 0;
    const encoder = new ChunkedEncoderTransform({ trailers: () => ({ 'X-Bytes': seen }) });
    const output = collect(encoder).then((b) => text(b));
    for (const piece of ['hello', '', ' world']) {
      seen += piece.length;
      encoder.write(piece);
    }
    encoder.end();
    expect(await inTime(output, 'the encoded output to its end')).toBe(
      '5\r\nhello\r\n6\r\n world\r\n0\r\nX-Bytes: 11\r\n\r\n',
    );
  });

  it('is read by node:http as a chunked request body with its trailers', async () => {
    const server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (part: Buffer) => parts.push(part));
      req.on('end', () => {
        res.end(JSON.stringify({ body: Buffer.concat(parts).toString(), trailers: req.trailers }));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    try {
      const socket = connect(port, '127.0.0.1');
      await once(socket, 'connect');
      socket.write(
        'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
      );
      const encoder = new ChunkedEncoderTransform({ trailers: [['X-Check', 'ok']] });
      encoder.pipe(socket, { end: false });
      const response = collect(socket).then((b) => text(b));
      encoder.write('first ');
      encoder.end('second');
      const raw = await inTime(response, "node:http's answer to the encoded body");
      expect(raw).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toEqual({
        body: 'first second',
        trailers: { 'x-check': 'ok' },
      });
    } finally {
      server.close();
    }
  });

  it('keeps backpressure: a slow reader holds back the writer', async () => {
    let produced = 0;
    let consumed = 0;
    let widest = 0;
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < 96; i++) {
          produced += 65536;
          yield Buffer.alloc(65536, 0x62);
        }
      })(),
    );
    const slowSink = new Writable({
      highWaterMark: 16384,
      write(chunk: Buffer, _encoding, callback) {
        consumed += chunk.length;
        widest = Math.max(widest, produced - consumed);
        setTimeout(callback, 1);
      },
    });
    await inTime(
      pipeline(source, new ChunkedEncoderTransform(), slowSink),
      'the pipeline through the encoder',
    );
    expect(consumed).toBeGreaterThan(96 * 65536);
    // Source, transform and sink buffers hold a few 64 KiB writes at most, not the 6 MiB sent.
    expect(widest).toBeLessThanOrEqual(8 * 65536);
  });
});

describe('ChunkedDecoderTransform', () => {
  it('decodes a body sent by node:http, with trailers, from a real socket', async () => {
    const received = new Promise<{ body: string; trailers: unknown; rest: string }>((resolve) => {
      const server = createNetServer((socket: Socket) => {
        let head = Buffer.alloc(0);
        const onHead = (part: Buffer): void => {
          head = Buffer.concat([head, part]);
          const end = head.indexOf('\r\n\r\n');
          if (end === -1) return;
          socket.off('data', onHead);
          socket.pause();
          const decoder = new ChunkedDecoderTransform();
          const body = collect(decoder).then((b) => text(b));
          decoder.on('end', async () => {
            socket.unpipe(decoder);
            socket.end('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n');
            server.close();
            resolve({ body: await body, trailers: decoder.trailers, rest: text(decoder.rest) });
          });
          decoder.write(head.subarray(end + 4));
          socket.pipe(decoder);
        };
        socket.on('data', onHead);
      });
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        const req = request({
          host: '127.0.0.1',
          port,
          method: 'POST',
          headers: { Trailer: 'X-Sum' },
        });
        req.on('response', (res) => res.resume());
        req.write('hello ');
        req.write(Buffer.alloc(70000, 0x7a));
        req.addTrailers({ 'X-Sum': '70006' });
        req.end();
      });
    });
    const { body, trailers, rest } = await inTime(received, 'the body decoded at the server');
    expect(body).toBe(`hello ${'z'.repeat(70000)}`);
    expect(trailers).toEqual([['X-Sum', '70006']]);
    expect(rest).toBe('');
  });

  it('emits trailers before the end and keeps the bytes after the message, later writes included', async () => {
    const decoder = new ChunkedDecoderTransform();
    const events: string[] = [];
    decoder.on('trailers', (t) => events.push(`trailers ${JSON.stringify(t)}`));
    const body = collect(decoder).then((b) => events.push(`end ${text(b)}`));
    decoder.write('3\r\nabc\r\n0\r\nA: 1\r\n\r\nGET ');
    decoder.write('/ HTTP/1.1\r\n');
    decoder.end();
    await inTime(body, 'the decoded body to its end');
    expect(events).toEqual(['trailers [["A","1"]]', 'end abc']);
    expect(text(decoder.rest)).toBe('GET / HTTP/1.1\r\n');
  });

  it('fails with the H1Error of the fault', async () => {
    const decoder = new ChunkedDecoderTransform();
    decoder.resume();
    decoder.end('5\r\nhello\n0\r\n\r\n');
    const [error] = await inTime(once(decoder, 'error'), "the decoder's 'error'");
    expect(error).toBeInstanceOf(H1Error);
    expect(error).toMatchObject({ code: ChunkedErrorCode.EXPECTED_CRLF, offset: 8 });
  });

  it('fails a pipeline with ERR_H1_INCOMPLETE_CHUNKED_BODY when the source ends inside the body', async () => {
    const sink = new Writable({ write: (_c, _e, callback) => callback() });
    const done = pipeline(
      Readable.from([Buffer.from('5\r\nhel')]),
      new ChunkedDecoderTransform(),
      sink,
    );
    await inTime(
      expect(done).rejects.toMatchObject({
        name: 'H1Error',
        code: ChunkedErrorCode.INCOMPLETE_CHUNKED_BODY,
        offset: 6,
      }),
      'the failure of the pipeline',
    );
  });

  it('stops when its AbortSignal fires', async () => {
    const controller = new AbortController();
    const decoder = new ChunkedDecoderTransform({ signal: controller.signal });
    decoder.resume();
    decoder.write('5\r\nhel');
    controller.abort();
    const [error] = await inTime(once(decoder, 'error'), "the decoder's 'error' on abort");
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(decoder.destroyed).toBe(true);
  });

  it('passes limits on to the decoder', async () => {
    const decoder = new ChunkedDecoderTransform({ maxChunkSize: 15 });
    decoder.resume();
    decoder.end('10\r\n');
    const [error] = await inTime(once(decoder, 'error'), "the decoder's 'error' past the limit");
    expect(error).toMatchObject({ code: ChunkedErrorCode.CHUNK_SIZE_TOO_LARGE });
  });

  it('keeps backpressure: a slow reader bounds what is read from the source', async () => {
    const pieces = wirePieces(256, 16384);
    let produced = 0;
    let consumed = 0;
    let widest = 0;
    const source = new Readable({
      highWaterMark: 65536,
      read() {
        const piece = pieces.shift();
        if (piece) produced += piece.length;
        this.push(piece ?? null);
      },
    });
    const decoder = new ChunkedDecoderTransform();
    source.pipe(decoder);
    for await (const part of eachInTime(decoder, 'the decoded body')) {
      consumed += (part as Buffer).length;
      widest = Math.max(widest, produced - consumed);
      await sleep(1);
    }
    expect(consumed).toBe(256 * 16384);
    // A few 64 KiB reads in flight at most, not the 4 MiB body.
    expect(widest).toBeLessThanOrEqual(6 * 65536);
  });
});
