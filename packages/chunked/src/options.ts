import { DEFAULT_FIELD_SECTION_LIMITS, type FieldInput, H1Error } from '@h1kit/headers';
import { ChunkedErrorCode } from './errors.js';

/** A parsed chunk-ext: `[name]` or `[name, value]`, the value with any quoted-string undone. */
export type ChunkExt = ReadonlyArray<readonly [name: string, value?: string | undefined]>;

/** The limits of a `ChunkedDecoder`, each checked before memory or time is spent past it. */
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

export interface ChunkedDecoderOptions extends ChunkedLimits {
  /**
   * Called with the extensions of each chunk once its chunk-size line is complete and valid,
   * before that chunk's data is returned. Only when set are extension names and values decoded.
   */
  onChunkExt?: (chunkExt: Array<[name: string, value?: string]>, chunkSize: number) => void;
}

/** The limits a `ChunkedDecoder` applies where its options name none. */
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

/** Options of the chunked encoder stream adapters. */
export interface ChunkedEncoderOptions {
  /** The trailer fields to send, or a function asked for them once the last write is in. */
  trailers?: FieldInput | (() => FieldInput | undefined);
}

/** Resolves the trailer option at the end of the body, when a computed trailer is known. */
export function trailersOf(option: ChunkedEncoderOptions['trailers']): FieldInput | undefined {
  return typeof option === 'function' ? option() : option;
}
