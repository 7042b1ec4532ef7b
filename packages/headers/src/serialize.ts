import { STATUS_CODES } from 'node:http';
import { H1Error, HeaderErrorCode } from './errors.js';
import { type FieldInput, forEachField } from './fields.js';
import { CharClass } from './syntax.js';
import { type HeadWriter, writeHead } from './writer.js';

/**
 * The HTTP versions a serialized head may name.
 *
 * @example
 * ```ts
 * import { type HttpVersion, serializeRequestHead } from '@h1kit/headers';
 * const version: HttpVersion = '1.0';
 * serializeRequestHead('GET', '/', { Host: 'example.com' }, { version });
 * // 'GET / HTTP/1.0\r\nHost: example.com\r\n\r\n'
 * ```
 */
export type HttpVersion = '1.1' | '1.0';

/**
 * Options of `serializeResponseHead`.
 *
 * @example
 * ```ts
 * import { type ResponseHeadOptions, serializeResponseHead } from '@h1kit/headers';
 * const options: ResponseHeadOptions = { reason: 'Fine', version: '1.0' };
 * serializeResponseHead(200, { 'Content-Length': 0 }, options);
 * // 'HTTP/1.0 200 Fine\r\nContent-Length: 0\r\n\r\n'
 * ```
 */
export interface ResponseHeadOptions {
  /** Reason phrase; defaults to the standard one for the status, or empty. */
  reason?: string;
  /** HTTP-version of the status line; defaults to '1.1'. */
  version?: HttpVersion;
}

/**
 * Options of `serializeRequestHead`.
 *
 * @example
 * ```ts
 * import { type RequestHeadOptions, serializeRequestHead } from '@h1kit/headers';
 * const options: RequestHeadOptions = { version: '1.0' };
 * serializeRequestHead('HEAD', '/health', { Host: 'example.com' }, options);
 * ```
 */
export interface RequestHeadOptions {
  /** HTTP-version of the request line; defaults to '1.1'. */
  version?: HttpVersion;
}

/**
 * The bytes of a response head: status line, field lines and the empty line. Every part is
 * validated as it is written, and an `H1Error` leaves nothing behind: either the whole head is
 * returned or nothing is, so no input can put a CR or LF of its own on the wire.
 *
 * @example
 * ```ts
 * import { serializeResponseHead } from '@h1kit/headers';
 * const head = serializeResponseHead(200, { 'Content-Length': 2 });
 * // 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n'
 * ```
 */
export function serializeResponseHead(
  status: number,
  fields: FieldInput,
  options?: ResponseHeadOptions,
): Uint8Array {
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new H1Error(
      HeaderErrorCode.INVALID_STATUS,
      `status must be an integer of three digits, got ${status}`,
    );
  }
  const version = versionString(options?.version);
  const reason = options?.reason ?? STATUS_CODES[status] ?? '';
  if (typeof reason !== 'string') {
    throw new H1Error(HeaderErrorCode.INVALID_REASON, 'reason phrase must be a string');
  }
  return writeHead(responseHead, version, status, reason, fields);
}

function responseHead(
  writer: HeadWriter,
  version: string,
  status: number,
  reason: string,
  fields: FieldInput,
): void {
  statusLine(writer, version, status, reason);
  forEachField(fields, writer);
  writer.byte2(0x0d, 0x0a);
}

/**
 * HTTP/1.1 status lines written before, by status, with the reason they carry: nearly every
 * response has one of a few, and copying their checked bytes costs less than writing them anew.
 * The reason is compared on each use, so a changed `STATUS_CODES` entry or a caller's own reason
 * is written (and checked) afresh. At most 900 entries, one per three-digit status.
 */
const statusLines: Array<{ reason: string; bytes: Uint8Array } | undefined> = Array.from(
  { length: 900 },
  () => undefined,
);

function statusLine(writer: HeadWriter, version: string, status: number, reason: string): void {
  const cacheable = version === 'HTTP/1.1';
  const known = cacheable ? statusLines[status - 100] : undefined;
  if (known !== undefined && known.reason === reason) {
    writer.raw(known.bytes);
    return;
  }
  const mark = writer.mark();
  writer.ascii(version);
  writer.ascii(` ${status} `);
  writer.checked(
    reason,
    0,
    reason.length,
    CharClass.FIELD_CONTENT,
    HeaderErrorCode.INVALID_REASON,
    'reason phrase',
  );
  writer.byte2(0x0d, 0x0a);
  if (cacheable && known === undefined)
    statusLines[status - 100] = { reason, bytes: writer.since(mark) };
}

/**
 * The bytes of a request head: request line, field lines and the empty line.
 *
 * @example
 * ```ts
 * import { serializeRequestHead } from '@h1kit/headers';
 * const head = serializeRequestHead('GET', '/index.html', { Host: 'example.com' });
 * // 'GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n'
 * ```
 */
export function serializeRequestHead(
  method: string,
  target: string,
  fields: FieldInput,
  options?: RequestHeadOptions,
): Uint8Array {
  if (typeof method !== 'string') {
    throw new H1Error(HeaderErrorCode.INVALID_METHOD, 'method must be a string');
  }
  if (typeof target !== 'string' || target.length === 0) {
    throw new H1Error(HeaderErrorCode.INVALID_TARGET, 'request-target must be a non-empty string');
  }
  const version = versionString(options?.version);
  return writeHead(requestHead, method, target, version, fields);
}

function requestHead(
  writer: HeadWriter,
  method: string,
  target: string,
  version: string,
  fields: FieldInput,
): void {
  writer.token(method, HeaderErrorCode.INVALID_METHOD, 'method');
  writer.ascii(' ');
  writer.checked(
    target,
    0,
    target.length,
    CharClass.TARGET,
    HeaderErrorCode.INVALID_TARGET,
    'request-target',
  );
  writer.ascii(` ${version}`);
  writer.byte2(0x0d, 0x0a);
  forEachField(fields, writer);
  writer.byte2(0x0d, 0x0a);
}

function versionString(version: HttpVersion | undefined): string {
  if (version === undefined || version === '1.1') return 'HTTP/1.1';
  if (version === '1.0') return 'HTTP/1.0';
  throw new H1Error(
    HeaderErrorCode.INVALID_VERSION,
    `version must be '1.1' or '1.0', got ${JSON.stringify(version)}`,
  );
}
