import { ChunkedDecoder, ChunkedErrorCode, H1Error } from '@h1kit/chunked';
import { describe, expect, it } from 'vitest';
import { bytes, thrown } from '../../../testkit/bytes.js';
import { h1kitDecode } from '../../../testkit/oracles/chunked.js';

/** Decodes `wire` whole and one byte per push; both must agree, then the outcome is returned. */
function decode(wire: string, options?: ConstructorParameters<typeof ChunkedDecoder>[0]) {
  const whole = h1kitDecode([bytes(wire)], options);
  const bytewise = h1kitDecode(
    [...bytes(wire)].map((b) => Uint8Array.of(b)),
    options,
  );
  expect(bytewise).toEqual(whole);
  return whole;
}

function failure(wire: string, options?: ConstructorParameters<typeof ChunkedDecoder>[0]) {
  const outcome = decode(wire, options);
  if (outcome.ok) throw new Error(`accepted ${JSON.stringify(wire)}`);
  return { code: outcome.code, offset: outcome.offset };
}

describe('ChunkedDecoder: what it accepts', () => {
  it('reads chunks, the last chunk and an empty trailer section', () => {
    expect(decode('5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n')).toEqual({
      ok: true,
      payload: 'hello world',
      trailers: [],
      rest: '',
    });
  });

  it('reads hex sizes of either case with leading zeros', () => {
    expect(decode('a\r\n0123456789\r\nA\r\n0123456789\r\n000\r\n\r\n')).toMatchObject({
      ok: true,
      payload: '01234567890123456789',
    });
    expect(decode('0000000000000000000000000001\r\nx\r\n0\r\n\r\n')).toMatchObject({
      payload: 'x',
    });
  });

  it('returns trailer fields in order and the bytes after the message as rest', () => {
    expect(decode('1\r\nx\r\n0\r\nA: 1\r\nb:\t two \r\nA: 3\r\n\r\nGET / HTTP/1.1\r\n')).toEqual({
      ok: true,
      payload: 'x',
      trailers: [
        ['A', '1'],
        ['b', 'two'],
        ['A', '3'],
      ],
      rest: 'GET / HTTP/1.1\r\n',
    });
  });

  it('accepts an empty body and chunk data holding CR, LF and "0\\r\\n\\r\\n"', () => {
    expect(decode('0\r\n\r\n')).toMatchObject({ ok: true, payload: '' });
    expect(decode('6\r\n0\r\n\r\n\n\r\n0\r\n\r\n')).toMatchObject({ payload: '0\r\n\r\n\n' });
  });

  it.each([
    ['no BWS', '5;a=b;c="d e";f\r\n'],
    ['BWS before ";"', '5 \t;a=b\r\n'],
    ['BWS after ";"', '5; a=b\r\n'],
    ['BWS around "="', '5;a \t= \tb\r\n'],
    ['BWS after a quoted value', '5;a="b" ;c\r\n'],
    ['BWS after a token value', '5;a=b\t;c\r\n'],
    ['BWS after a name', '5;a ;c\r\n'],
    ['a quoted-pair and obs-text', '5;a="\\"\\\\\\\t\xff"\r\n'],
    ['an empty quoted-string', '5;a=""\r\n'],
    ['every tchar', "5;!#$%&'*+-.^_`|~09AZaz=!#$%&'*+-.^_`|~09AZaz\r\n"],
  ])('accepts chunk-ext with %s', (_why, line) => {
    expect(decode(`${line}hello\r\n0\r\n\r\n`)).toMatchObject({ ok: true, payload: 'hello' });
  });

  it('hands each chunk-ext, unquoted, with its chunk-size to onChunkExt', () => {
    const seen: unknown[] = [];
    const wire = '5 ; a = "x\\"y" ;b;c=d\r\nhello\r\n3\r\nabc\r\n0;last\r\n\r\n';
    const decoder = new ChunkedDecoder({ onChunkExt: (ext, size) => seen.push([ext, size]) });
    expect(decoder.push(bytes(wire)).done).toBe(true);
    expect(seen).toEqual([
      [[['a', 'x"y'], ['b'], ['c', 'd']], 5],
      [[['last']], 0],
    ]);
  });
});

