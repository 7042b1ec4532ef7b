import { H1Error } from '@h1kit/errors';

// H1Error lives in @h1kit/errors, the one class body of h1kit; re-exported here as it always was.
export { H1Error };

/**
 * The codes `@h1kit/bufio` throws, as the `code` of an `H1Error`. Errors of the source or sink
 * itself (`ECONNRESET`, `EPIPE`, a stream's own error) pass through unchanged.
 *
 * @example
 * ```ts
 * import { BufferedReader, BufioErrorCode, H1Error } from '@h1kit/bufio';
 * const reader = new BufferedReader(socket, { size: 8192 });
 * try {
 *   const fieldLine = await reader.readSlice(0x0a);
 * } catch (error) {
 *   if (error instanceof H1Error && error.code === BufioErrorCode.BUFFER_FULL) {
 *     // no LF within 8192 bytes: a field-line too long, answer 431; the bytes stay buffered
 *   }
 * }
 * ```
 */
export const BufioErrorCode = {
  /** `readSlice` found no delimiter within `size` bytes; `peek(n)` with `n > size`. */
  BUFFER_FULL: 'ERR_BUFIO_BUFFER_FULL',
  /** `readFull(n)`: the stream ended after some but fewer than `n` bytes. */
  UNEXPECTED_EOF: 'ERR_BUFIO_UNEXPECTED_EOF',
  /** The source closed without ending, or the sink closed with bytes not yet taken. */
  PREMATURE_CLOSE: 'ERR_BUFIO_PREMATURE_CLOSE',
  /** A call was made while another was still waiting for the source. */
  CONCURRENT_CALL: 'ERR_BUFIO_CONCURRENT_CALL',
  /** The reader or writer was released (or handed to a Readable) and cannot be used. */
  RELEASED: 'ERR_BUFIO_RELEASED',
  /** The source already has a consumer ('data' or 'readable' listeners) that would steal bytes. */
  SOURCE_IN_USE: 'ERR_BUFIO_SOURCE_IN_USE',
  /** A count, size, delimiter or stream mode the call cannot work with. */
  INVALID_ARGUMENT: 'ERR_BUFIO_INVALID_ARGUMENT',
} as const;

/** `ERR_BUFIO_INVALID_ARGUMENT` saying `what` was wrong with an argument. */
export function invalidArgument(what: string): H1Error {
  return new H1Error(BufioErrorCode.INVALID_ARGUMENT, what);
}

/** Checks a byte count given by the caller: a non-negative safe integer. */
export function checkCount(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw invalidArgument(`${what} must be a non-negative integer, got ${String(n)}`);
  }
}

/** Go's bufio rounds small buffers up to this; readLine needs room to hold back a CR. */
export const MIN_SIZE = 16;
/** The reader's and the writer's buffer size unless given one: one socket read (Go's is 4096). */
export const DEFAULT_SIZE = 65536;

/** A buffer size given by the caller: a positive integer, rounded up to `MIN_SIZE`. */
export function checkSize(size: number): number {
  if (!Number.isSafeInteger(size) || size <= 0) {
    throw invalidArgument(`size must be a positive integer, got ${String(size)}`);
  }
  return Math.max(size, MIN_SIZE);
}
