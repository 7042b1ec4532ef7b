import { DEFAULT_FIELD_SECTION_LIMITS, type FieldInput, H1Error } from '@h1kit/headers';
import { ChunkedErrorCode } from './errors.js';

/**
 * A parsed chunk-ext: `[name]` or `[name, value]`, the value with any quoted-string undone.
 *
 * @example
 * ```ts
 * import { type ChunkExt, encodeChunk } from '@h1kit/chunked';
 * const chunkExt: ChunkExt = [['sig', 'a1b2'], ['note', 'two words'], ['last']];
 * encodeChunk(new TextEncoder().encode('hello'), chunkExt);
 * // size line: '5;sig=a1b2;note="two words";last\r\n'
 * ```
 */
export type ChunkExt = ReadonlyArray<readonly [name: string, value?: string | undefined]>;

/**
 * The limits of a `ChunkedDecoder`, each checked before memory or time is spent past it.
 *
 * @example
 * ```ts
 * import { ChunkedDecoder, type ChunkedLimits } from '@h1kit/chunked';
 * const limits: ChunkedLimits = { maxChunkSize: 1 << 20, maxTrailerFields: 16, offset: 412 };
 * const decoder = new ChunkedDecoder(limits); // error offsets count from the start of the stream
 * ```
 */
export interface ChunkedLimits {
  /** Largest chunk-size accepted. Default and ceiling `Number.MAX_SAFE_INTEGER`. */
  maxChunkSize?: number;
  /**
   * Most chunk-ext bytes in one message, counted from the end of each chunk-size to its CR
   * (`;`, BWS, `=` and quotes included). Default 16384.
   */
  maxChunkExtBytes?: number;
  /** Largest trailer section, its final empty line included. Default 16384. */
  maxTrailerBytes?: number;
  /** Most trailer field lines. Default 128. */
  maxTrailerFields?: number;
  /** Added to every error offset: where the body starts in the caller's stream. Default 0. */
  offset?: number;
}

/**
 * Options of a `ChunkedDecoder` and the decoder streams: the limits, and a chunk-ext callback.
 *
 * @example
 * ```ts
 * import { ChunkedDecoder, type ChunkedDecoderOptions } from '@h1kit/chunked';
 * const options: ChunkedDecoderOptions = {
 *   maxChunkExtBytes: 1024,
 *   onChunkExt: (chunkExt, chunkSize) => console.log(chunkSize, chunkExt), // 5 [['sig', 'a1b2']]
 * };
 * new ChunkedDecoder(options).push(new TextEncoder().encode('5;sig=a1b2\r\nhello\r\n'));
 * ```
 */
export interface ChunkedDecoderOptions extends ChunkedLimits {
  /**
   * Called with the extensions of each chunk once its chunk-size line is complete and valid,
   * before that chunk's data is returned. Only when set are extension names and values decoded.
   */
  onChunkExt?: (chunkExt: Array<[name: string, value?: string]>, chunkSize: number) => void;
}

/**
 * The limits a `ChunkedDecoder` applies where its options name none.
 *
 * @example
 * ```ts
 * import { ChunkedDecoder, DEFAULT_CHUNKED_LIMITS } from '@h1kit/chunked';
 * // A quarter of the default trailer section, the rest as default.
 * new ChunkedDecoder({ maxTrailerBytes: DEFAULT_CHUNKED_LIMITS.maxTrailerBytes / 4 });
 * ```
 */
export const DEFAULT_CHUNKED_LIMITS = {
  maxChunkSize: Number.MAX_SAFE_INTEGER,
  maxChunkExtBytes: 16384,
  // A trailer section is a field section: the same bounds as parseFieldLines by default.
  maxTrailerBytes: DEFAULT_FIELD_SECTION_LIMITS.maxBytes,
  maxTrailerFields: DEFAULT_FIELD_SECTION_LIMITS.maxFields,
} as const;

/**
 * Reads a limit (or the offset), refusing with `ERR_H1_INVALID_CHUNKED_OPTION` a value that would
 * make it meaningless: not a number, NaN, or negative. `Infinity` lifts the limit.
 */
export function limit(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw invalidOption(`${name} must be a non-negative number, got ${describe(value)}`);
  }
  return value;
}

/** Reads an optional callback, refusing anything but a function or `undefined`. */
export function callback<T extends (...args: never[]) => unknown>(
  value: T | undefined,
  name: string,
): T | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw invalidOption(`${name} must be a function, got ${describe(value)}`);
  }
  return value;
}

function invalidOption(message: string): H1Error {
  return new H1Error(ChunkedErrorCode.INVALID_CHUNKED_OPTION, message);
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return value === null ? 'null' : typeof value;
}

/**
 * Options of the chunked encoder stream adapters.
 *
 * @example
 * ```ts
 * import { ChunkedEncoderStream, type ChunkedEncoderOptions } from '@h1kit/chunked';
 * let bytes = 0;
 * const options: ChunkedEncoderOptions = { trailers: () => ({ 'X-Body-Bytes': bytes }) };
 * const encoder = new ChunkedEncoderStream(options); // trailers asked for after the last write
 * ```
 */
export interface ChunkedEncoderOptions {
  /** The trailer fields to send, or a function asked for them once the last write is in. */
  trailers?: FieldInput | (() => FieldInput | undefined);
}

/** Resolves the trailer option at the end of the body, when a computed trailer is known. */
export function trailersOf(option: ChunkedEncoderOptions['trailers']): FieldInput | undefined {
  return typeof option === 'function' ? option() : option;
}
