import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { H1Error } from '@h1kit/headers';
import { connectionClosed, DuplexErrorCode } from '../errors.js';
import { ignore } from '../io/close.js';
import { incomingResponseFraming, isInterim, isTunnel } from '../io/framing-plan.js';
import { IncomingBody } from '../io/incoming.js';
import { DEFAULT_HEAD_LIMITS, type ParsedHead } from '../io/llhttp.js';
import { type ResponseHead, responseHeadOf, responseLineOf } from '../io/message.js';
import { OutgoingBody } from '../io/outgoing.js';
import { settlement } from '../io/settled.js';
import { type Agent, defaultAgent } from './agent.js';
import { followStages, openSocket, originKey, type Stage, socketFailure } from './connect.js';
import { ClientConnection, type ConnectionEvents } from './connection.js';
import {
  checkRequestOptions,
  continueTimeoutOf,
  type RequestOptions,
  type Timing,
  timedOutError,
  timeoutOf,
} from './options.js';
import { type PlannedRequest, planRequest } from './request-head.js';
import { type ClientResponse, ReceivedResponse } from './response.js';

/** The response: its head awaited, its body coming, all of it read, or the connection taken. */
type Reading = 'head' | 'body' | 'done' | 'hijacked';
/**
 * The request: waiting for a connection, its head sent and the body held for 100 Continue
 * (`expecting`), its body open, done, or refused by a final status that came instead of 100.
 */
type Writing = 'waiting' | 'expecting' | 'body' | 'done' | 'refused';

/**
 * A full-duplex HTTP/1.1 client exchange: the request head goes out as soon as a connection is
 * there, `body` takes the request body, and `response` resolves as soon as the response head
 * arrives, so the response body can be read while the request body is still being written.
 * Interim responses (100, 103) are emitted as 'informational' with their `ResponseHead`. When
 * both bodies are complete the connection goes back to its agent's pool if the response let it
 * stay open (else it closes), or it is handed over whole by `hijack()`. Made by `request()`.
 *
 * @example
 * ```ts
 * import { request } from '@h1kit/duplex';
 * const exchange = request('http://127.0.0.1:8080/upload', { method: 'PUT' });
 * exchange.on('informational', (head) => console.log(head.status, head.headers.link)); // 103
 * exchange.body.end('payload'); // chunked: the headers gave no Content-Length
 * const response = await exchange.response;
 * console.log(response.status, response.headers['content-type']);
 * for await (const chunk of response.body) process.stdout.write(chunk);
 * ```
 */
export class ClientExchange extends EventEmitter implements ConnectionEvents {
  /**
   * Resolves with the final response as soon as its head has arrived, the request body possibly
   * still open; rejects with an `H1Error` when the exchange fails before that (connect, TLS,
   * timeouts, a malformed head, `signal`, `destroy()`).
   */
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
  private continueTimer: NodeJS.Timeout | undefined;
  /** Made with the exchange when the request has a body; else made, ended, when first asked for. */
  private requestBody: OutgoingBody | undefined;

