import type { Duplex } from 'node:stream';
import { type FieldInput, serializeResponseHead } from '@h1kit/headers';
import { connectionClosed } from '../errors.js';
import { statusFor } from '../io/close.js';
import { responsePlan } from '../io/framing-plan.js';
import { checkHeadSize, fieldPairsOf, type RequestHead } from '../io/message.js';
import { OutgoingBody } from '../io/outgoing.js';
import { httpDate } from './date.js';
import type { DuplexExchange } from './exchange.js';

/**
 * Options of `exchange.respond(status, fields, options)`.
 *
 * @example
 * ```ts
 * import { createServer, type RespondOptions } from '@h1kit/duplex';
 * createServer((exchange) => {
 *   const options: RespondOptions = { reason: 'No Such Queue' };
 *   exchange.respond(404, { 'Content-Length': 0 }, options).end();
 *   // status-line: 'HTTP/1.1 404 No Such Queue'
 * });
 * ```
 */
export interface RespondOptions {
  /**
   * The reason phrase of the status-line; default the standard one for the status (empty for a
   * status without one). A CR, LF or other char a field value may not hold throws
   * `ERR_H1_INVALID_REASON`.
   */
  reason?: string;
}

export interface ResponseEvents {
  /** The head is valid and about to be written (a 100 Continue still owed goes out here). */
  beforeHead(): void;
  /** The last byte of the body was handed to the socket. */
  complete(): void;
  /** The body failed, or was destroyed before its end: the connection cannot go on. */
  failed(error: Error): void;
}

/**
 * Opens a response to `request`: its head, sent with the first bytes of its body (or at the end
 * of the tick), and its body, framed as the fields and the peer allow. Throws `H1Error`, having
 * written nothing, on invalid or contradictory fields or a head over `maxHeadBytes`. Returns the
 * body and whether the connection may carry another request after it.
 */
export function openResponse(
  socket: Duplex,
  request: RequestHead,
  status: number,
  fields: FieldInput,
  keepAlive: boolean,
  sendDate: boolean,
  maxHeadBytes: number,
  options: RespondOptions | undefined,
  events: ResponseEvents,
): { body: OutgoingBody; keepAlive: boolean } {
  const date = sendDate ? httpDate() : undefined;
  const plan = responsePlan(request, status, fieldPairsOf(fields), keepAlive, date);
  const head = capped(
    serializeResponseHead(
      status,
      plan.fields,
      options?.reason === undefined ? undefined : { reason: options.reason },
    ),
    maxHeadBytes,
  );
  events.beforeHead();
  let complete = false;
  // The head leaves with the body's first bytes: a small response is one write.
  const body = new OutgoingBody({
    socket,
    head,
    framing: plan.framing,
    onComplete: () => {
      complete = true;
      events.complete();
    },
  });
  body.on('error', (error) => events.failed(error));
  // Destroyed before its end: the response can never be completed, nor the next message.
  body.on('close', () => {
    if (!complete)
      events.failed(connectionClosed('the response body was destroyed before its end'));
  });
  return { body, keepAlive: plan.keepAlive };
}

/** The bytes of an interim (1xx) head, held to the same cap as a final one. */
export function interimHead(status: number, fields: FieldInput, maxHeadBytes: number): Uint8Array {
  return capped(serializeResponseHead(status, fields), maxHeadBytes);
}

function capped(head: Uint8Array, maxHeadBytes: number): Uint8Array {
  checkHeadSize(head, maxHeadBytes, 'maxResponseHeadBytes');
  return head;
}

/**
 * What a server does for an exchange whose handler failed: a 500 when no response began, else
 * the exchange is cut (the client can tell a chunked or sized body never ended). Returns whether
 * the 500 was sent; an exchange already over gets neither.
 */
export function answerFailure(exchange: DuplexExchange, error: Error): boolean {
  if (!exchange.response) {
    try {
      exchange.respond(statusFor(error, 500), { 'Content-Length': 0, Connection: 'close' }).end();
      return true;
    } catch {
      // The exchange is over already (the connection went): nobody to answer.
    }
  }
  exchange.destroy(error);
  return false;
}

/** Where a handler run by `runHandler` ended, told with the subject it was given. */
export interface HandlerEnd<T> {
  returned(subject: T): void;
  settled(subject: T): void;
  failed(subject: T, error: Error): void;
}

/**
 * Runs a handler as both servers do: a throw or a rejection goes to `failed`, a promise that
 * settles to `settled` (it may have left its exchange unanswered), a plain return to `returned`.
 * The subject is passed along rather than captured, so a handler that returns costs no closure.
 */
export function runHandler<T>(
  handler: (subject: T) => unknown,
  subject: T,
  then: HandlerEnd<T>,
): void {
  let result: unknown;
  try {
    result = handler(subject);
  } catch (error) {
    then.failed(subject, asError(error));
    return;
  }
  if (typeof (result as PromiseLike<unknown> | undefined)?.then !== 'function') {
    then.returned(subject);
    return;
  }
  (result as PromiseLike<unknown>).then(
    () => then.settled(subject),
    (error: unknown) => then.failed(subject, asError(error)),
  );
}

function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}
