import { H1Error, HeaderErrorCode } from './errors.js';
import { type FieldInput, type FieldVisitor, forEachField } from './fields.js';
import type { HttpVersion } from './serialize.js';
import { CharClass, charClass, isOws } from './syntax.js';

/**
 * How a message body is delimited (RFC 9112 section 6.3):
 * - `none`: the message has no body (HEAD response, 1xx/204/304, 2xx to CONNECT, a request
 *   without Content-Length or Transfer-Encoding);
 * - `length`: exactly `length` bytes follow the head;
 * - `chunked`: the chunked transfer coding frames the body;
 * - `close`: the body runs until the connection closes (responses only).
 *
 * @example
 * ```ts
 * import { type Framing, framing } from '@h1kit/headers';
 * const body: Framing = framing({ headers: { 'Content-Length': '11' } });
 * if (body.kind === 'length') console.log(body.length); // 11
 * ```
 */
export type Framing =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'close' };

/**
 * What `framing` decides from: the request method, the response status for a response, and the
 * field lines.
 *
 * @example
 * ```ts
 * import { type FramingInput, framing } from '@h1kit/headers';
 * const input: FramingInput = { method: 'HEAD', status: 200, headers: { 'Content-Length': 512 } };
 * framing(input); // { kind: 'none' }: a response to HEAD has no body
 * ```
 */
export interface FramingInput {
  /** Request method; for a response, the method of the request it answers. */
  method?: string;
  /** Response status. Present means the message is a response, absent a request. */
  status?: number;
  /** HTTP-version of the message; defaults to '1.1'. */
  version?: HttpVersion;
  headers: FieldInput;
}

const NONE: Framing = Object.freeze({ kind: 'none' });
const CHUNKED: Framing = Object.freeze({ kind: 'chunked' });
const CLOSE: Framing = Object.freeze({ kind: 'close' });

/**
 * Decides how the body of a message is delimited, and throws `H1Error` on every framing shape
 * that two parsers could read differently (request smuggling): Transfer-Encoding together with
 * Content-Length, differing or malformed Content-Length values, chunked applied twice, a request
 * whose final transfer coding is not chunked, Transfer-Encoding in an HTTP/1.0 message.
 *
 * @example
 * ```ts
 * import { framing } from '@h1kit/headers';
 * framing({ method: 'POST', headers: { 'Transfer-Encoding': 'chunked' } }); // { kind: 'chunked' }
 * framing({ status: 200, headers: {} }); // { kind: 'close' }
 * framing({ headers: { 'Content-Length': ['3', '4'] } }); // throws ERR_H1_INVALID_CONTENT_LENGTH
 * ```
 */
export function framing(input: FramingInput): Framing {
  const { method, status } = input;
  const isResponse = status !== undefined;
  if (isResponse) {
    if ((status >= 100 && status < 200) || status === 204 || status === 304) return NONE;
    if (method === 'HEAD') return NONE;
    if (method === 'CONNECT' && status >= 200 && status < 300) return NONE;
  }

  const found = new FramingFields();
  forEachField(input.headers, found);
  const { contentLength, codings, chunkedAt } = found;

  if (found.transferEncoding && codings === 0) {
    throw new H1Error(
      HeaderErrorCode.INVALID_TRANSFER_ENCODING,
      'Transfer-Encoding names no coding',
    );
  }
  if (codings > 0) {
    if (contentLength !== -1) {
      throw new H1Error(
        HeaderErrorCode.CONFLICTING_FRAMING,
        'Transfer-Encoding and Content-Length are both present',
      );
    }
    if (input.version === '1.0') {
      throw new H1Error(
        HeaderErrorCode.INVALID_TRANSFER_ENCODING,
        'Transfer-Encoding in an HTTP/1.0 message',
      );
    }
    if (chunkedAt === codings - 1) return CHUNKED;
    if (!isResponse) {
      throw new H1Error(
        HeaderErrorCode.INVALID_TRANSFER_ENCODING,
        'the final transfer coding of a request is not chunked',
      );
    }
    return CLOSE;
  }
  if (contentLength !== -1) return { kind: 'length', length: contentLength };
  return isResponse ? CLOSE : NONE;
}

/** Collects what the framing decision needs from the fields, checking each value as it goes. */
class FramingFields implements FieldVisitor {
  contentLength = -1;
  transferEncoding = false;
  /** Number of transfer-codings seen, and the position of chunked among them (-1: absent). */
  codings = 0;
  chunkedAt = -1;

