// Options are checked where they are given (createServer, exchange(), request()), not where they
// are first used: deep in a socket's 'data' handler a bad option would be an uncaught exception
// and a connection left hanging.
import { ChunkedDecoder, type ChunkedDecoderOptions } from '@h1kit/chunked';
import { H1Error } from '@h1kit/headers';
import { DuplexErrorCode } from '../errors.js';

/**
 * Throws `ERR_H1_INVALID_OPTION` unless each named value is absent or a finite number of at
 * least `min` (0 for times and byte counts, 1 for limits that must let something through).
 */
export function checkNumbers(options: object, names: readonly string[], min = 0): void {
  for (const name of names) {
    const value = (options as Record<string, unknown>)[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
      throw new H1Error(
        DuplexErrorCode.INVALID_OPTION,
        `${name} must be a finite number of at least ${min}; got ${String(value)}`,
      );
    }
  }
}

/** Options objects already found usable: one given to every exchange is checked once. */
const usable = new WeakSet<ChunkedDecoderOptions>();

/** Throws the chunked decoder's own `ERR_H1_INVALID_CHUNKED_OPTION` for options it refuses. */
export function checkChunkedOptions(options: ChunkedDecoderOptions | undefined): void {
  if (options === undefined || usable.has(options)) return;
  // The decoder's constructor is the one judge of its options.
  new ChunkedDecoder(options);
  usable.add(options);
}
