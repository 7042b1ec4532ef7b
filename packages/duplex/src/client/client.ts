import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import type { ChunkedDecoderOptions } from '@h1kit/chunked';
import { type FieldInput, H1Error } from '@h1kit/headers';
import { connectionClosed, DuplexErrorCode } from '../errors.js';
import { ignore } from '../io/close.js';
import { incomingResponseFraming, isInterim, isTunnel } from '../io/framing-plan.js';
import { IncomingBody } from '../io/incoming.js';
import { DEFAULT_HEAD_LIMITS, type ParsedHead } from '../io/llhttp.js';
import {
  type FieldPairs,
  type FieldRecord,
  type ResponseHead,
  recordOf,
  responseHeadOf,
  responseLineOf,
} from '../io/message.js';
import { checkChunkedOptions, checkNumbers } from '../io/options.js';
import { OutgoingBody } from '../io/outgoing.js';
import { settlement } from '../io/settled.js';
import { type Agent, defaultAgent } from './agent.js';
import { onceOpen, openSocket, originKey, type Stage, socketFailure } from './connect.js';
import { ClientConnection, type ConnectionEvents } from './connection.js';
import { type PlannedRequest, planRequest } from './request-head.js';

export interface RequestOptions {
  /** Standard methods are sent upper-cased (`get` goes as GET), others exactly as given. */
  method?: string;
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
  chunked?: ChunkedDecoderOptions;
}

export interface ClientResponse extends ResponseHead {
  /** The decoded response body. */
  body: IncomingBody;
  /** Response trailer fields, once `body` has ended. */
  readonly trailers: FieldPairs;
}

/** The response: its head awaited, its body coming, all of it read, or the connection taken. */
type Reading = 'head' | 'body' | 'done' | 'hijacked';
/**
 * The request: waiting for a connection, its head sent and the body held for 100 Continue
 * (`expecting`), its body open, done, or refused by a final status that came instead of 100.
 */
type Writing = 'waiting' | 'expecting' | 'body' | 'done' | 'refused';
/** Which of the exchange's timeouts runs. */
type Timing = 'none' | 'connect' | 'head' | 'body';

const DEFAULT_CONNECT_TIMEOUT = 10_000;
const DEFAULT_HEAD_TIMEOUT = 300_000;
const DEFAULT_BODY_TIMEOUT = 300_000;
const DEFAULT_CONTINUE_TIMEOUT = 1_000;

/**
 * A full-duplex HTTP/1.1 client exchange: the request head goes out as soon as a connection is
 * there, `body` takes the request body, and `response` resolves as soon as the response head
 * arrives, so the response body can be read while the request body is still being written.
 * Interim responses (100, 103) are emitted as 'informational'. When both bodies are complete the
 * connection goes back to its agent's pool if the response let it stay open (else it closes), or
 * it is handed over whole by `hijack()`.
 */
export class ClientExchange extends EventEmitter implements ConnectionEvents {
  /** The request body (already ended when the request has none). */
  readonly body: OutgoingBody;
  readonly response: Promise<ClientResponse>;
  private connection: ClientConnection | undefined;
  private readonly options: RequestOptions;
  private readonly planned: PlannedRequest;
  private readonly agent: Agent | undefined;
  private readonly key: string;
  private reading: Reading = 'head';
  private writing: Writing = 'waiting';
  private stage: Stage = 'open';
  private keepAlive = false;
  private over = false;
  private readonly answer = settlement<ClientResponse>();
  private responseBody: IncomingBody | undefined;
  private forgetSignal: () => void = () => {};
  private timing: Timing = 'none';
  /** `bytesRead` when the body timer was last armed: a body that moved since is not silent. */
  private readAtArm = 0;
  private continueTimer: NodeJS.Timeout | undefined;

