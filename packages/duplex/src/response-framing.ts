import { framing } from '@h1kit/headers';
import { connectionHas, type FieldPairs, type RequestHead, recordOf } from './message.js';
import type { OutgoingFraming } from './outgoing.js';

export interface ResponsePlan {
  /** The fields to send: the caller's, plus Transfer-Encoding or Connection where needed. */
  fields: FieldPairs;
  framing: OutgoingFraming;
  /** Whether the connection stays open after this response. */
  keepAlive: boolean;
}

/**
 * Decides how a response body is framed from what the handler gave: its own Content-Length or
 * Transfer-Encoding wins (checked by `framing()`, so contradictions throw); otherwise chunked for
 * an HTTP/1.1 peer and close-delimited for an HTTP/1.0 one, which cannot read chunked.
 */
export function responseFraming(
  request: RequestHead,
  status: number,
  given: FieldPairs,
  keepAlive: boolean,
): ResponsePlan {
  const decided = framing({ method: request.method, status, headers: given });
  const fields = given;
  const record = recordOf(given);
  let alive = keepAlive && !connectionHas(record, 'close') && request.version === '1.1';
  let plan: OutgoingFraming;
  if (decided.kind === 'none') plan = { kind: 'none' };
  else if (decided.kind === 'length') plan = { kind: 'length', length: decided.length! };
  else if (decided.kind === 'chunked') plan = { kind: 'chunked' };
  else if (record['transfer-encoding'] !== undefined || request.version === '1.0') {
    // A coding the handler applies itself without chunked, or a peer that cannot read chunked:
    // the body runs until the connection closes.
    plan = { kind: 'close' };
    alive = false;
  } else {
    plan = { kind: 'chunked' };
    fields.push(['Transfer-Encoding', 'chunked']);
  }
  if (!alive && !connectionHas(record, 'close')) fields.push(['Connection', 'close']);
  return { fields, framing: plan, keepAlive: alive };
}
