// BufferedReader behaviour the model does not reach: refusals, failures of the source while a
// call waits, views and copies, listeners, release and hand-off to a plain Readable.
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { BufferedReader, BufioErrorCode, H1Error } from '@h1kit/bufio';
import { H1Error as HeadersH1Error } from '@h1kit/headers';
import { describe, expect, it } from 'vitest';
import { inTime } from '../../../testkit/bounded.js';
import { bytes, codeOf, collect, text } from '../../../testkit/bytes.js';
import { turns } from './helpers.js';

const EVENTS = ['data', 'end', 'error', 'close', 'readable'] as const;
const listeners = (s: Readable) => EVENTS.map((e) => s.listenerCount(e));

describe('refusals', () => {
  it('a call while another waits is refused with ERR_BUFIO_CONCURRENT_CALL and takes nothing', async () => {
    const source = new PassThrough();
    const reader = new BufferedReader(source);
    const first = reader.readByte();
    await inTime(
      expect(reader.readByte()).rejects.toSatisfy(
        (e) => codeOf(e) === BufioErrorCode.CONCURRENT_CALL,
      ),
      'the refusal of the second call',
    );
    expect(() => reader.unread(bytes('x'))).toThrow(H1Error);
    source.end('ab');
    expect(await inTime(first, 'the first readByte()')).toBe(0x61);
    expect(await inTime(reader.readByte(), 'readByte()')).toBe(0x62);
    expect(await inTime(reader.readByte(), 'readByte() at the end')).toBeNull();
  });

  it('arguments out of range are ERR_BUFIO_INVALID_ARGUMENT; peek past size is BUFFER_FULL', async () => {
    const reader = new BufferedReader(new PassThrough(), { size: 32 });
    const code = async (call: string, p: Promise<unknown>) => {
      const error = await inTime(
        p.catch((e: unknown) => e),
        `the refusal of ${call}`,
      );
      return codeOf(error);
    };
    expect(await code('peek(-1)', reader.peek(-1))).toBe(BufioErrorCode.INVALID_ARGUMENT);
    expect(await code('readFull(1.5)', reader.readFull(1.5))).toBe(BufioErrorCode.INVALID_ARGUMENT);
    expect(await code('readSlice(256)', reader.readSlice(256))).toBe(
      BufioErrorCode.INVALID_ARGUMENT,
    );
    expect(await code('discard(NaN)', reader.discard(Number.NaN))).toBe(
      BufioErrorCode.INVALID_ARGUMENT,
    );
    expect(await code('peek(33)', reader.peek(33))).toBe(BufioErrorCode.BUFFER_FULL);
    expect(() => new BufferedReader(new PassThrough(), { size: 0 })).toThrow(H1Error);
    expect(new BufferedReader(new PassThrough(), { size: 3 }).size).toBe(16);
  });

  it('a source in object mode, with an encoding, or already consumed is refused', () => {
    expect(() => new BufferedReader(new Readable({ objectMode: true, read() {} }))).toThrow(
      H1Error,
    );
    const decoding = new PassThrough();
    decoding.setEncoding('utf8');
    expect(() => new BufferedReader(decoding)).toThrow(H1Error);
    const taken = new PassThrough();
    taken.on('data', () => {});
    let error: unknown;
    try {
      new BufferedReader(taken);
    } catch (e) {
      error = e;
    }
    expect(codeOf(error)).toBe(BufioErrorCode.SOURCE_IN_USE);
  });
});