  constructor(url: URL, options: RequestOptions) {
    super();
    checkNumbers(options, ['connectTimeout', 'headTimeout', 'bodyTimeout']);
    checkNumbers(options, ['maxHeadBytes', 'maxRequestHeadBytes', 'maxFields'], 1);
    if (typeof options.expectContinue === 'object')
      checkNumbers(options.expectContinue, ['timeout']);
    checkChunkedOptions(options.chunked);
    this.options = options;
    const expect = options.expectContinue;
    const planned = planRequest(url, {
      ...options,
      expectContinue: expect !== undefined && expect !== false,
    });
    this.planned = planned;
    const expecting = planned.framing.kind !== 'none' && expect !== undefined && expect !== false;
    this.agent = options.agent === false ? undefined : (options.agent ?? defaultAgent);
    this.key = originKey(url, options.tls);
    this.response = this.answer.promise;
    this.body = new OutgoingBody({
      framing: planned.framing,
      // With expectContinue the head goes alone, ahead of the body.
      head: expecting ? undefined : planned.head,
      onComplete: () => {
        this.writing = 'done';
        this.advance();
      },
    });
    this.body.on('error', (error) => {
      // A write after the body ended fails that write alone; so does one refused after a final
      // status came instead of 100 Continue: the exchange goes on.
      if (this.writing === 'refused') return;
      if (
        this.writing === 'done' &&
        (error as { code?: string }).code === 'ERR_STREAM_WRITE_AFTER_END'
      )
        return;
      this.finish(error);
    });
    if (planned.framing.kind === 'none') {
      this.body.end();
      // Refused where the mistake is made, and said in the request's terms.
      this.body.write = () => {
        throw new H1Error(
          DuplexErrorCode.BODY_NOT_ALLOWED,
          `this ${planned.method} request has no body; give body: true (or a Content-Length) to send one`,
        );
      };
    }
    const signal = options.signal;
    if (signal?.aborted) {
      this.abort(signal.reason);
      return;
    }
    if (signal) {
      const onAbort = (): void => this.abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      // A long-lived signal must not gather one listener per request.
      this.forgetSignal = () => signal.removeEventListener('abort', onAbort);
    }
    const open = (): Duplex => openSocket(url, options.tls);
    if (this.agent)
      this.agent.lease(this.key, open, (socket, reused) => this.start(socket, reused, expecting));
    else this.start(open(), false, expecting);
  }

  /** The connection, once the request has one (a request waiting for a pooled one has none yet). */
  get socket(): Duplex | undefined {
    return this.connection?.socket;
  }

  /**
   * Takes the connection over once the response head has arrived (a 101 Switching Protocols, a
   * CONNECT tunnel, or any protocol of your own after the head): resolves with the socket and
   * the bytes already read past the head. The exchange stops reading and writing; the
   * connection leaves its agent.
   */
  async hijack(): Promise<{ socket: Duplex; head: Uint8Array; response: ResponseHead }> {
    const response = await this.response;
    const socket = this.connection!.socket;
    this.reading = 'hijacked';
    this.over = true;
    this.stopTimer();
    this.forgetSignal();
    const head = this.connection!.release();
    this.agent?.release(this.key, socket, 'taken');
    // Leave the socket as node:http leaves an upgraded one: neither paused nor flowing, so the
    // new owner's first 'data' listener starts the flow.
    (socket as Duplex & { readableFlowing: boolean | null }).readableFlowing = null;
    return { socket, head, response };
  }

  destroy(error?: Error): void {
    this.finish(error ?? connectionClosed('request destroyed'));
  }

  private abort(reason: unknown): void {
    this.finish(
      new H1Error(DuplexErrorCode.ABORTED, 'the request was aborted', undefined, { cause: reason }),
    );
  }

  /** The request has its connection: the head goes out, the response head is awaited. */
  private start(socket: Duplex, reused: boolean, expecting: boolean): void {
    if (this.over) {
      // Aborted while it waited for the connection: the connection goes back untouched.
      this.agent?.release(this.key, socket, reused ? 'reuse' : 'close');
      return;
    }
    const connection = ClientConnection.of(socket, {
      maxHeadBytes: this.options.maxHeadBytes ?? DEFAULT_HEAD_LIMITS.maxHeadBytes,
      maxFields: this.options.maxFields ?? DEFAULT_HEAD_LIMITS.maxFields,
    });
    this.connection = connection;
    connection.begin(this);
    if (!reused && (socket as Duplex & { connecting?: boolean }).connecting) {
      this.stage = 'connecting';
      onceOpen(
        socket,
        () => this.arm('head'),
        (stage) => {
          this.stage = stage;
        },
      );
      this.arm('connect');
    } else {
      this.arm('head');
    }
    if (expecting) {
      this.writing = 'expecting';
      socket.write(this.planned.head);
      const timeout =
        (typeof this.options.expectContinue === 'object'
          ? this.options.expectContinue.timeout
          : undefined) ?? DEFAULT_CONTINUE_TIMEOUT;
      this.continueTimer = setTimeout(() => this.sendBody(), timeout);
    } else {
      this.writing = 'body';
      this.body.attach(socket);
    }
    connection.reader.read();
  }

  /** @internal The connection's reader failed on malformed input or a limit. */
  invalid(error: H1Error): void {
    this.finish(error);
  }

