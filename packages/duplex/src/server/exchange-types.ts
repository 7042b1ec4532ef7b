// What a DuplexExchange is made with, and the states it moves through (hyper's conn.rs keeps
// the same two: reading and writing, each an enum).
import type { ChunkedDecoderOptions } from '@h1kit/chunked';
import type { Framing } from '@h1kit/headers';
import type { RequestHead } from '../io/message.js';
import type { Wire } from '../io/wire.js';

/**
 * What a `DuplexExchange` is built from: the connection, the parsed request head and its framing.
 * The server and `hijacked.exchange()` build it; its `wire` is an internal type, so code outside
 * h1kit reads this type (the per-exchange settings, by their names) rather than making one.
 *
 * @example
 * ```ts
 * import { createServer, type ExchangeInit, type ServerOptions } from '@h1kit/duplex';
 * // the settings each exchange is given, named as ExchangeInit names them
 * type ExchangeTimes = Pick<ExchangeInit, 'readTimeout' | 'writeTimeout' | 'maxDrainBytes'>;
 * const times: ExchangeTimes = { readTimeout: 10_000, writeTimeout: 60_000, maxDrainBytes: 65536 };
 * const options: ServerOptions = { ...times, headTimeout: 5_000 };
 * createServer((exchange) => {
 *   exchange.body.pipe(exchange.respond(200));
 * }, options);
 * ```
 */
export interface ExchangeInit {
  /** The connection's read side, holding any bytes already read past the head. */
  wire: Wire;
  /** The parsed request head. */
  request: RequestHead;
  /** How the request body is delimited, from `framing()`. */
  framing: Framing;
  /** llhttp's reading: may the connection carry another request after this one? */
  keepAlive: boolean;
  /**
   * Asked when the response head is planned: a server that began closing after the request
   * arrived answers it with `Connection: close` rather than promise a next request it will refuse.
   */
  closing?: () => boolean;
  chunked?: ChunkedDecoderOptions;
  /** A 100 Continue already went out for this request (node:http sent it before a hijack). */
  continued?: boolean;
  /** Send a Date field with every response that does not carry one. Default true. */
  sendDate?: boolean;
  /**
   * Largest response head sent (a 1xx head too), in bytes: `respond()` throws HEADERS_TOO_LARGE
   * for a bigger one, having sent nothing. Default 16384, what node:http and h1kit's own client
   * accept by default.
   */
  maxResponseHeadBytes?: number;
  /**
   * A read deadline this many ms after the head, for the request body (0 or absent: none);
   * `setReadDeadline` moves or clears it. Go's `http.Server.ReadTimeout`, less the head.
   */
  readTimeout?: number;
  /**
   * A write deadline this many ms after the head, for the whole response (0 or absent: none);
   * `setWriteDeadline` moves or clears it. Go's `http.Server.WriteTimeout`.
   */
  writeTimeout?: number;
  /** Request body bytes discarded after the response when nobody reads them; beyond, close. */
  maxDrainBytes?: number;
  /** Told once when the exchange is over: may the connection carry the next request (on the wire)? */
  onDone?: (reuse: boolean) => void;
}

/**
 * The request body: still coming (`body`), all of it arrived (`done`), given up by its reader
 * (`abandoned`), no longer HTTP after a 101 or a 2xx to CONNECT (`tunnel`), and that tunnel
 * handed to the caller by `detach()` (`detached`).
 */
export type Reading = 'body' | 'done' | 'abandoned' | 'tunnel' | 'detached';
/** The response: nothing final sent (`init`), its head written (`head`), its body open, done. */
export type Writing = 'init' | 'head' | 'body' | 'done';

/** How much of an unread request body is read and dropped to keep the connection. */
export const DEFAULT_MAX_DRAIN_BYTES = 1 << 20;