describe('failures of the source reach the waiting call', () => {
  it('an error while a line waits rejects that call; buffered bytes come first', async () => {
    const source = new PassThrough();
    const reader = new BufferedReader(source);
    source.write('one\ntw');
    expect(text((await inTime(reader.readLine(), 'readLine()'))?.line)).toBe('one');
    const pending = reader.readLine();
    source.destroy(new Error('reset by peer'));
    await inTime(
      expect(pending).rejects.toThrow('reset by peer'),
      'the failure of the waiting readLine()',
    );
    // What was buffered is still there for a call it can satisfy.
    expect(text(await inTime(reader.readFull(2), 'readFull(2)'))).toBe('tw');
    await inTime(expect(reader.read()).rejects.toThrow('reset by peer'), 'the failure of read()');
  });

  it('a close without an end is ERR_BUFIO_PREMATURE_CLOSE at the stream offset, never null', async () => {
    const source = new PassThrough();
    const reader = new BufferedReader(source, { head: bytes('hi') });
    source.write('abc');
    const pending = reader.readFull(10);
    await turns(2);
    source.destroy();
    const error = await inTime(
      pending.catch((e: unknown) => e),
      'the failure of the waiting readFull(10)',
    );
    expect(codeOf(error)).toBe(BufioErrorCode.PREMATURE_CLOSE);
    expect((error as H1Error).offset).toBe(5);
    expect(text(await inTime(reader.readFull(5), 'readFull(5)'))).toBe('hiabc');
  });

  it('a short stream in readFull is ERR_BUFIO_UNEXPECTED_EOF and keeps the bytes', async () => {
    const source = new PassThrough();
    source.end('12345');
    const reader = new BufferedReader(source, { size: 16 });
    for (const n of [8, 100]) {
      const error = await inTime(
        reader.readFull(n).catch((e: unknown) => e),
        `the failure of readFull(${n})`,
      );
      expect(codeOf(error)).toBe(BufioErrorCode.UNEXPECTED_EOF);
      expect((error as H1Error).offset).toBe(5);
    }
    expect(text(await inTime(reader.readFull(5), 'readFull(5)'))).toBe('12345');
    expect(await inTime(reader.readFull(5), 'readFull(5) at the end')).toBeNull();
  });
});

describe('views and copies', () => {
  it('read, and readLine/readSlice/peek/readFull within one chunk, are views of the chunk', async () => {
    const chunk = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    const source = new PassThrough();
    source.end(chunk);
    const reader = new BufferedReader(source);
    const sameMemory = (b: Uint8Array | null | undefined) => b?.buffer === chunk.buffer;
    expect(sameMemory(await inTime(reader.peek(3), 'peek(3)'))).toBe(true);
    expect(sameMemory((await inTime(reader.readLine(), 'readLine()'))?.line)).toBe(true);
    expect(sameMemory(await inTime(reader.readSlice(0x0a), 'readSlice(LF)'))).toBe(true);
    expect(sameMemory(await inTime(reader.readFull(1), 'readFull(1)'))).toBe(true);
    expect(sameMemory(await inTime(reader.read(), 'read()'))).toBe(true);
  });

  it('a run spanning chunks is gathered, and unread copies what it is given', async () => {
    const source = new PassThrough();
    const reader = new BufferedReader(source);
    source.write('abc');
    await turns();
    source.end('def\n');
    const line = await inTime(reader.readSlice(0x0a), 'readSlice(LF)');
    expect(text(line)).toBe('abcdef\n');
    const given = bytes('xy');
    reader.unread(given);
    given.fill(0x21);
    expect(text(await inTime(reader.readFull(2), 'readFull(2)'))).toBe('xy');
  });
});

describe('lines', () => {
  it('readLine strips LF and CRLF, keeps a lone CR, cuts long lines with isPrefix', async () => {
    const source = new PassThrough();
    source.end(`a\r\nb\nc\rd\n${'x'.repeat(20)}\r\n${'y'.repeat(15)}\r\nlast`);
    const reader = new BufferedReader(source, { size: 16 });
    const lines: Array<[string | null | undefined, boolean]> = [];
    const readLine = () => inTime(reader.readLine(), `readLine() after ${lines.length} lines`);
    for (let l = await readLine(); l !== null; l = await readLine()) {
      lines.push([text(l.line), l.isPrefix]);
    }
    expect(lines).toEqual([
      ['a', false],
      ['b', false],
      ['c\rd', false],
      ['x'.repeat(16), true],
      ['xxxx', false],
      // 15 bytes and a CR fill the buffer: the CR waits for the next piece, CRLF stays whole.
      ['y'.repeat(15), true],
      ['', false],
      ['last', false],
    ]);
  });

  it('readSlice without a delimiter in size bytes is ERR_BUFIO_BUFFER_FULL and takes nothing', async () => {
    const source = new PassThrough();
    source.end(`${'z'.repeat(40)}\n`);
    const reader = new BufferedReader(source, { size: 16 });
    const error = await inTime(
      reader.readSlice(0x0a).catch((e: unknown) => e),
      'the refusal of readSlice(LF)',
    );
    expect(codeOf(error)).toBe(BufioErrorCode.BUFFER_FULL);
    expect((error as H1Error).offset).toBe(16);
    expect(reader.buffered).toBeGreaterThanOrEqual(16);
    expect(text(await inTime(reader.readFull(41), 'readFull(41)'))).toBe(`${'z'.repeat(40)}\n`);
  });
});

