import { EventEmitter } from 'node:events';
import { isIP, connect as netConnect, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import type { ChunkedDecoderOptions } from '@h1kit/chunked';
import { type FieldInput, framing, H1Error, serializeRequestHead } from '@h1kit/headers';
import { DuplexErrorCode } from './errors.js';
import { IncomingBody } from './incoming.js';
import { HeadParser } from './llhttp.js';
import {
  type FieldPairs,
  fieldPairsOf,
  type ResponseHead,
  recordOf,
  responseHeadOf,
} from './message.js';
import { OutgoingBody, type OutgoingFraming } from './outgoing.js';
import { Wire, type WireConsumer } from './wire.js';

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
  maxHeadBytes?: number;
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
export class ClientExchange extends EventEmitter {
  /** The request body (already ended when the request has none). */
  readonly body: OutgoingBody;
  readonly response: Promise<ClientResponse>;
  readonly socket: Duplex;
  private readonly wire: Wire;
  private readonly parser: HeadParser;
  private resolveResponse!: (response: ClientResponse) => void;
  private rejectResponse!: (error: Error) => void;
  private responseBody: IncomingBody | undefined;
  private requestDone = false;
  private responseDone = false;
  private hijacked = false;
  private forgetSignal: () => void = () => {};

  constructor(url: URL, options: RequestOptions) {
    super();
    const method = options.method ?? 'GET';
    const given = fieldPairsOf(options.headers ?? {});
    const record = recordOf(given);
    if (record.host === undefined) given.unshift(['Host', url.host]);
    const hasBody = options.body ?? !BODYLESS.has(method);
    const decided = framing({ method, headers: given });
    let plan: OutgoingFraming;
    if (decided.kind === 'length') plan = { kind: 'length', length: decided.length! };
    else if (decided.kind === 'chunked') plan = { kind: 'chunked' };
    else if (hasBody) {
      plan = { kind: 'chunked' };
      given.push(['Transfer-Encoding', 'chunked']);
    } else plan = { kind: 'none' };
    // CONNECT names its tunnel's end in authority form (RFC 9112 section 3.2.3).
    const target =
      options.target ?? (method === 'CONNECT' ? url.host : `${url.pathname}${url.search}`);
    const head = serializeRequestHead(method, target, given);

    // An already aborted signal: nothing is sent, nothing connects.
    const aborted = options.signal?.aborted === true;
    this.socket = aborted ? new Socket() : openSocket(url, options);
    this.socket.on('error', () => {});
    if (!aborted) this.socket.write(head);
    this.wire = new Wire(this.socket);
    this.parser = new HeadParser('response', {
      maxHeadBytes: options.maxHeadBytes ?? 16384,
      maxFields: options.maxFields ?? 100,
    });
    this.response = new Promise((resolve, reject) => {
      this.resolveResponse = resolve;
      this.rejectResponse = reject;
    });
    this.response.catch(() => {});
    this.body = new OutgoingBody({
      socket: this.socket,
      framing: plan,
      onComplete: () => {
        this.requestDone = true;
        this.settle();
      },
    });
    this.body.on('error', (error) => this.fail(error));
    if (plan.kind === 'none') this.body.end();
    this.wire.attach(this.headConsumer(method, options.chunked));
    this.socket.once('close', () =>
      this.fail(
        new H1Error(
          DuplexErrorCode.CONNECTION_CLOSED,
          'connection closed before the exchange was complete',
        ),
      ),
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
    this.hijacked = true;
    this.forgetSignal();
    this.parser.close();
    const held = this.wire.detach();
    const head = held.length === 1 ? held[0]! : Buffer.concat(held);
    // Leave the socket as node:http leaves an upgraded one: neither paused nor flowing, so the
    // new owner's first 'data' listener starts the flow.
    (this.socket as Duplex & { readableFlowing: boolean | null }).readableFlowing = null;
    return { socket: this.socket, head, response };
  }

  destroy(error?: Error): void {
    this.fail(error ?? new H1Error(DuplexErrorCode.CONNECTION_CLOSED, 'request destroyed'));
  }

  private headConsumer(method: string, limits: ChunkedDecoderOptions | undefined): WireConsumer {
    return {
      bytes: (chunk) => {
        let used: number;
        try {
          used = this.parser.execute(chunk);
        } catch (error) {
          this.fail(error as Error);
          return;
        }
        if (used === -1) return;
        this.wire.pause();
        this.wire.unshift(chunk.subarray(used));
        this.onHead(method, limits);
      },
      end: () =>
        this.fail(
          new H1Error(DuplexErrorCode.INCOMPLETE_BODY, 'connection ended before a response head'),
        ),
      abort: (error) => this.fail(error),
    };
  }

  private onHead(method: string, limits: ChunkedDecoderOptions | undefined): void {
    const head = responseHeadOf(this.parser.head!);
    if (head.status >= 100 && head.status < 200 && head.status !== 101) {
      this.emit('informational', head);
      this.parser.reset();
      this.wire.resume();
      return;
    }
    let decided: ReturnType<typeof framing>;
    try {
      decided =
        head.status === 101
          ? { kind: 'none' }
          : framing({ method, status: head.status, version: head.version, headers: head.fields });
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    const body = new IncomingBody({
      framing: decided,
      wire: this.wire,
      chunked: limits,
      onComplete: () => {
        this.responseDone = true;
        this.settle();
      },
    });
    body.on('error', (error) => this.fail(error));
    this.responseBody = body;
    const response: ClientResponse = {
      ...head,
      body,
      get trailers() {
        return body.trailers;
      },
    };
    this.resolveResponse(response);
    // 101 and CONNECT tunnels are for hijack(): leave the bytes after the head on the wire.
    if (head.status !== 101 && !(method === 'CONNECT' && head.status < 300)) body.begin();
  }

  private settle(): void {
    if (!this.requestDone || !this.responseDone || this.hijacked) return;
    this.forgetSignal();
    this.parser.close();
    this.socket.end();
  }

  private fail(error: Error): void {
    if (this.hijacked) return;
    if (this.requestDone && this.responseDone) return;
    this.requestDone = this.responseDone = true;
    this.forgetSignal();
    this.rejectResponse(error);
    if (this.responseBody && !this.responseBody.destroyed && !this.responseBody.complete)
      this.responseBody.destroy(error);
    if (!this.body.destroyed && !this.body.writableFinished) this.body.destroy(error);
    this.socket.destroy();
    this.parser.close();
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
