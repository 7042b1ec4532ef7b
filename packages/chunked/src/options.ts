import type { FieldInput } from '@h1kit/headers';

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

export const DEFAULT_CHUNKED_LIMITS = {
  maxChunkSize: Number.MAX_SAFE_INTEGER,
  maxChunkExtBytes: 16384,
  maxTrailerBytes: 16384,
  maxTrailerFields: 128,
} as const;

/** Reads a limit, refusing values that would make the limit meaningless. */
export function limit(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative number, got ${String(value)}`);
  }
  return value;
}

export interface ChunkedEncoderOptions {
  /** The trailer fields to send, or a function asked for them once the last write is in. */
  trailers?: FieldInput | (() => FieldInput | undefined);
}

/** Resolves the trailer option at the end of the body, when a computed trailer is known. */
export function trailersOf(option: ChunkedEncoderOptions['trailers']): FieldInput | undefined {
  return typeof option === 'function' ? option() : option;
}
