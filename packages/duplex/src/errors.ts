import { H1Error } from '@h1kit/headers';

/**
 * The codes `@h1kit/duplex` throws or fails streams with, beside those of headers and chunked,
 * as the `code` of an `H1Error`. Where Node's own error is behind one (a refused connect, a TLS
 * failure), it is the `cause`.
 *
 * @example
 * ```ts
 * import { DuplexErrorCode, H1Error, request } from '@h1kit/duplex';
 * try {
 *   await request('http://127.0.0.1:9/', { connectTimeout: 2_000 }).response; // nothing listens
 * } catch (error) {
 *   if (error instanceof H1Error && error.code === DuplexErrorCode.CONNECT_FAILED) {
 *     console.log((error.cause as NodeJS.ErrnoException).code); // 'ECONNREFUSED'
 *   }
 * }
 * ```
 */
export const DuplexErrorCode = {
  /** A head llhttp could not parse (the message names llhttp's own code). */
  INVALID_HEAD: 'ERR_H1_INVALID_HEAD',
  /** The connection ended before the request or response body was complete. */
  INCOMPLETE_BODY: 'ERR_H1_INCOMPLETE_BODY',
  /** More body bytes were written than the Content-Length sent. */
  BODY_TOO_LONG: 'ERR_H1_BODY_TOO_LONG',
  /** The body ended before the Content-Length sent was reached. */
  BODY_TOO_SHORT: 'ERR_H1_BODY_TOO_SHORT',
  /**
   * A body byte was written for a message that has none (HEAD, 204, 304), or for a client request
   * made without a body (a GET, unless `body: true`).
   */
  BODY_NOT_ALLOWED: 'ERR_H1_BODY_NOT_ALLOWED',
  /**
   * `respond()` was called twice, or after the exchange was given up; `informational()` after the
   * final head; `detach()` other than once after a 101 or a 2xx to CONNECT.
   */
  ALREADY_RESPONDED: 'ERR_H1_ALREADY_RESPONDED',
  /** Something that needs the response (`responseStream`) was used before `respond()`. */
  NOT_RESPONDED: 'ERR_H1_NOT_RESPONDED',
  /** A handler's promise settled with no response begun: the client got a 500. */
  NO_RESPONSE: 'ERR_H1_NO_RESPONSE',
  /** Trailers were set on a body that is not chunked, or after it ended. */
  TRAILERS_NOT_ALLOWED: 'ERR_H1_TRAILERS_NOT_ALLOWED',
  /** The head did not arrive within the head timeout (a request's on the server, a response's on the client). */
  HEAD_TIMEOUT: 'ERR_H1_HEAD_TIMEOUT',
  /** The request body did not arrive by its read deadline (`readTimeout`, `setReadDeadline`). */
  READ_TIMEOUT: 'ERR_H1_READ_TIMEOUT',
  /** The response was not complete by its write deadline (`writeTimeout`, `setWriteDeadline`). */
  WRITE_TIMEOUT: 'ERR_H1_WRITE_TIMEOUT',
  /**
   * An option of createServer, new Agent(), exchange() or request() that cannot be used: a time
   * or a limit that is negative, NaN, infinite or not a number. Thrown where the option is given.
   * Also `enableHijack` called twice on one server, or given a `match` without `onHijack`.
   */
  INVALID_OPTION: 'ERR_H1_INVALID_OPTION',
  /** A deadline that is neither a Date, a finite number of ms since the epoch, nor null. */
  INVALID_DEADLINE: 'ERR_H1_INVALID_DEADLINE',
  /** The connection closed or was reset under a pending exchange. */
  CONNECTION_CLOSED: 'ERR_H1_CONNECTION_CLOSED',
  /** hijack() could not take the request without losing or duplicating bytes; the message says why. */
  HIJACK_UNSAFE: 'ERR_H1_HIJACK_UNSAFE',
  /** enableHijack's control is closing: a request it would have taken was answered 503. */
  SERVER_CLOSING: 'ERR_H1_SERVER_CLOSING',
  /**
   * A ServerResponse method was called after its request was hijacked; or a hijacked connection
   * was asked for a second way (`readWriter` after `exchange()`, or the reverse), or after a
   * `keepResponse` hijack had already answered through the ServerResponse.
   */
  HIJACKED: 'ERR_H1_HIJACKED',
  /** An HTTP/1.1 request without Host (RFC 9112 section 3.2). */
  MISSING_HOST: 'ERR_H1_MISSING_HOST',
  /** The client could not connect (refused, unreachable, name not found); the cause is Node's error. */
  CONNECT_FAILED: 'ERR_H1_CONNECT_FAILED',
  /** The client's TLS handshake failed (certificate, protocol); the cause is Node's error. */
  TLS_FAILED: 'ERR_H1_TLS_FAILED',
  /** The client's connection was not established within `connectTimeout`. */
  CONNECT_TIMEOUT: 'ERR_H1_CONNECT_TIMEOUT',
  /** The connection ended before a whole response head arrived. */
  INCOMPLETE_HEAD: 'ERR_H1_INCOMPLETE_HEAD',
  /** The response body stayed silent longer than `bodyTimeout`. */
  BODY_TIMEOUT: 'ERR_H1_BODY_TIMEOUT',
  /** The request was aborted through its `signal`; the cause is the signal's reason. */
  ABORTED: 'ERR_H1_ABORTED',
  /**
   * A request sent with `expectContinue` got a final status instead of 100 Continue: its body
   * was not sent, and writing it fails with this code.
   */
  EXPECTATION_FAILED: 'ERR_H1_EXPECTATION_FAILED',
  /** `request()` with a URL that is not http: or https:, or whose credentials do not decode. */
  INVALID_URL: 'ERR_H1_INVALID_URL',
  /** This Node.js lacks a node:http internal the hijack needs and has no public hook for it; the message names the version. */
  UNSUPPORTED_RUNTIME: 'ERR_H1_UNSUPPORTED_RUNTIME',
} as const;

/** The error pending work fails with when its connection is gone: `ERR_H1_CONNECTION_CLOSED`. */
export function connectionClosed(message: string, cause?: unknown): H1Error {
  return new H1Error(
    DuplexErrorCode.CONNECTION_CLOSED,
    message,
    undefined,
    cause === undefined ? undefined : { cause },
  );
}

/** `ERR_H1_NO_RESPONSE`: `who` settled without a response; the client was sent a 500. */
export function noResponse(who: string): H1Error {
  return new H1Error(DuplexErrorCode.NO_RESPONSE, `${who} settled without a response; sent 500`);
}
