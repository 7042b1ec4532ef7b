// Every framing decision of both roles, in one place: how a request or response body is
// delimited on the way in and on the way out, which fields that adds, whether the connection
// lives on, and when the bytes after a head stop being HTTP. Nothing here changes its arguments.
import { type Framing, framing, H1Error, HeaderErrorCode, type HttpVersion } from '@h1kit/headers';
import { DuplexErrorCode } from '../errors.js';
import {
  type FieldPairs,
  fieldLists,
  fieldValueOf,
  hasField,
  type RequestHead,
} from './message.js';

/** How an outgoing message goes out: the fields to send (the caller's plus any added) and its body framing. */
export interface OutgoingPlan {
  fields: FieldPairs;
  framing: Framing;
}

export interface ResponsePlan extends OutgoingPlan {
  /** Whether the connection stays open after this response. */
  keepAlive: boolean;
}

/** A 1xx other than 101: an interim response, with a final one still to come. */
export function isInterim(status: number): boolean {
  return status >= 100 && status < 200 && status !== 101;
}

/** Throws unless `status` can answer a request finally: 200-999, or 101 to switch protocols. */
export function checkFinalStatus(status: number): void {
  if (typeof status !== 'number') {
    throw new H1Error(
      HeaderErrorCode.INVALID_STATUS,
      `a status is a number, got ${typeof status} ${JSON.stringify(status)}`,
    );
  }
  if (status < 200 && status !== 101) {
    throw new H1Error(
      HeaderErrorCode.INVALID_STATUS,
      `a final response takes 101 or 200-999; send ${status} as an interim response`,
    );
  }
}

/** Throws unless `status` is an interim status: 100 or 102-199. */
export function checkInterimStatus(status: number): void {
  if (!isInterim(status)) {
    throw new H1Error(
      HeaderErrorCode.INVALID_STATUS,
      `an interim response takes 100 or 102-199, got ${status}`,
    );
  }
}

/**
 * After a 101, or a 2xx to CONNECT, the bytes that follow the head are another protocol's
 * (RFC 9110 sections 7.8 and 9.3.6): never parse them as HTTP.
 */
export function isTunnel(method: string, status: number): boolean {
  return status === 101 || (method === 'CONNECT' && status >= 200 && status < 300);
}

/**
 * What a request must pass before any handler sees a byte of it, on every server path
 * (standalone, hijack): Host in HTTP/1.1 (RFC 9112 section 3.2) unless `requireHost` is off, and
 * framing that no two readers could read apart. Returns how its body is delimited; throws
 * `H1Error` otherwise.
 */
export function requestFraming(request: RequestHead, requireHost = true): Framing {
  const raw = request.rawFields;
  if (requireHost && request.version === '1.1' && fieldValueOf(raw, 'host') === undefined) {
    throw new H1Error(
      DuplexErrorCode.MISSING_HOST,
      'an HTTP/1.1 request must carry Host (RFC 9112 section 3.2)',
    );
  }
  return framing({ method: request.method, version: request.version, headers: raw });
}

/**
 * How a response to `request` is framed from what the handler gave: its own Content-Length or
 * Transfer-Encoding wins (checked by `framing()`, so contradictions throw); otherwise chunked for
 * an HTTP/1.1 peer and close-delimited for an HTTP/1.0 one, which cannot read chunked. A `date`
 * is sent as the Date field unless the handler gave one.
 */
export function responsePlan(
  request: RequestHead,
  status: number,
  given: FieldPairs,
  keepAlive: boolean,
  date?: string,
): ResponsePlan {
  const decided = framing({ method: request.method, status, headers: given });
  // One look at the handler's fields each, not a record of them built per response.
  const saysClose = fieldLists(given, 'connection', 'close');
  let alive = keepAlive && !saysClose && request.version === '1.1';
  let body = decided;
  const added: FieldPairs = [];
  if (decided.kind === 'close') {
    if (hasField(given, 'transfer-encoding') || request.version === '1.0') {
      // A coding the handler applies itself without chunked, or a peer that cannot read
      // chunked: the body runs until the connection closes.
      alive = false;
    } else {
      body = { kind: 'chunked' };
      added.push(['Transfer-Encoding', 'chunked']);
    }
  }
  if (!alive && !saysClose) added.push(['Connection', 'close']);
  // Date goes first, a server's own field; the handler's follow as given, then what framing adds.
  const dated = date !== undefined && !hasField(given, 'date');
  if (!dated && added.length === 0) return { fields: given, framing: body, keepAlive: alive };
  const fields: FieldPairs = dated ? [['Date', date], ...given, ...added] : [...given, ...added];
  return { fields, framing: body, keepAlive: alive };
}

/**
 * How a client request is framed: a Content-Length or Transfer-Encoding the caller gave wins;
 * otherwise a request with a body is chunked and one without has none.
 */
export function clientRequestPlan(
  method: string,
  given: FieldPairs,
  hasBody: boolean,
): OutgoingPlan {
  const decided = framing({ method, headers: given });
  if (decided.kind !== 'none' || !hasBody) return { fields: given, framing: decided };
  return { fields: [...given, ['Transfer-Encoding', 'chunked']], framing: { kind: 'chunked' } };
}

/** How the body of a response to `method` is delimited; a 101 has none (what follows is a tunnel). */
export function incomingResponseFraming(
  method: string,
  status: number,
  version: HttpVersion,
  fields: FieldPairs,
): Framing {
  if (status === 101) return { kind: 'none' };
  return framing({ method, status, version, headers: fields });
}