describe('ChunkedDecoder: what it rejects, with code and offset', () => {
  const { INVALID_CHUNK_SIZE, INVALID_CHUNK_EXTENSION, EXPECTED_CRLF } = ChunkedErrorCode;
  it.each([
    ['a 0x prefix', '0x5\r\nhello\r\n0\r\n\r\n', INVALID_CHUNK_SIZE, 1],
    ['a plus sign', '+5\r\nhello\r\n0\r\n\r\n', INVALID_CHUNK_SIZE, 0],
    ['a minus sign', '-5\r\nhello\r\n0\r\n\r\n', INVALID_CHUNK_SIZE, 0],
    ['an underscore', '5_0\r\n', INVALID_CHUNK_SIZE, 1],
    ['a leading space', ' 5\r\nhello\r\n0\r\n\r\n', INVALID_CHUNK_SIZE, 0],
    ['a trailing space', '5 \r\nhello\r\n0\r\n\r\n', INVALID_CHUNK_SIZE, 2],
    ['a trailing tab', '5\t\r\nhello\r\n0\r\n\r\n', INVALID_CHUNK_SIZE, 2],
    ['a trailing space on the last chunk', '0 \r\n\r\n', INVALID_CHUNK_SIZE, 2],
    ['an empty chunk-size line', '\r\n0\r\n\r\n', INVALID_CHUNK_SIZE, 0],
    ['a non-hex digit', '5g\r\n', INVALID_CHUNK_SIZE, 1],
    ['a missing last chunk (empty line after data)', '1\r\nx\r\n\r\n', INVALID_CHUNK_SIZE, 6],
    ['a bare LF after chunk-size', '5\nhello\r\n0\r\n\r\n', EXPECTED_CRLF, 1],
    ['a bare CR after chunk-size', '5\rhello\r\n0\r\n\r\n', EXPECTED_CRLF, 2],
    ['a bare LF after chunk-ext', '5;a=b\nhello\r\n0\r\n\r\n', EXPECTED_CRLF, 5],
    ['a bare LF after the last chunk', '0\n\r\n', EXPECTED_CRLF, 1],
    ['a bare LF after chunk data', '5\r\nhello\n0\r\n\r\n', EXPECTED_CRLF, 8],
    ['a bare CR after chunk data', '5\r\nhello\r0\r\n\r\n', EXPECTED_CRLF, 9],
    ['more data than chunk-size', '5\r\nhellox\r\n0\r\n\r\n', EXPECTED_CRLF, 8],
    ['an empty extension', '5;\r\nhello\r\n', INVALID_CHUNK_EXTENSION, 2],
    ['an empty value', '5;a=\r\nhello\r\n', INVALID_CHUNK_EXTENSION, 4],
    ['a value-only extension', '5;=b\r\n', INVALID_CHUNK_EXTENSION, 2],
    ['whitespace before CR', '5;a \r\n', INVALID_CHUNK_EXTENSION, 4],
    ['whitespace after a value before CR', '5;a=b\t\r\n', INVALID_CHUNK_EXTENSION, 6],
    ['whitespace inside a token value', '5;a=b c\r\n', INVALID_CHUNK_EXTENSION, 6],
    ['a second "="', '5;a=b=c\r\n', INVALID_CHUNK_EXTENSION, 5],
    ['a quoted name', '5;"a"\r\n', INVALID_CHUNK_EXTENSION, 2],
    ['bytes after a closing quote', '5;a="b"c\r\n', INVALID_CHUNK_EXTENSION, 7],
    ['CR inside a quoted-string', '5;a="b\r\n"\r\n', INVALID_CHUNK_EXTENSION, 6],
    ['a CTL inside a quoted-string', '5;a="\x01"\r\n', INVALID_CHUNK_EXTENSION, 5],
    ['DEL inside a quoted-string', '5;a="\x7f"\r\n', INVALID_CHUNK_EXTENSION, 5],
    ['a CTL in a quoted-pair', '5;a="\\\x01"\r\n', INVALID_CHUNK_EXTENSION, 6],
    ['obs-text in a token', '5;a\xff\r\n', INVALID_CHUNK_EXTENSION, 3],
    ['a NUL in a token value', '5;a=b\x00\r\n', INVALID_CHUNK_EXTENSION, 5],
    ['a separator in a name', '5;a(b\r\n', INVALID_CHUNK_EXTENSION, 3],
  ])('rejects %s', (_why, wire, code, offset) => {
    expect(failure(wire)).toEqual({ code, offset });
  });

  it.each([
    ['obs-fold', '0\r\nA: 1\r\n 2\r\n\r\n', 'ERR_H1_INVALID_FIELD_LINE', 9],
    ['whitespace before the colon', '0\r\nA : 1\r\n\r\n', 'ERR_H1_INVALID_FIELD_LINE', 4],
    ['a bare LF ending a field line', '0\r\nA: 1\n\r\n', 'ERR_H1_INVALID_FIELD_LINE', 7],
    ['a bare LF ending the section', '0\r\nA: 1\r\n\n', 'ERR_H1_INVALID_FIELD_LINE', 9],
    ['a bare LF as the whole section', '0\r\n\n', 'ERR_H1_INVALID_FIELD_LINE', 3],
    ['a bare CR ending the section', '0\r\n\rX', 'ERR_H1_INVALID_FIELD_LINE', 4],
    ['a CTL in a value', '0\r\nA: \x01\r\n\r\n', 'ERR_H1_INVALID_FIELD_LINE', 6],
  ])('rejects a trailer section with %s through parseFieldLines', (_why, wire, code, offset) => {
    expect(failure(wire)).toEqual({ code, offset });
  });

  it.each([
    ['before any chunk', '', 0],
    ['inside a chunk-size line', '5;a', 3],
    ['inside chunk data', '5\r\nhel', 6],
    ['before the CRLF after data', '5\r\nhello', 8],
    ['inside the trailer section', '0\r\nA: 1\r\n', 9],
  ])('rejects a stream that ends %s at its end', (_why, wire, offset) => {
    expect(failure(wire)).toEqual({ code: ChunkedErrorCode.INCOMPLETE_CHUNKED_BODY, offset });
  });
});

