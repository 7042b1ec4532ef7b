// What a client request is given, checked where it is given, and the timeouts it derives.
import type { ConnectionOptions } from 'node:tls';
import type { ChunkedDecoderOptions } from '@h1kit/chunked';
import { type FieldInput, H1Error } from '@h1kit/headers';
import { DuplexErrorCode } from '../errors.js';
import { checkChunkedOptions, checkNumbers } from '../io/options.js';
import type { Agent } from './agent.js';

/**
 * Options of `request(url, options)`: method, fields, body, agent, timeouts and signal. Times and
 * limits are checked when the request is made (`ERR_H1_INVALID_OPTION`), before anything
 * connects.
 *
 * @example
 * ```ts
 * import { type RequestOptions, request } from '@h1kit/duplex';
 * const options: RequestOptions = {
 *   method: 'POST',
 *   headers: { 'Content-Type': 'application/json', 'Content-Length': 13 },
 *   expectContinue: true, // the body waits for 100 Continue (or 1 s)
 *   headTimeout: 5_000,
 *   signal: AbortSignal.timeout(30_000),
 * };
 * request('http://127.0.0.1:8080/items', options).body.end('{"name":"ab"}');
 * ```
 */
export interface RequestOptions {
  /** Standard methods are sent upper-cased (`get` goes as GET), others exactly as given. */
  method?: string;
  /**
   * The request's fields, in any shape `@h1kit/headers` takes. Host is added from the URL unless
   * given, and so is a Basic Authorization for `user:password@` in the URL.
   */
  headers?: FieldInput;
  /**
   * Whether the request has a body. Default: yes, except for GET, HEAD, OPTIONS, TRACE, DELETE
   * and CONNECT, and for a request with an Upgrade field. A body is chunked unless the headers
   * give a Content-Length.
   */
  body?: boolean;
  /** The request-target; default: the URL's path and query, or its host:port for CONNECT. */
  target?: string;
  /** TLS options for https: URLs (ca, servername, rejectUnauthorized, ...). */
  tls?: ConnectionOptions;
  /** Aborts the exchange: pending work fails with `ERR_H1_ABORTED`, the reason as its cause. */
  signal?: AbortSignal;
  /**
   * Where the connection comes from: an `Agent`'s pool (default `defaultAgent`), or `false` for
   * a connection of its own that closes after the exchange.
   */
  agent?: Agent | false;
  /** Time to establish a new connection, TLS included, in ms. Default 10 000; 0: none. */
  connectTimeout?: number;
  /** Time from the request's start to the response head, in ms. Default 300 000; 0: none. */
  headTimeout?: number;
  /** Time the response body may stay silent, in ms. Default 300 000; 0: none. */
  bodyTimeout?: number;
  /**
   * Send the head alone with `Expect: 100-continue` and the body only after `100 Continue`, or
   * after `timeout` ms without an answer (default 1 000, Go's ExpectContinueTimeout). A final
   * status instead means the body is not sent: writing it fails with `ERR_H1_EXPECTATION_FAILED`.
   */
  expectContinue?: boolean | { timeout?: number };
  /** Largest response head, in bytes. Default 16384. */
  maxHeadBytes?: number;
  /** Largest request head sent, in bytes: a bigger one throws HEADERS_TOO_LARGE. Default 16384. */
  maxRequestHeadBytes?: number;
  /** Most field lines in a response head. Default 128. */
  maxFields?: number;
  /** Limits of the chunked decoder for the response body: chunk-size, chunk-ext, trailers. */
  chunked?: ChunkedDecoderOptions;
}

/** Which of an exchange's timeouts runs: none, the connect, the response head, body silence. */
export type Timing = 'none' | 'connect' | 'head' | 'body';

const DEFAULT_TIMEOUTS = { connect: 10_000, head: 300_000, body: 300_000 } as const;
const DEFAULT_CONTINUE_TIMEOUT = 1_000;
const TIMES = ['connectTimeout', 'headTimeout', 'bodyTimeout'] as const;
const LIMITS = ['maxHeadBytes', 'maxRequestHeadBytes', 'maxFields'] as const;
const CONTINUE = ['timeout'] as const;

/** Throws `H1Error` for an option `request()` cannot use, before anything connects. */
export function checkRequestOptions(options: RequestOptions): void {
  checkNumbers(options, TIMES);
  checkNumbers(options, LIMITS, 1);
  if (typeof options.expectContinue === 'object') checkNumbers(options.expectContinue, CONTINUE);
  checkChunkedOptions(options.chunked);
}

/** The ms `timing` allows (0: no timeout). */
export function timeoutOf(timing: Exclude<Timing, 'none'>, options: RequestOptions): number {
  const given =
    timing === 'connect'
      ? options.connectTimeout
      : timing === 'head'
        ? options.headTimeout
        : options.bodyTimeout;
  return given ?? DEFAULT_TIMEOUTS[timing];
}

/** What an exchange fails with when `timing`'s timeout passes. */
export function timedOutError(timing: Exclude<Timing, 'none'>, options: RequestOptions): H1Error {
  const ms = timeoutOf(timing, options);
  if (timing === 'connect') {
    return new H1Error(
      DuplexErrorCode.CONNECT_TIMEOUT,
      `no connection within connectTimeout (${ms} ms)`,
    );
  }
  if (timing === 'head') {
    return new H1Error(
      DuplexErrorCode.HEAD_TIMEOUT,
      `no response head within headTimeout (${ms} ms)`,
    );
  }
  return new H1Error(
    DuplexErrorCode.BODY_TIMEOUT,
    `the response body was silent for bodyTimeout (${ms} ms)`,
  );
}

/** Whether the request waits for 100 Continue, and for how long at most. */
export function continueTimeoutOf(options: RequestOptions): number | undefined {
  const expect = options.expectContinue;
  if (expect === undefined || expect === false) return undefined;
  return (typeof expect === 'object' ? expect.timeout : undefined) ?? DEFAULT_CONTINUE_TIMEOUT;
}