  constructor(url: URL, options: RequestOptions) {
    super();
    checkRequestOptions(options);
    this.options = options;
    const continueTimeout = continueTimeoutOf(options);
    const planned = planRequest(url, options, continueTimeout !== undefined);
    this.planned = planned;
    const expecting = planned.framing.kind !== 'none' && continueTimeout !== undefined;
    this.agent = options.agent === false ? undefined : (options.agent ?? defaultAgent);
    this.key = originKey(url, options.tls);
    this.response = this.answer.promise;
    if (planned.framing.kind !== 'none') {
      this.requestBody = new OutgoingBody({
        framing: planned.framing,
        // With expectContinue the head goes alone, ahead of the body.
        head: expecting ? undefined : planned.head,
        onComplete: () => {
          this.writing = 'done';
          this.advance();
        },
      });
      this.watch(this.requestBody);
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

  /**
   * The request body, a Node `Writable`: written while the response is read, with backpressure
   * from the socket; `end()` sends the last chunk (chunked) or checks the Content-Length. A request
   * without one has it already ended, and made only when asked for: such a request's head goes
   * straight to the socket, with no stream behind it, and a `write()` throws
   * `ERR_H1_BODY_NOT_ALLOWED`.
   *
   * @example
   * ```ts
   * import { once } from 'node:events';
   * const exchange = request('http://127.0.0.1:8080/ingest', { method: 'POST' });
   * for (const record of records) {
   *   if (!exchange.body.write(`${JSON.stringify(record)}\n`)) await once(exchange.body, 'drain');
   * }
   * exchange.body.end();
   * ```
   */
  get body(): OutgoingBody {
    this.requestBody ??= this.endedBody();
    return this.requestBody;
  }

  private endedBody(): OutgoingBody {
    const method = this.planned.method;
    // Refused where the mistake is made, and said in the request's terms.
    const body = OutgoingBody.without(
      () =>
        new H1Error(
          DuplexErrorCode.BODY_NOT_ALLOWED,
          `this ${method} request has no body; give body: true (or a Content-Length) to send one`,
        ),
    );
    this.watch(body);
    return body;
  }

  private watch(body: OutgoingBody): void {
    body.on('error', (error) => {
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
  }

  /** The connection, once the request has one (a request waiting for a pooled one has none yet). */
  get socket(): Duplex | undefined {
    return this.connection?.socket;
  }

  /**
   * Takes the connection over once the response head has arrived (a 101 Switching Protocols, a
   * CONNECT tunnel, or any protocol of your own after the head): resolves with the socket and
   * the bytes already read past the head. The exchange stops reading and writing; the
   * connection leaves its agent. Rejects as `response` does.
   *
   * @example
   * ```ts
   * import { request } from '@h1kit/duplex';
   * const exchange = request('http://127.0.0.1:8080/chat', {
   *   headers: { Connection: 'Upgrade', Upgrade: 'chat' }, // an Upgrade request has no body
   * });
   * const { socket, head, response } = await exchange.hijack();
   * if (response.status === 101) {
   *   // `head`: the new protocol's first bytes, already read; the rest comes from `socket`
   *   socket.write('hello\n');
   * } else socket.destroy();
   * ```
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

  /**
   * Gives the exchange up: the connection is destroyed (never pooled), and `response`, both
   * bodies and whatever else is pending fail with `error`, or `ERR_H1_CONNECTION_CLOSED` without
   * one. Nothing happens once the exchange is over.
   */
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
      followStages(socket, (stage) => {
        this.stage = stage;
        if (stage === 'open') this.arm('head');
      });
      this.arm('connect');
    } else {
      this.arm('head');
    }
    if (expecting) {
      this.writing = 'expecting';
      socket.write(this.planned.head);
      this.continueTimer = setTimeout(() => this.sendBody(), continueTimeoutOf(this.options));
    } else if (this.planned.framing.kind !== 'none') {
      this.writing = 'body';
      this.body.attach(socket);
    } else {
      socket.write(this.planned.head);
      this.writing = 'done';
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
    this.body.refuse(refusal);
  }

  /** Both bodies complete: the connection has carried its exchange. */
  private advance(): void {
    if (this.reading === 'done' && (this.writing === 'done' || this.writing === 'refused')) {
      this.finish();
    }
  }

  /** Runs the timeout of the exchange's current stage (connect, response head, body silence). */
  private arm(timing: Exclude<Timing, 'none'>): void {
    const ms = timeoutOf(timing, this.options);
    this.timing = timing;
    if (ms <= 0 || this.over) {
      this.stopTimer();
      return;
    }
    // The body's timeout is for silence: every byte read starts it anew.
    this.connection?.arm(ms, timing === 'body');
  }

  private stopTimer(): void {
    this.connection?.disarm();
    this.timing = 'none';
  }

  /** @internal The connection's timer fired for this exchange. */
  timedOut(): void {
    const timing = this.timing;
    if (timing === 'none') return;
    this.finish(timedOutError(timing, this.options));
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
    const requestBody = this.requestBody;
    if (requestBody && !requestBody.destroyed && !requestBody.writableFinished)
      requestBody.destroy(error);
    if (connection) {
      connection.release();
      connection.socket.destroy();
      this.agent?.release(this.key, connection.socket, 'close');
    }
  }
}