describe('listeners, release and hand-off', () => {
  it('reaching the end leaves the source with no listener of the reader', async () => {
    const source = new PassThrough();
    const before = listeners(source);
    const reader = new BufferedReader(source);
    expect(listeners(source)).not.toEqual(before);
    source.end('x');
    expect(text(await inTime(collect(reader), 'the reader to its end'))).toBe('x');
    expect(listeners(source)).toEqual(before);
  });

  it('release gives back the source, paused and bare, and every byte the reader held', async () => {
    const source = new PassThrough();
    const before = listeners(source);
    const reader = new BufferedReader(source, { head: bytes('head|') });
    source.write('abc|');
    expect(text(await inTime(reader.readFull(2), 'readFull(2)'))).toBe('he');
    await turns();
    const { source: back, head } = reader.release();
    expect(back).toBe(source);
    expect(listeners(source)).toEqual(before);
    expect(source.readableFlowing).toBeNull();
    expect(text(head)).toBe('ad|abc|');
    source.end('rest');
    expect(text(await inTime(collect(source), 'the released source to its end'))).toBe('rest');
    await inTime(
      expect(reader.read()).rejects.toSatisfy((e) => codeOf(e) === BufioErrorCode.RELEASED),
      'the refusal of read()',
    );
  });

  it('release during a readFull larger than size returns what that call had gathered', async () => {
    const source = new PassThrough();
    const reader = new BufferedReader(source, { size: 16 });
    const pending = reader.readFull(64);
    source.write('x'.repeat(40));
    await turns(2);
    const { head } = reader.release();
    expect(text(head)).toBe('x'.repeat(40));
    await inTime(
      expect(pending).rejects.toSatisfy((e) => codeOf(e) === BufioErrorCode.RELEASED),
      'the refusal of the pending readFull(64)',
    );
    source.destroy();
  });

  it('toReadable yields the buffered bytes, then the rest; the reader is then refused', async () => {
    const source = new PassThrough();
    const reader = new BufferedReader(source, { head: bytes('line\nhead ') });
    expect(text((await inTime(reader.readLine(), 'readLine()'))?.line)).toBe('line');
    const stream = reader.toReadable();
    await inTime(
      expect(reader.peek(1)).rejects.toSatisfy((e) => codeOf(e) === BufioErrorCode.RELEASED),
      'the refusal of peek(1)',
    );
    source.write('and ');
    source.end('more');
    expect(text(await inTime(collect(stream), 'the handed-off Readable to its end'))).toBe(
      'head and more',
    );
    expect(source.destroyed || source.readableEnded).toBe(true);
  });

  it('destroying the handed-off Readable early destroys the source', async () => {
    const source = new PassThrough();
    const stream = new BufferedReader(source).toReadable();
    stream.on('error', () => {});
    stream.destroy(new Error('consumer gave up'));
    await inTime(once(source, 'close'), 'the close of the source');
    expect(source.destroyed).toBe(true);
  });

  it('a source that already ended gives the head, then null', async () => {
    const source = Readable.from([Buffer.from('gone')], { objectMode: false });
    await collect(source);
    const reader = new BufferedReader(source, { head: bytes('kept') });
    expect(text(await inTime(reader.read(), 'read() of the head'))).toBe('kept');
    expect(await inTime(reader.read(), 'read() at the end')).toBeNull();
  });

  it('a source destroyed with an error gives the head, then that error', async () => {
    const source = new PassThrough();
    source.on('error', () => {});
    source.destroy(new Error('earlier failure'));
    await new Promise((resolve) => source.on('close', resolve));
    const reader = new BufferedReader(source, { head: bytes('kept') });
    expect(text(await inTime(reader.read(), 'read() of the head'))).toBe('kept');
    await inTime(expect(reader.read()).rejects.toThrow('earlier failure'), 'the failure of read()');
  });
});

describe('H1Error', () => {
  it('is the one class @h1kit/headers uses too, shared through Symbol.for("h1kit.H1Error")', () => {
    expect(H1Error).toBe(HeadersH1Error);
    expect(H1Error).toBe((globalThis as Record<symbol, unknown>)[Symbol.for('h1kit.H1Error')]);
    const ours = new H1Error(BufioErrorCode.BUFFER_FULL, 'full', 3);
    expect(ours).toBeInstanceOf(HeadersH1Error);
    expect(ours).toBeInstanceOf(Error);
    expect(ours.name).toBe('H1Error');
    expect(ours.offset).toBe(3);
    expect(new HeadersH1Error('ERR_H1_INVALID_FIELD_NAME', 'bad')).toBeInstanceOf(H1Error);
    expect(Object.assign(new Error('x'), { code: 'E' })).not.toBeInstanceOf(H1Error);
  });
});