  field(name: string, value: string | number): void {
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      const length = parseContentLength(`${value}`);
      if (this.contentLength !== -1 && this.contentLength !== length) {
        throw new H1Error(
          HeaderErrorCode.INVALID_CONTENT_LENGTH,
          `differing Content-Length values ${this.contentLength} and ${length}`,
        );
      }
      this.contentLength = length;
    } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      this.transferEncoding = true;
      forEachCoding(`${value}`, this);
    }
  }

  coding(name: string): void {
    if (name === 'chunked') {
      if (this.chunkedAt !== -1) {
        throw new H1Error(
          HeaderErrorCode.INVALID_TRANSFER_ENCODING,
          'chunked is applied more than once',
        );
      }
      this.chunkedAt = this.codings;
    }
    this.codings++;
  }
}

/**
 * Content-Length = 1*DIGIT; a comma-separated list of identical values is accepted as one value
 * (RFC 9110 section 8.6), anything else is rejected.
 */
function parseContentLength(value: string): number {
  const n = value.length;
  let length = -1;
  let i = 0;
  for (;;) {
    i = skipOws(value, i);
    const start = i;
    let element = 0;
    for (; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      element = element * 10 + (c - 0x30);
      if (element > Number.MAX_SAFE_INTEGER) throw badLength(value);
    }
    if (i === start) throw badLength(value);
    if (length !== -1 && length !== element) {
      throw new H1Error(
        HeaderErrorCode.INVALID_CONTENT_LENGTH,
        `differing Content-Length values in ${JSON.stringify(value)}`,
      );
    }
    length = element;
    i = skipOws(value, i);
    if (i === n) return length;
    if (value.charCodeAt(i) !== 0x2c) throw badLength(value);
    i++;
  }
}

function badLength(value: string): H1Error {
  return new H1Error(
    HeaderErrorCode.INVALID_CONTENT_LENGTH,
    `malformed Content-Length ${JSON.stringify(value)}`,
  );
}

/**
 * Calls `found.coding` with the lower-cased name of each transfer-coding in a Transfer-Encoding
 * value (RFC 9112 section 7: `token *( OWS ";" OWS token "=" ( token / quoted-string ) )`).
 * Stricter than the list rules on purpose: an empty list element or a parameter on chunked is
 * rejected, because llhttp reads both differently from the RFC, and two parsers reading one
 * message two ways is how requests are smuggled.
 */
function forEachCoding(value: string, found: FramingFields): void {
  const n = value.length;
  let i = skipOws(value, 0);
  for (;;) {
    const start = i;
    i = skipToken(value, i);
    if (i === start) throw badCoding(value);
    const name = value.slice(start, i).toLowerCase();
    i = skipOws(value, i);
    if (i < n && value.charCodeAt(i) === 0x3b && name === 'chunked') throw badCoding(value);
    while (i < n && value.charCodeAt(i) === 0x3b) {
      i = skipOws(value, i + 1);
      const paramStart = i;
      i = skipToken(value, i);
      if (i === paramStart || value.charCodeAt(i) !== 0x3d) throw badCoding(value);
      i++;
      if (value.charCodeAt(i) === 0x22) {
        i = skipQuotedString(value, i);
      } else {
        const valueStart = i;
        i = skipToken(value, i);
        if (i === valueStart) throw badCoding(value);
      }
      i = skipOws(value, i);
    }
    found.coding(name);
    if (i === n) return;
    if (value.charCodeAt(i) !== 0x2c) throw badCoding(value);
    i = skipOws(value, i + 1);
  }
}

function skipToken(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c > 0x7f || (charClass[c]! & CharClass.TCHAR) === 0) break;
    i++;
  }
  return i;
}

function skipOws(s: string, i: number): number {
  while (i < s.length && isOws(s.charCodeAt(i))) i++;
  return i;
}

function skipQuotedString(s: string, i: number): number {
  i++; // opening DQUOTE
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c === 0x5c) {
      const next = s.charCodeAt(i + 1);
      if (!(next <= 0xff && (charClass[next]! & CharClass.QUOTED_PAIR) !== 0)) throw badCoding(s);
      i += 2;
    } else if (c <= 0xff && (charClass[c]! & CharClass.QDTEXT) !== 0) {
      i++;
    } else {
      throw badCoding(s);
    }
  }
  throw badCoding(s);
}

function badCoding(value: string): H1Error {
  return new H1Error(
    HeaderErrorCode.INVALID_TRANSFER_ENCODING,
    `malformed Transfer-Encoding ${JSON.stringify(value)}`,
  );
}
