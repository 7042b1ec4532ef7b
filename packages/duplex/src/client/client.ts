import { EventEmitter } from 'node:events';
import { isIP, connect as netConnect, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import type { ChunkedDecoderOptions } from '@h1kit/chunked';
import { type FieldInput, H1Error, serializeRequestHead } from '@h1kit/headers';
import { connectionClosed, DuplexErrorCode } from '../errors.js';
import { ignore } from '../io/close.js';
import {
  clientRequestPlan,
  incomingResponseFraming,
  isInterim,
  isTunnel,
} from '../io/framing-plan.js';
import { HeadReader } from '../io/head-reader.js';
import { IncomingBody } from '../io/incoming.js';
import { DEFAULT_HEAD_LIMITS, type ParsedHead } from '../io/llhttp.js';
import {
  checkHeadSize,
  type FieldPairs,
  fieldPairsOf,
  hasField,
  type ResponseHead,
  responseHeadOf,
} from '../io/message.js';
import { OutgoingBody } from '../io/outgoing.js';
import { settlement } from '../io/settled.js';
import { Wire } from '../io/wire.js';

export interface RequestOptions {
  method?: string;
  headers?: FieldInput;
  /**
   * Whether the request has a body. Default: yes, except for GET, HEAD, OPTIONS, TRACE, DELETE
   * and CONNECT. A body is chunked unless the headers give a Content-Length.
   */
  body?: boolean;
  /** The request-target; default: the URL's path and query, or its host:port for CONNECT. */
  target?: string;
  /** TLS options for https: URLs (ca, servername, rejectUnauthorized, ...). */
  tls?: ConnectionOptions;
  signal?: AbortSignal;
  /** Largest response head, in bytes. Default 16384. */
  maxHeadBytes?: number;
  /** Largest request head sent, in bytes: a bigger one throws HEADERS_TOO_LARGE. Default 16384. */
  maxRequestHeadBytes?: number;
  /** Most field lines in a response head. Default 128. */
  maxFields?: number;
  chunked?: ChunkedDecoderOptions;
}

export interface ClientResponse extends ResponseHead {
  /** The decoded response body. */
  body: IncomingBody;
  /** Response trailer fields, once `body` has ended. */
  readonly trailers: FieldPairs;
}

const BODYLESS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'DELETE', 'CONNECT']);

/**
 * A full-duplex HTTP/1.1 client exchange on a connection of its own: the request head goes out at
 * once, `body` takes the request body, and `response` resolves as soon as the response head
 * arrives, so the response body can be read while the request body is still being written.
 * Interim responses (100, 103) are emitted as 'informational'. The connection closes when both
 * bodies are complete, or is handed over whole by `hijack()`.
 */
/** The response: its head awaited, its body coming, all of it read, or the connection taken. */
type Reading = 'head' | 'body' | 'done' | 'hijacked';
/** The request: its head written (at once), its body open, done. */
type Writing = 'head' | 'body' | 'done';

/**
 * A full-duplex HTTP/1.1 client exchange on a connection of its own: the request head goes out at
 * once, `body` takes the request body, and `response` resolves as soon as the response head
 * arrives, so the response body can be read while the request body is still being written.
 * Interim responses (100, 103) are emitted as 'informational'. The connection closes when both
 * bodies are complete, or is handed over whole by `hijack()`.
 */
export class ClientExchange extends EventEmitter {
  /** The request body (already ended when the request has none). */
  readonly body: OutgoingBody;
  readonly response: Promise<ClientResponse>;
  readonly socket: Duplex;
  private readonly wire: Wire;
  private readonly reader: HeadReader;
  private readonly method: string;
  private readonly chunked: ChunkedDecoderOptions | undefined;
  private reading: Reading = 'head';
  private writing: Writing = 'head';
  private over = false;
  private readonly answer = settlement<ClientResponse>();
  private responseBody: IncomingBody | undefined;
  private forgetSignal: () => void = () => {};