  /** @internal The connection ended before a response head. */
  ended(): void {
    this.finish(
      new H1Error(
        DuplexErrorCode.INCOMPLETE_HEAD,
        'the connection ended before a whole response head',
      ),
    );
  }

  /** @internal The socket failed under the read of the head. */
  aborted(error: Error): void {
    this.finish(socketFailure(error, this.stage));
  }

  /** @internal The socket closed. */
  closed(): void {
    this.finish(connectionClosed('connection closed before the exchange was complete'));
  }

  /** The body may go: after 100 Continue, or when the wait for it timed out. */
  private sendBody(): void {
    if (this.writing !== 'expecting') return;
    clearTimeout(this.continueTimer);
    this.writing = 'body';
    this.body.attach(this.connection!.socket);
  }

  /** @internal A response head arrived. */
  head(parsed: ParsedHead): void {
    if (isInterim(parsed.status)) {
      if (parsed.status === 100) this.sendBody();
      this.emit('informational', responseHeadOf(parsed));
      this.connection!.reader.read();
      return;
    }
    const head = responseLineOf(parsed);
    if (head.status === 101 && !this.planned.upgrade) {
      // Nothing after it could be read as HTTP, nor handed over: the server broke the exchange.
      this.finish(
        new H1Error(
          DuplexErrorCode.INVALID_HEAD,
          'a 101 Switching Protocols to a request that asked for no upgrade (RFC 9110 section 15.2.2)',
        ),
      );
      return;
    }
    if (this.writing === 'expecting') this.refuseBody(head.status);
    let framing: ReturnType<typeof incomingResponseFraming>;
    try {
      framing = incomingResponseFraming(
        this.planned.method,
        head.status,
        head.version,
        head.fields,
      );
    } catch (error) {
      this.finish(error as Error);
      return;
    }
    if (framing.kind === 'chunked' && parsed.llhttpChunked === false) {
      // One message read two ways (a proxy on llhttp would read it otherwise): refused.
      this.finish(
        new H1Error(
          DuplexErrorCode.INVALID_HEAD,
          'a Transfer-Encoding that llhttp does not read as chunked, though its trimmed value says chunked',
        ),
      );
      return;
    }
    this.keepAlive = parsed.keepAlive && !this.planned.closes && framing.kind !== 'close';
    const body = new IncomingBody({
      framing,
      wire: this.connection!.wire,
      chunked: this.options.chunked,
      onComplete: () => {
        if (this.reading === 'body') this.reading = 'done';
        this.stopTimer();
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
    this.arm('body');
    this.answer.resolve(new ReceivedResponse(head, parsed.rawFields, body));
    // 101 and CONNECT tunnels are for hijack(): leave the bytes after the head on the wire.
    if (!isTunnel(this.planned.method, head.status)) body.begin();
  }

  /**
   * A final status came while the body waited for 100 Continue: the body is never sent, and the
   * server may read whatever follows on the connection as that body, so it closes after this.
   */
  private refuseBody(status: number): void {
    this.writing = 'refused';
    clearTimeout(this.continueTimer);
    const refusal = new H1Error(
      DuplexErrorCode.EXPECTATION_FAILED,
      `the server answered ${status} to Expect: 100-continue, so the request body was not sent`,
    );
    this.planned.closes = true;
    const fail = (callback: unknown): boolean => {
      if (typeof callback === 'function') process.nextTick(callback as (e: Error) => void, refusal);
      return false;
    };
    this.body.write = (_chunk: unknown, encoding?: unknown, callback?: unknown) =>
      fail(typeof encoding === 'function' ? encoding : callback);
    this.body.end = ((...args: unknown[]) => {
      fail(args.find((a) => typeof a === 'function'));
      return this.body;
    }) as OutgoingBody['end'];
    this.body.destroy(refusal);
  }

  /** Both bodies complete: the connection has carried its exchange. */
  private advance(): void {
    if (this.reading === 'done' && (this.writing === 'done' || this.writing === 'refused')) {
      this.finish();
    }
  }

  /** Runs the timeout of the exchange's current stage (connect, response head, body silence). */
  private arm(timing: Timing): void {
    const options = this.options;
    const ms =
      timing === 'connect'
        ? (options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT)
        : timing === 'head'
          ? (options.headTimeout ?? DEFAULT_HEAD_TIMEOUT)
          : (options.bodyTimeout ?? DEFAULT_BODY_TIMEOUT);
    this.timing = timing;
    if (ms <= 0 || this.over) {
      this.stopTimer();
      return;
    }
    this.readAtArm = this.bytesRead();
    this.connection?.arm(ms);
  }

  private stopTimer(): void {
    this.connection?.disarm();
    this.timing = 'none';
  }

  private bytesRead(): number {
    const socket = this.connection?.socket as (Duplex & { bytesRead?: number }) | undefined;
    return socket?.bytesRead ?? 0;
  }

  /** @internal The connection's timer fired for this exchange. */
  timedOut(): void {
    const timing = this.timing;
    if (timing === 'body' && this.bytesRead() !== this.readAtArm) {
      this.arm('body');
      return;
    }
    const options = this.options;
    if (timing === 'connect') {
      this.finish(
        new H1Error(
          DuplexErrorCode.CONNECT_TIMEOUT,
          `no connection within connectTimeout (${options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT} ms)`,
        ),
      );
    } else if (timing === 'head') {
      this.finish(
        new H1Error(
          DuplexErrorCode.HEAD_TIMEOUT,
          `no response head within headTimeout (${options.headTimeout ?? DEFAULT_HEAD_TIMEOUT} ms)`,
        ),
      );
    } else if (timing === 'body') {
      this.finish(
        new H1Error(
          DuplexErrorCode.BODY_TIMEOUT,
          `the response body was silent for bodyTimeout (${options.bodyTimeout ?? DEFAULT_BODY_TIMEOUT} ms)`,
        ),
      );
    }
  }

  /**
   * The one way out, taken once. Without `error` the connection goes back to its agent when the
   * response let it stay open and nothing followed it, or closes; with one, whatever is pending
   * fails on it and the connection is destroyed.
   */
  private finish(error?: Error): void {
    if (this.over) return;
    this.over = true;
    this.stopTimer();
    clearTimeout(this.continueTimer);
    this.forgetSignal();
    const connection = this.connection;
    if (!error) {
      const socket = connection!.socket;
      // Nothing may follow the response: a stray byte there would be read as the next one.
      const clean = connection!.end();
      if (this.agent && this.keepAlive && clean) {
        this.agent.release(this.key, socket, 'reuse');
        return;
      }
      connection!.release();
      if (this.agent) {
        this.agent.release(this.key, socket, 'close');
      } else {
        // Read on, dropping what comes (stray bytes included), so that the server's end is seen
        // and the socket closes.
        socket.on('data', ignore);
        socket.resume();
        socket.end();
      }
      return;
    }
    this.answer.reject(error);
    const body = this.responseBody;
    if (body && !body.destroyed && body.state === 'open') body.destroy(error);
    if (!this.body.destroyed && !this.body.writableFinished) this.body.destroy(error);
    if (connection) {
      connection.release();
      connection.socket.destroy();
      this.agent?.release(this.key, connection.socket, 'close');
    }
  }
}

/** The response as `response` resolves it: `headers` and `trailers` are read when first asked for. */
class ReceivedResponse implements ClientResponse {
  readonly status: number;
  readonly reason: string;
  readonly version: ResponseHead['version'];
  readonly fields: FieldPairs;
  private record: FieldRecord | undefined;

  constructor(
    head: Omit<ResponseHead, 'headers'>,
    private readonly rawFields: readonly string[],
    readonly body: IncomingBody,
  ) {
    this.status = head.status;
    this.reason = head.reason;
    this.version = head.version;
    this.fields = head.fields;
  }

  get headers(): FieldRecord {
    this.record ??= recordOf(this.rawFields);
    return this.record;
  }

  get trailers(): FieldPairs {
    return this.body.trailers;
  }

  // Getters live on the prototype, where JSON and util.inspect do not look: show them whole.
  toJSON(): object {
    const { status, reason, version, fields, headers } = this;
    return { status, reason, version, fields, headers };
  }

  [Symbol.for('nodejs.util.inspect.custom')](
    depth: number,
    options: object,
    inspect: (value: unknown, options: object) => string,
  ): string {
    return `ClientResponse ${inspect(this.toJSON(), { ...options, depth })}`;
  }
}

/** Starts a full-duplex request; see `ClientExchange`. */
export function request(url: string | URL, options: RequestOptions = {}): ClientExchange {
  const target = typeof url === 'string' ? parsedUrl(url) : url;
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new H1Error(
      DuplexErrorCode.INVALID_URL,
      `only http: and https: URLs, got ${target.protocol}`,
    );
  }
  return new ClientExchange(target, options);
}

// Callers tend to ask for the same URL again and again; the parse is kept for the last one (the
// URL object never leaves this module, so nobody can change it under us).
let lastUrlText: string | undefined;
let lastUrl: URL | undefined;

function parsedUrl(text: string): URL {
  if (text !== lastUrlText) {
    lastUrl = new URL(text);
    lastUrlText = text;
  }
  return lastUrl!;
}
