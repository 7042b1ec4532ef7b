import { ChunkedErrorCode, encodeChunk, encodeLastChunk, H1Error } from '@h1kit/chunked';
import { describe, expect, it } from 'vitest';
import { text } from '../../../testkit/bytes.js';

describe('encodeChunk', () => {
  it('returns [chunk-size line, the data itself, CRLF] with a lowercase hex size', () => {
    const data = Buffer.alloc(0x1a2b, 0x61);
    const parts = encodeChunk(data);
    expect(parts).toHaveLength(3);
    expect(text(parts[0]!)).toBe('1a2b\r\n');
    expect(parts[1]).toBe(data);
    expect(text(parts[2]!)).toBe('\r\n');
  });

  it('returns nothing for zero-length data, which would be the last chunk', () => {
    expect(encodeChunk(new Uint8Array(0))).toEqual([]);
    expect(encodeChunk(new Uint8Array(0), [['a', 'b']])).toEqual([]);
  });

  it('writes sizes of every width, up to Number.MAX_SAFE_INTEGER', () => {
    const sizes = [1, 15, 16, 255, 256, 0xffff, 0x10000, 0xffffffff, 0x100000000];
    for (const size of [...sizes, Number.MAX_SAFE_INTEGER]) {
      expect(text(sizeLineOf(size))).toBe(`${size.toString(16)}\r\n`);
    }
  });

  it('writes chunk-ext as tokens where it can, quoted-strings elsewhere', () => {
    const parts = encodeChunk(Buffer.from('x'), [
      ['a'],
      ['b', 'tok'],
      ['c', ''],
      ['d', 'two words'],
      ['e', 'q"b\\'],
      ['f', '\t\xff'],
    ]);
    expect(text(parts[0]!)).toBe('1;a;b=tok;c="";d="two words";e="q\\"b\\\\";f="\t\xff"\r\n');
  });

  it.each([
    ['an empty name', [['', 'x']]],
    ['a name with a space', [['a b']]],
    ['a non-ASCII name', [['\u00e9']]],
    ['a CR in a value', [['a', 'x\ry']]],
    ['a NUL in a value', [['a', '\0']]],
    ['DEL in a value', [['a', '\x7f']]],
    ['a char above 0xFF in a value', [['a', '\u0100']]],
    ['a value that is not a string', [['a', 1]]],
    ['a pair that is not an array', ['a']],
  ])('refuses %s with ERR_H1_INVALID_CHUNK_EXTENSION', (_why, chunkExt) => {
    const attempt = () => encodeChunk(Buffer.from('x'), chunkExt as never);
    expect(attempt).toThrow(H1Error);
    expect(attempt).toThrow(
      expect.objectContaining({ code: ChunkedErrorCode.INVALID_CHUNK_EXTENSION }),
    );
  });

  it('leaves earlier chunks intact when a later one is refused', () => {
    const before = encodeChunk(Buffer.from('abc'), [['k', 'v']]);
    expect(() => encodeChunk(Buffer.from('x'), [['ok', 'fine'], ['bad name']])).toThrow(H1Error);
    const after = encodeChunk(Buffer.from('de'), [['z']]);
    expect(text(before)).toBe('3;k=v\r\nabc\r\n');
    expect(text(after)).toBe('2;z\r\nde\r\n');
  });

  it('never overwrites a size line it returned, across slabs and its line cache', () => {
    const kept: Array<[number, Uint8Array]> = [];
    for (let i = 0; i < 20000; i++) {
      const size = 1 + ((i * 7919) % 5000);
      kept.push([size, sizeLineOf(size)]);
    }
    // Every line still reads its own size (the wrong ones listed, rather than one expect each).
    const overwritten = kept.filter(([size, line]) => text(line) !== `${size.toString(16)}\r\n`);
    expect(overwritten.map(([size, line]) => [size, text(line)])).toEqual([]);
  });

  it('refuses data that is not a Uint8Array', () => {
    expect(() => encodeChunk('text' as never)).toThrow(TypeError);
    expect(() => encodeChunk([Buffer.from('a'), 'b'] as never)).toThrow(TypeError);
  });

  it('gathers several views into one chunk, with a chunk-ext on its one size line', () => {
    const a = Buffer.from('abc');
    const b = Buffer.from('defg');
    const parts = encodeChunk([a, new Uint8Array(0), b], [['n', '2']]);
    expect(parts).toHaveLength(4);
    expect(parts[1]).toBe(a);
    expect(parts[2]).toBe(b);
    expect(text(parts)).toBe('7;n=2\r\nabcdefg\r\n');
    expect(encodeChunk([new Uint8Array(0)])).toEqual([]);
  });

  it('hands out Buffers for the pieces it makes, so a Node stream takes them as they are', () => {
    const [line, , crlf] = encodeChunk(Buffer.from('x'));
    expect(Buffer.isBuffer(line)).toBe(true);
    expect(Buffer.isBuffer(crlf)).toBe(true);
  });
});

describe('encodeLastChunk', () => {
  it('writes the last chunk and an empty trailer section', () => {
    expect(text(encodeLastChunk())).toBe('0\r\n\r\n');
  });

  it('writes trailer fields in any shape @h1kit/headers accepts', () => {
    expect(text(encodeLastChunk({ 'Content-MD5': 'abc', X: ['1', '2'] }))).toBe(
      '0\r\nContent-MD5: abc\r\nX: 1\r\nX: 2\r\n\r\n',
    );
    expect(text(encodeLastChunk(['A', '1', 'b', '2']))).toBe('0\r\nA: 1\r\nb: 2\r\n\r\n');
    expect(text(encodeLastChunk(new Map([['A', '1']])))).toBe('0\r\nA: 1\r\n\r\n');
  });

  it('returns a fresh array each time', () => {
    const a = encodeLastChunk();
    a[0] = 0x31;
    expect(text(encodeLastChunk())).toBe('0\r\n\r\n');
  });

  it.each([
    ['a CRLF in a value', { A: 'x\r\nInjected: 1' }, 'ERR_H1_INVALID_FIELD_VALUE'],
    ['a name with a colon', { 'A:': '1' }, 'ERR_H1_INVALID_FIELD_NAME'],
    ['an odd flat array', ['A'], 'ERR_H1_INVALID_HEADERS'],
  ])('refuses trailers with %s', (_why, trailers, code) => {
    expect(() => encodeLastChunk(trailers)).toThrow(expect.objectContaining({ code }));
  });
});

/** The size line encodeChunk writes for `size` bytes, without allocating that many. */
function sizeLineOf(size: number): Uint8Array {
  const data = new Uint8Array(new ArrayBuffer(0), 0, 0);
  Object.defineProperty(data, 'length', { value: size });
  return encodeChunk(data)[0]!;
}
