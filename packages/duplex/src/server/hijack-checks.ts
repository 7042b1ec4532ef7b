import type { IncomingMessage } from 'node:http';
import { type Framing, H1Error, HeaderErrorCode } from '@h1kit/headers';
import { requestFraming } from '../io/framing-plan.js';
import { type RequestHead, requestHeadOf } from '../io/message.js';

/**
 * What node:http has not checked of a request it was made to hand over: its parser stopped
 * right after the head, before llhttp's own framing checks and before node:http's Host check.
 * Returns the request head and its body framing, or the status to refuse it with and why.
 */
export function checkHijackedRequest(
  req: IncomingMessage,
  server: { requireHostHeader?: boolean; maxHeadersCount?: number | null },
): { request: RequestHead; framing: Framing } | { status: number; error: H1Error } {
  // node:http stops collecting field lines at maxHeaderPairs entries of the flat list: 2000 (1000
  // lines) by default, maxHeadersCount * 2 when set (0: no limit). A framing field past them is
  // lost, so a head that reached the limit cannot be framed safely.
  const flatLimit = typeof server.maxHeadersCount === 'number' ? server.maxHeadersCount * 2 : 2000;
  if (flatLimit > 0 && req.rawHeaders.length >= flatLimit) {
    return {
      status: 431,
      error: new H1Error(
        HeaderErrorCode.TOO_MANY_FIELDS,
        `the head reached node:http's limit of ${flatLimit / 2} field lines`,
      ),
    };
  }
  const request = requestHeadOf(
    req.method ?? 'GET',
    req.url ?? '/',
    req.httpVersion === '1.0' ? '1.0' : '1.1',
    req.rawHeaders,
  );
  try {
    return { request, framing: requestFraming(request, server.requireHostHeader !== false) };
  } catch (error) {
    return { status: 400, error: error as H1Error };
  }
}
