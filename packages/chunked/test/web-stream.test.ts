import { ReadableStream, WritableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChunkedDecoderStream,
  ChunkedEncoderStream,
  ChunkedErrorCode,
  encodeChunk,
  encodeLastChunk,
  H1Error,
} from '@h1kit/chunked';
import { describe, expect, it } from 'vitest';
import { inTime } from '../../../testkit/bounded.js';
import { bytes, collect, text } from '../../../testkit/bytes.js';

describe('ChunkedEncoderStream and ChunkedDecoderStream', () => {
  it('round-trip payload and trailers through both', async () => {
    const decoder = new ChunkedDecoderStream();
    const payload = await inTime(
      collect(
        ReadableStream.from([bytes('hello'), bytes(''), bytes(' world')])
          .pipeThrough(new ChunkedEncoderStream({ trailers: { 'X-Done': 'yes' } }))
          .pipeThrough(decoder),
      ),
      'the payload through encoder and decoder',
    );
    expect(text(payload)).toBe('hello world');
    expect(decoder.trailers).toEqual([['X-Done', 'yes']]);
    expect(decoder.rest).toHaveLength(0);
  });

  it('the encoder writes exactly the chunked coding', async () => {
    const wire = await inTime(
      collect(ReadableStream.from([bytes('abc')]).pipeThrough(new ChunkedEncoderStream())),
      'the encoded wire',
    );
    expect(text(wire)).toBe('3\r\nabc\r\n0\r\n\r\n');
  });

  it('the decoder closes at the end of the message, keeps the rest, and refuses later writes', async () => {
    const decoder = new ChunkedDecoderStream();
    const writer = decoder.writable.getWriter();
    const payload = collect(decoder.readable);
    await inTime(writer.write(bytes('2\r\nok\r\n0\r\n\r\nNEXT')), 'the write of the message');
    expect(text(await inTime(payload, 'the decoded payload to its end'))).toBe('ok');
    expect(text(decoder.rest)).toBe('NEXT');
    await inTime(
      expect(writer.write(bytes('more'))).rejects.toThrow(TypeError),
      'the refusal of a later write',
    );
  });

  it('the decoder errors both sides with the H1Error of the fault', async () => {
    const decoder = new ChunkedDecoderStream();
    const writer = decoder.writable.getWriter();
    const reader = decoder.readable.getReader();
    // The readable side is read first: until then backpressure holds the write back.
    const read = reader.read();
    const written = writer.write(bytes('5\r\nhello\r\nzz'));
    await inTime(
      expect(read).rejects.toMatchObject({
        code: ChunkedErrorCode.INVALID_CHUNK_SIZE,
        offset: 10,
      }),
      'the failure of the read',
    );
    await inTime(expect(written).rejects.toBeInstanceOf(H1Error), 'the failure of the write');
  });

  it('the decoder fails with ERR_H1_INCOMPLETE_CHUNKED_BODY when closed inside the body', async () => {
    const source = ReadableStream.from([bytes('5\r\nhel')]);
    await inTime(
      expect(collect(source.pipeThrough(new ChunkedDecoderStream()))).rejects.toMatchObject({
        code: ChunkedErrorCode.INCOMPLETE_CHUNKED_BODY,
      }),
      'the failure of the cut body',
    );
  });

  it('the decoder keeps backpressure: a slow reader bounds what is pulled from the source', async () => {
    const frame = Buffer.concat(encodeChunk(Buffer.alloc(16384, 0x61)));
    const wire = Buffer.concat([...Array(256).fill(frame), encodeLastChunk()]);
    let produced = 0;
    let consumed = 0;
    let widest = 0;
    const source = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (produced >= wire.length) return controller.close();
          controller.enqueue(wire.subarray(produced, produced + 65536));
          produced = Math.min(produced + 65536, wire.length);
        },
      },
      { highWaterMark: 0 },
    );
    const reader = source.pipeThrough(new ChunkedDecoderStream()).getReader();
    for (;;) {
      const { done, value } = await inTime(reader.read(), `the decoded bytes after ${consumed}`);
      if (done) break;
      consumed += value.length;
      widest = Math.max(widest, produced - consumed);
      await sleep(1);
    }
    expect(consumed).toBe(256 * 16384);
    expect(widest).toBeLessThanOrEqual(4 * 65536);
  });

  it('the encoder keeps backpressure: a slow sink bounds what is pulled from the source', async () => {
    let produced = 0;
    let consumed = 0;
    let widest = 0;
    const source = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (produced >= 96 * 65536) return controller.close();
          controller.enqueue(new Uint8Array(65536));
          produced += 65536;
        },
      },
      { highWaterMark: 0 },
    );
    const sink = new WritableStream<Uint8Array>({
      async write(chunk) {
        consumed += chunk.length;
        widest = Math.max(widest, produced - consumed);
        await sleep(1);
      },
    });
    await inTime(
      source.pipeThrough(new ChunkedEncoderStream()).pipeTo(sink),
      'the whole source encoded into the sink',
    );
    expect(consumed).toBeGreaterThan(96 * 65536);
    expect(widest).toBeLessThanOrEqual(4 * 65536);
  });
});
