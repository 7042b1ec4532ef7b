// BufferedWriter behaviour beyond the model: how writes reach the sink (gathered, corked, by
// reference), when flush and write resolve, and how failures of the sink surface.
import { Writable } from 'node:stream';
import { BufferedWriter, BufioErrorCode } from '@h1kit/bufio';
import { describe, expect, it } from 'vitest';
import { inTime } from '../../../testkit/bounded.js';
import { codeOf } from '../../../testkit/bytes.js';
import { loopback, recordingSink, SOURCE_ERROR, socketPair, turns } from './helpers.js';

describe('how bytes reach the sink', () => {
  it('small writes are gathered into one chunk, sent by flush', async () => {
    const sink = recordingSink();
    const writer = new BufferedWriter(sink, { size: 4096 });
    for (let i = 0; i < 100; i++) {
      await inTime(writer.write(new Uint8Array(10).fill(i)), `write ${i + 1}`);
    }
    expect(sink.recorded.calls).toBe(0);
    expect(writer.buffered).toBe(1000);
    expect(writer.available).toBe(3096);
    await inTime(writer.flush(), 'flush()');
    expect(sink.recorded.calls).toBe(1);
    expect(sink.recorded.chunks[0]!.length).toBe(1000);
  });

  it('a large write goes by reference, in one writev with the bytes gathered before it', async () => {
    const sink = recordingSink({ writev: true });
    // A first write keeps the sink busy, so the next two are buffered and can meet in writev.
    sink.write(new Uint8Array(1));
    const writer = new BufferedWriter(sink, { size: 64 });
    await inTime(writer.write(new Uint8Array(5).fill(1)), 'the small write');
    const large = new Uint8Array(200).fill(2);
    await inTime(writer.write(large), 'the large write');
    await inTime(writer.flush(), 'flush()');
    expect(sink.recorded.calls).toBe(2);
    expect(sink.recorded.chunks.map((c) => c.length)).toEqual([1, 5, 200]);
    expect(sink.recorded.chunks[2]!.buffer).toBe(large.buffer);
  });

  it('a write that does not fit sends what was gathered first, then gathers it anew', async () => {
    const sink = recordingSink();
    const writer = new BufferedWriter(sink, { size: 16 });
    await inTime(writer.write(new Uint8Array(10).fill(1)), 'the first write');
    await inTime(writer.write(new Uint8Array(10).fill(2)), 'the write that does not fit');
    expect(sink.recorded.chunks.map((c) => [...c])).toEqual([new Array(10).fill(1)]);
    expect(writer.buffered).toBe(10);
  });
});

describe('when calls resolve', () => {
  it('flush resolves only once the sink has called back', async () => {
    let release: (() => void) | undefined;
    const sink = new Writable({
      write(_chunk, _enc, callback) {
        release = () => callback();
      },
    });
    const writer = new BufferedWriter(sink);
    await inTime(writer.write(new Uint8Array(3)), 'write()');
    let flushed = false;
    const flushing = writer.flush().then(() => {
      flushed = true;
    });
    await turns(3);
    expect(flushed).toBe(false);
    release!();
    await inTime(flushing, 'flush() once the sink called back');
    expect(flushed).toBe(true);
  });

  it('a write sent to a sink past its high-water mark waits for it to drain', async () => {
    const callbacks: Array<() => void> = [];
    const sink = new Writable({
      highWaterMark: 8,
      write(_chunk, _enc, callback) {
        callbacks.push(() => callback());
      },
    });
    const writer = new BufferedWriter(sink, { size: 16 });
    let taken = false;
    const writing = writer.write(new Uint8Array(32)).then(() => {
      taken = true;
    });
    await turns(3);
    expect(taken).toBe(false);
    for (const c of callbacks.splice(0)) c();
    await inTime(writing, 'the write once the sink drained');
    expect(taken).toBe(true);
  });
});

describe('failures of the sink', () => {
  it('a failed write rejects flush, and every later call, with the sink error', async () => {
    const sink = recordingSink({ failAt: 0, later: [true] });
    sink.on('error', () => {});
    const writer = new BufferedWriter(sink);
    await inTime(writer.write(new Uint8Array(4)), 'write()');
    await inTime(expect(writer.flush()).rejects.toThrow(SOURCE_ERROR), 'the failure of flush()');
    await inTime(
      expect(writer.write(new Uint8Array(1))).rejects.toThrow(SOURCE_ERROR),
      'the refusal of write()',
    );
  });

  it('a sink closed under the writer refuses with ERR_BUFIO_PREMATURE_CLOSE', async () => {
    const sink = recordingSink();
    const writer = new BufferedWriter(sink);
    sink.destroy();
    await new Promise((resolve) => sink.once('close', resolve));
    const error = await inTime(
      writer.write(new Uint8Array(1)).catch((e: unknown) => e),
      'the refusal of write()',
    );
    expect(codeOf(error)).toBe(BufioErrorCode.PREMATURE_CLOSE);
    expect(sink.listenerCount('error') + sink.listenerCount('close')).toBe(0);
  });

  it('a socket whose peer is gone fails the flush instead of hanging', async () => {
    const l = await loopback();
    try {
      const { client, peer } = await socketPair(l);
      const writer = new BufferedWriter(client, { size: 1024 });
      peer.resetAndDestroy();
      const big = new Uint8Array(1 << 20);
      let error: unknown;
      for (let i = 0; i < 64 && error === undefined; i++) {
        error = await inTime(
          writer
            .write(big)
            .then(() => writer.flush())
            .then(
              () => undefined,
              (e: unknown) => e,
            ),
          `write and flush ${i + 1} to the reset socket`,
        );
      }
      expect(error).toBeInstanceOf(Error);
      expect(['ECONNRESET', 'EPIPE', BufioErrorCode.PREMATURE_CLOSE]).toContain(
        (error as { code?: string }).code,
      );
    } finally {
      await l.close();
    }
  });

  it('release hands back the bytes not sent and detaches', async () => {
    const sink = recordingSink();
    const before = sink.listenerCount('error') + sink.listenerCount('close');
    const writer = new BufferedWriter(sink);
    await inTime(writer.write(new Uint8Array([1, 2, 3])), 'write()');
    expect([...writer.release()]).toEqual([1, 2, 3]);
    expect(sink.listenerCount('error') + sink.listenerCount('close')).toBe(before);
    const error = await inTime(
      writer.flush().catch((e: unknown) => e),
      'the refusal of flush()',
    );
    expect(codeOf(error)).toBe(BufioErrorCode.RELEASED);
    expect(sink.recorded.calls).toBe(0);
  });

  it('a second release fails with RELEASED, as the reader does', () => {
    const writer = new BufferedWriter(recordingSink());
    writer.release();
    let caught: unknown;
    try {
      writer.release();
    } catch (error) {
      caught = error;
    }
    expect(codeOf(caught)).toBe(BufioErrorCode.RELEASED);
  });
});
