// Decoder options: unusable values are refused when the decoder (or an adapter around one) is
// built, as an H1Error with a stable code, never a RangeError; usable edge values are kept.
import {
  ChunkedDecoder,
  ChunkedDecoderStream,
  ChunkedDecoderTransform,
  ChunkedErrorCode,
  DEFAULT_CHUNKED_LIMITS,
  H1Error,
} from '@h1kit/chunked';
import { DEFAULT_FIELD_SECTION_LIMITS } from '@h1kit/headers';
import { describe, expect, it } from 'vitest';

type Options = NonNullable<ConstructorParameters<typeof ChunkedDecoder>[0]>;

const numeric = [
  'maxChunkSize',
  'maxChunkExtBytes',
  'maxTrailerBytes',
  'maxTrailerFields',
  'offset',
] as const;

/** Values that make a limit meaningless; the casts stand for callers without types. */
const unusable: unknown[] = [-1, -0.5, Number.NaN, -Infinity, '5', null, true, {}, 10n];

function refusal(build: () => unknown): H1Error {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(H1Error);
    return error as H1Error;
  }
  throw new Error('the options were accepted');
}

describe('ChunkedDecoder options', () => {
  describe.each(numeric)('%s', (name) => {
    it.each(unusable)('refuses %o with ERR_H1_INVALID_CHUNKED_OPTION', (value) => {
      const error = refusal(() => new ChunkedDecoder({ [name]: value } as Options));
      expect(error).not.toBeInstanceOf(RangeError);
      expect(error.name).toBe('H1Error');
      expect(error.code).toBe(ChunkedErrorCode.INVALID_CHUNKED_OPTION);
      expect(error.code).toBe('ERR_H1_INVALID_CHUNKED_OPTION');
      expect(error.offset).toBeUndefined();
      expect(error.message).toContain(name);
    });

    it.each([0, 1, 2.5, Infinity, undefined])('accepts %o', (value) => {
      expect(() => new ChunkedDecoder({ [name]: value })).not.toThrow();
    });
  });

  it('names the value it refused', () => {
    expect(refusal(() => new ChunkedDecoder({ maxTrailerBytes: -7 })).message).toBe(
      'maxTrailerBytes must be a non-negative number, got -7',
    );
    expect(refusal(() => new ChunkedDecoder({ offset: '12' as unknown as number })).message).toBe(
      'offset must be a non-negative number, got "12"',
    );
  });

  it.each(['f', 1, {}, null, true])('refuses an onChunkExt of %o', (value) => {
    const error = refusal(
      () => new ChunkedDecoder({ onChunkExt: value as unknown as Options['onChunkExt'] }),
    );
    expect(error.code).toBe(ChunkedErrorCode.INVALID_CHUNKED_OPTION);
    expect(error.message).toMatch(/^onChunkExt must be a function/);
  });

  it.each([
    [0, '1\r\nx\r\n0\r\n\r\n', 0],
    [4, '5\r\nhello\r\n0\r\n\r\n', 0],
    [4, '4\r\nabcd\r\n5\r\nhello\r\n0\r\n\r\n', 9],
    [14, 'f\r\n', 0],
  ])(
    'keeps a small maxChunkSize (%d) as a limit, even on a one-digit chunk-size',
    (maxChunkSize, wire, offset) => {
      // Whole, and one byte per push: the first size goes through the decoder's byte-wise path,
      // later ones through its fast path when they arrive whole.
      for (const pieces of [[wire], [...wire]]) {
        const decoder = new ChunkedDecoder({ maxChunkSize });
        const error = refusal(() => {
          for (const piece of pieces) decoder.push(Buffer.from(piece, 'latin1'));
        });
        expect(error).toMatchObject({ code: ChunkedErrorCode.CHUNK_SIZE_TOO_LARGE, offset });
      }
    },
  );

  it('accepts chunk-sizes up to a small maxChunkSize, and the last chunk under a zero one', () => {
    expect(new ChunkedDecoder({ maxChunkSize: 0 }).push(Buffer.from('0\r\n\r\n')).done).toBe(true);
    const result = new ChunkedDecoder({ maxChunkSize: 4 }).push(
      Buffer.from('4\r\nabcd\r\n004\r\nefgh\r\n0\r\n\r\n'),
    );
    expect(result.done).toBe(true);
    expect(Buffer.concat(result.data).toString()).toBe('abcdefgh');
  });

  it('leaves the decoder usable after a refused construction', () => {
    expect(() => new ChunkedDecoder({ maxChunkExtBytes: -1 })).toThrow(H1Error);
    const result = new ChunkedDecoder().push(Buffer.from('3\r\nabc\r\n0\r\n\r\n'));
    expect(result.done).toBe(true);
    expect(Buffer.concat(result.data).toString()).toBe('abc');
  });

  it('refuses the same options through both stream adapters', () => {
    for (const build of [
      () => new ChunkedDecoderTransform({ maxTrailerFields: -1 }),
      () => new ChunkedDecoderStream({ maxChunkSize: Number.NaN }),
      () => new ChunkedDecoderTransform({ onChunkExt: 'x' as unknown as Options['onChunkExt'] }),
    ]) {
      expect(refusal(build).code).toBe(ChunkedErrorCode.INVALID_CHUNKED_OPTION);
    }
  });

  it('bounds trailer sections by the field-section defaults of @h1kit/headers', () => {
    expect(DEFAULT_CHUNKED_LIMITS.maxTrailerBytes).toBe(DEFAULT_FIELD_SECTION_LIMITS.maxBytes);
    expect(DEFAULT_CHUNKED_LIMITS.maxTrailerFields).toBe(DEFAULT_FIELD_SECTION_LIMITS.maxFields);
  });
});