describe('ChunkedDecoder: limits', () => {
  const { CHUNK_SIZE_TOO_LARGE, CHUNK_EXTENSIONS_TOO_LARGE, TRAILERS_TOO_LARGE } = ChunkedErrorCode;

  it('refuses a chunk-size above maxChunkSize at the digit that crosses it', () => {
    expect(failure('10000\r\n', { maxChunkSize: 0xffff })).toEqual({
      code: CHUNK_SIZE_TOO_LARGE,
      offset: 4,
    });
    expect(decode('ffff\r\n', { maxChunkSize: 0xffff })).toMatchObject({
      code: ChunkedErrorCode.INCOMPLETE_CHUNKED_BODY,
    });
  });

  it('never reads a chunk-size beyond Number.MAX_SAFE_INTEGER, whatever the limit', () => {
    const max = Number.MAX_SAFE_INTEGER.toString(16);
    expect(failure(`${max}\r\n`)).toMatchObject({ code: ChunkedErrorCode.INCOMPLETE_CHUNKED_BODY });
    expect(failure('20000000000000\r\n')).toEqual({ code: CHUNK_SIZE_TOO_LARGE, offset: 13 });
    expect(failure('ffffffffffffffffffff\r\n', { maxChunkSize: Number.POSITIVE_INFINITY })).toEqual(
      { code: CHUNK_SIZE_TOO_LARGE, offset: 13 },
    );
    expect(failure('00000000000000000000000020000000000000\r\n')).toMatchObject({
      code: CHUNK_SIZE_TOO_LARGE,
    });
  });

  it('counts chunk-ext bytes over the whole message, 16 KiB by default', () => {
    const ext = (n: number): string => `;${'e'.repeat(n - 1)}`;
    expect(decode(`1${ext(16384)}\r\nx\r\n0\r\n\r\n`)).toMatchObject({ ok: true });
    expect(failure(`1${ext(16385)}\r\nx\r\n0\r\n\r\n`)).toEqual({
      code: CHUNK_EXTENSIONS_TOO_LARGE,
      offset: 1 + 16384,
    });
    const many = `1${ext(1000)}\r\nx\r\n`.repeat(17);
    expect(failure(`${many}0\r\n\r\n`)).toEqual({
      code: CHUNK_EXTENSIONS_TOO_LARGE,
      offset: 16 * 1006 + 1 + 384,
    });
    expect(failure('1 ;a\r\nx\r\n0;b\r\n\r\n', { maxChunkExtBytes: 4 })).toEqual({
      code: CHUNK_EXTENSIONS_TOO_LARGE,
      offset: 11,
    });
  });

  it('refuses a trailer section beyond maxTrailerBytes before keeping the byte', () => {
    const section = 'A: 1\r\nB: 2\r\n\r\n';
    expect(decode(`0\r\n${section}`, { maxTrailerBytes: section.length })).toMatchObject({
      ok: true,
    });
    expect(failure(`0\r\n${section}`, { maxTrailerBytes: section.length - 1 })).toEqual({
      code: TRAILERS_TOO_LARGE,
      offset: 3 + section.length - 1,
    });
    expect(failure(`0\r\n${'A: 1\r\n'.repeat(3000)}`)).toEqual({
      code: TRAILERS_TOO_LARGE,
      offset: 3 + 16384,
    });
  });

  it('refuses more trailer fields than maxTrailerFields', () => {
    expect(failure('0\r\nA: 1\r\nB: 2\r\n\r\n', { maxTrailerFields: 1 })).toEqual({
      code: 'ERR_H1_TOO_MANY_FIELDS',
      offset: 9,
    });
  });

  it('adds the offset option to every error offset', () => {
    expect(failure('5\r\nhellox', { offset: 1000 })).toEqual({
      code: ChunkedErrorCode.EXPECTED_CRLF,
      offset: 1008,
    });
    expect(failure('0\r\nA : 1\r\n\r\n', { offset: 1000 })).toMatchObject({ offset: 1004 });
  });

  it('refuses a negative or NaN limit when constructed', () => {
    expect(() => new ChunkedDecoder({ maxChunkExtBytes: -1 })).toThrow(H1Error);
    expect(() => new ChunkedDecoder({ maxTrailerBytes: Number.NaN })).toThrow(H1Error);
  });
});

