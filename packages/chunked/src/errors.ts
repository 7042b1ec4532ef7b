/**
 * The codes `@h1kit/chunked` throws, all as `H1Error`. Faults inside a trailer section come from
 * `parseFieldLines` and keep the `@h1kit/headers` codes (`ERR_H1_INVALID_FIELD_LINE`,
 * `ERR_H1_TOO_MANY_FIELDS`); trailers given to the encoder are checked by `serializeFieldLines`.
 *
 * @example
 * ```ts
 * import { ChunkedDecoder, ChunkedErrorCode, H1Error } from '@h1kit/chunked';
 * try {
 *   new ChunkedDecoder({ maxChunkSize: 1024 }).push(new TextEncoder().encode('fffff\r\n'));
 * } catch (error) {
 *   if (error instanceof H1Error && error.code === ChunkedErrorCode.CHUNK_SIZE_TOO_LARGE) {
 *     // answer 413 rather than 400
 *   }
 * }
 * ```
 */
export const ChunkedErrorCode = {
  /** chunk-size is not 1*HEXDIG: a sign, `0x`, whitespace around it, an empty size. */
  INVALID_CHUNK_SIZE: 'ERR_H1_INVALID_CHUNK_SIZE',
  /** chunk-size above `maxChunkSize` (never more than `Number.MAX_SAFE_INTEGER`). */
  CHUNK_SIZE_TOO_LARGE: 'ERR_H1_CHUNK_SIZE_TOO_LARGE',
  /** chunk-ext breaks its grammar, or an extension given to the encoder cannot be written. */
  INVALID_CHUNK_EXTENSION: 'ERR_H1_INVALID_CHUNK_EXTENSION',
  /** The chunk-ext bytes of one message exceed `maxChunkExtBytes` (CVE-2024-22019 class). */
  CHUNK_EXTENSIONS_TOO_LARGE: 'ERR_H1_CHUNK_EXTENSIONS_TOO_LARGE',
  /** A chunk-size line, or chunk data, is not followed by CRLF (bare LF, lone CR, extra data). */
  EXPECTED_CRLF: 'ERR_H1_EXPECTED_CRLF',
  /** The trailer section grows beyond `maxTrailerBytes` before its empty line. */
  TRAILERS_TOO_LARGE: 'ERR_H1_TRAILERS_TOO_LARGE',
  /** `finish()` was called (the stream ended) inside the message. */
  INCOMPLETE_CHUNKED_BODY: 'ERR_H1_INCOMPLETE_CHUNKED_BODY',
  /** `push()` was called after the message had ended; the bytes after it were already `rest`. */
  CHUNKED_BODY_ENDED: 'ERR_H1_CHUNKED_BODY_ENDED',
  /**
   * A decoder option is unusable: a limit or `offset` that is negative, NaN or not a number, or an
   * `onChunkExt` that is not a function (thrown by the constructor, `offset` undefined).
   */
  INVALID_CHUNKED_OPTION: 'ERR_H1_INVALID_CHUNKED_OPTION',
} as const;

/**
 * One of the `ChunkedErrorCode` values: the `code` of an `H1Error` this package throws.
 *
 * @example
 * ```ts
 * import { ChunkedErrorCode } from '@h1kit/chunked';
 * function statusFor(code: ChunkedErrorCode): number {
 *   return code === ChunkedErrorCode.CHUNK_SIZE_TOO_LARGE ? 413 : 400;
 * }
 * ```
 */
export type ChunkedErrorCode = (typeof ChunkedErrorCode)[keyof typeof ChunkedErrorCode];
