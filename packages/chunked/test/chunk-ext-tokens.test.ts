// encodeChunk decides what a token is with isToken of @h1kit/headers: a chunk-ext name is
// written iff it is a token, and a value is written bare iff it is one (quoted otherwise).
import { fc, test } from '@fast-check/vitest';
import { ChunkedDecoder, ChunkedErrorCode, encodeChunk, H1Error } from '@h1kit/chunked';
import { isToken } from '@h1kit/headers';
import { describe, expect } from 'vitest';
import { text } from '../../../testkit/bytes.js';

const TCHAR_SYMBOLS = "!#$%&'*+-.^_`|~";
/** Strings near the token boundary: tchars, separators, controls, latin1 and beyond. */
const nearToken = fc.string({
  unit: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...`aZ09${TCHAR_SYMBOLS}`) },
    { weight: 2, arbitrary: fc.constantFrom(...' \t"(),/:;<=>?@[\\]{}\x7f\x00\r\n') },
    { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0x17f }).map(String.fromCharCode) },
  ),
  maxLength: 6,
});

const sizeLine = (pieces: Uint8Array[]): string => text(pieces[0]!);

describe('encodeChunk: tokens in chunk-ext', () => {
  test.prop([nearToken])('writes a name iff isToken says it is a token', (name) => {
    let line: string | undefined;
    try {
      line = sizeLine(encodeChunk(Buffer.from('x'), [[name]]));
    } catch (error) {
      expect(error).toBeInstanceOf(H1Error);
      expect((error as H1Error).code).toBe(ChunkedErrorCode.INVALID_CHUNK_EXTENSION);
    }
    expect(line !== undefined).toBe(isToken(name));
    if (line !== undefined) expect(line).toBe(`1;${name}\r\n`);
  });

  test.prop([nearToken])('writes a value bare iff isToken says it is a token', (value) => {
    let line: string | undefined;
    try {
      line = sizeLine(encodeChunk(Buffer.from('x'), [['n', value]]));
    } catch {
      // A value with a char a quoted-string cannot carry; not a token either.
      expect(isToken(value)).toBe(false);
      return;
    }
    expect(line.startsWith('1;n="')).toBe(!isToken(value));
    if (isToken(value)) expect(line).toBe(`1;n=${value}\r\n`);
    // Whatever was written reads back as the same value.
    const seen: unknown[] = [];
    const decoder = new ChunkedDecoder({ onChunkExt: (ext) => seen.push(ext) });
    decoder.push(Buffer.concat([...encodeChunk(Buffer.from('x'), [['n', value]])]));
    expect(seen).toEqual([[['n', value]]]);
  });
});