  constructor(url: URL, options: RequestOptions) {
    super();
    const method = options.method ?? 'GET';
    this.method = method;
    this.chunked = options.chunked;
    const given = fieldPairsOf(options.headers ?? {});
    const withHost: FieldPairs = hasField(given, 'host') ? given : [['Host', url.host], ...given];
    const plan = clientRequestPlan(method, withHost, options.body ?? !BODYLESS.has(method));
    // CONNECT names its tunnel's end in authority form (RFC 9112 section 3.2.3).
    const target =
      options.target ?? (method === 'CONNECT' ? url.host : `${url.pathname}${url.search}`);
    const head = serializeRequestHead(method, target, plan.fields);
    const cap = options.maxRequestHeadBytes ?? DEFAULT_HEAD_LIMITS.maxHeadBytes;
    checkHeadSize(head, cap, 'maxRequestHeadBytes');

    // An already aborted signal: nothing is sent, nothing connects.
    const aborted = options.signal?.aborted === true;
    this.socket = aborted ? new Socket() : openSocket(url, options);
    this.socket.on('error', ignore);
    this.wire = new Wire(this.socket);
    this.reader = new HeadReader(
      this.wire,
      'response',
      {
        maxHeadBytes: options.maxHeadBytes ?? DEFAULT_HEAD_LIMITS.maxHeadBytes,
        maxFields: options.maxFields ?? DEFAULT_HEAD_LIMITS.maxFields,
      },
      {
        head: (parsed) => this.onHead(parsed),
        invalid: (error) => this.finish(error),
        ended: () =>
          this.finish(
            new H1Error(DuplexErrorCode.INCOMPLETE_BODY, 'connection ended before a response head'),
          ),
        aborted: (error) => this.finish(error),
      },
    );
    this.response = this.answer.promise;
    this.body = new OutgoingBody({
      socket: this.socket,
      framing: plan.framing,
      // Sent with the first body bytes (or at the end of the tick); nothing when aborted already.
      head: aborted ? undefined : head,
      onComplete: () => {
        this.writing = 'done';
        this.advance();
      },
    });
    this.writing = 'body';
    this.body.on('error', (error) => {
      // A write after the body ended fails that write alone; the exchange goes on.
      if (
        this.writing === 'done' &&
        (error as { code?: string }).code === 'ERR_STREAM_WRITE_AFTER_END'
      )
        return;
      this.finish(error);
    });
    if (plan.framing.kind === 'none') {
      this.body.end();
      // Refused where the mistake is made, and said in the request's terms.
      this.body.write = () => {
        throw new H1Error(
          DuplexErrorCode.BODY_NOT_ALLOWED,
          `this ${method} request has no body; give body: true (or a Content-Length) to send one`,
        );
      };
    }
    this.reader.read();
    this.socket.once('close', () =>
      this.finish(connectionClosed('connection closed before the exchange was complete')),
    );
    const signal = options.signal;
    if (signal) {
      if (aborted) {
        this.destroy(signal.reason);
        return;
      }
      const onAbort = (): void => this.destroy(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      // A long-lived signal must not gather one listener per request.
      this.forgetSignal = () => signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Takes the connection over once the response head has arrived (a 101 Switching Protocols, a
   * CONNECT tunnel, or any protocol of your own after the head): resolves with the socket and
   * the bytes already read past the head. The exchange stops reading and writing.
   */
  async hijack(): Promise<{ socket: Duplex; head: Uint8Array; response: ResponseHead }> {
    const response = await this.response;
    this.reading = 'hijacked';
    this.over = true;
    this.forgetSignal();
    this.reader.close();
    const head = this.wire.detach();
    // Leave the socket as node:http leaves an upgraded one: neither paused nor flowing, so the
    // new owner's first 'data' listener starts the flow.
    (this.socket as Duplex & { readableFlowing: boolean | null }).readableFlowing = null;
    return { socket: this.socket, head, response };
  }

  destroy(error?: Error): void {
    this.finish(error ?? connectionClosed('request destroyed'));
  }

  private onHead(parsed: ParsedHead): void {
    const head = responseHeadOf(parsed);
    if (isInterim(head.status)) {
      this.emit('informational', head);
      this.reader.read();
      return;
    }
    let framing: ReturnType<typeof incomingResponseFraming>;
    try {
      framing = incomingResponseFraming(this.method, head.status, head.version, head.fields);
    } catch (error) {
      this.finish(error as Error);
      return;
    }
    const body = new IncomingBody({
      framing,
      wire: this.wire,
      chunked: this.chunked,
      onComplete: () => {
        if (this.reading === 'body') this.reading = 'done';
        this.advance();
      },
    });
    body.on('error', (error) => this.finish(error));
    // Given up by its reader (`break` in for-await): the connection has nothing more to carry.
    body.on('close', () => {
      if (body.state === 'destroyed')
        this.finish(connectionClosed('the response body was given up'));
    });
    this.responseBody = body;
    this.reading = 'body';
    this.answer.resolve({
      ...head,
      body,
      get trailers() {
        return body.trailers;
      },
    });
    // 101 and CONNECT tunnels are for hijack(): leave the bytes after the head on the wire.
    if (!isTunnel(this.method, head.status)) body.begin();
  }

  /** Both bodies complete: the connection has carried its one exchange. */
  private advance(): void {
    if (this.reading === 'done' && this.writing === 'done') this.finish();
  }

  /** The one way out, taken once: closes the connection, failing whatever is pending on `error`. */
  private finish(error?: Error): void {
    if (this.over) return;
    this.over = true;
    this.forgetSignal();
    this.reader.close();
    if (!error) {
      this.socket.end();
      return;
    }
    this.answer.reject(error);
    const body = this.responseBody;
    if (body && !body.destroyed && body.state === 'open') body.destroy(error);
    if (!this.body.destroyed && !this.body.writableFinished) this.body.destroy(error);
    this.socket.destroy();
  }
}

/** Starts a full-duplex request; see `ClientExchange`. */
export function request(url: string | URL, options: RequestOptions = {}): ClientExchange {
  const target = typeof url === 'string' ? new URL(url) : url;
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new H1Error(
      DuplexErrorCode.INVALID_URL,
      `only http: and https: URLs, got ${target.protocol}`,
    );
  }
  return new ClientExchange(target, options);
}

function openSocket(url: URL, options: RequestOptions): Duplex {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (url.protocol === 'https:') {
    return tlsConnect({
      host,
      port: Number(url.port || 443),
      // SNI names hosts only: an IP literal is not sent (RFC 6066 section 3).
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...options.tls,
      allowHalfOpen: true,
    } as ConnectionOptions);
  }
  const socket = netConnect({ host, port: Number(url.port || 80), allowHalfOpen: true });
  socket.setNoDelay(true);
  return socket;
}