describe('ChunkedDecoder: lifecycle', () => {
  it('returns views of the pushed bytes, never copies', () => {
    const wire = bytes('5\r\nhello\r\n0\r\n\r\nNEXT');
    const result = new ChunkedDecoder().push(wire);
    expect(result.data).toHaveLength(1);
    expect(result.data[0]!.buffer).toBe(wire.buffer);
    expect(result.data[0]!.byteOffset).toBe(wire.byteOffset + 3);
    expect(result.rest.buffer).toBe(wire.buffer);
    wire[3] = 0x4a;
    expect(Buffer.from(result.data[0]!).toString()).toBe('Jello');
  });

  it('throws ERR_H1_CHUNKED_BODY_ENDED on a push after the end, even an empty one', () => {
    const decoder = new ChunkedDecoder();
    expect(decoder.push(bytes('0\r\n\r\n')).done).toBe(true);
    for (const more of ['x', '']) {
      const error = thrown(() => decoder.push(bytes(more)));
      expect(error).toBeInstanceOf(H1Error);
      expect(error).toMatchObject({ code: ChunkedErrorCode.CHUNKED_BODY_ENDED, offset: 5 });
    }
    decoder.finish();
    decoder.finish();
  });

  it('throws the same H1Error from every call after a fault', () => {
    const decoder = new ChunkedDecoder();
    const first = thrown(() => decoder.push(bytes('5\r\nhellox')));
    expect(first).toMatchObject({ code: ChunkedErrorCode.EXPECTED_CRLF, offset: 8 });
    expect(thrown(() => decoder.push(bytes('\r\n0\r\n\r\n')))).toBe(first);
    expect(thrown(() => decoder.finish())).toBe(first);
  });

  it('refuses input that is not a Uint8Array with a TypeError, leaving the decoder usable', () => {
    const decoder = new ChunkedDecoder();
    expect(() => decoder.push('0\r\n\r\n' as never)).toThrow(TypeError);
    expect(decoder.push(bytes('0\r\n\r\n')).done).toBe(true);
  });

  it('an empty push changes nothing', () => {
    const decoder = new ChunkedDecoder();
    expect(decoder.push(new Uint8Array(0))).toEqual({
      data: [],
      done: false,
      rest: new Uint8Array(0),
      trailers: [],
    });
    expect(decoder.push(bytes('0\r\n\r\n')).done).toBe(true);
  });

  it('fails with the cause when onChunkExt throws, since the push cannot resume', () => {
    const cause = new Error('bad signature');
    const decoder = new ChunkedDecoder({
      onChunkExt: () => {
        throw cause;
      },
    });
    const error = thrown(() => decoder.push(bytes('1;sig=x\r\na\r\n0\r\n\r\n')));
    expect(error).toMatchObject({
      code: ChunkedErrorCode.INVALID_CHUNK_EXTENSION,
      offset: 8,
      cause,
    });
    expect(thrown(() => decoder.finish())).toBe(error);
  });

  it('keeps a trailer section cut across pushes though the caller reuses its buffer', () => {
    const decoder = new ChunkedDecoder();
    const buffer = new Uint8Array(8);
    const feed = (s: string) => {
      buffer.set(bytes(s));
      return decoder.push(buffer.subarray(0, s.length));
    };
    feed('0\r\nAb: ');
    feed('12\r\n');
    const result = feed('\r\nrest');
    expect(result).toMatchObject({ done: true, trailers: [['Ab', '12']] });
    expect(Buffer.from(result.rest).toString()).toBe('rest');
  });
});
