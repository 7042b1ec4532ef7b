import { H1Error } from '@h1kit/errors';

// H1Error lives in @h1kit/errors, the one class body of h1kit; re-exported here as it always was.
export { H1Error };

/** The codes `@h1kit/bufio` throws. Errors of the source or sink itself pass through unchanged. */
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
export const DEFAULT_SIZE = 65536;

export function checkSize(size: number): number {
  if (!Number.isSafeInteger(size) || size <= 0) {
    throw invalidArgument(`size must be a positive integer, got ${String(size)}`);
  }
  return Math.max(size, MIN_SIZE);
}
