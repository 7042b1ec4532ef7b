import { STATUS_CODES } from 'node:http';
import { H1Error, HeaderErrorCode } from './errors.js';
import { type FieldInput, fieldLinesString } from './fields.js';
import { describeChar, invalidFieldValueIndex, invalidTargetIndex, isToken } from './syntax.js';

export type HttpVersion = '1.1' | '1.0';

export interface ResponseHeadOptions {
  /** Reason phrase; defaults to the standard one for the status, or empty. */
  reason?: string;
  /** HTTP-version of the status line; defaults to '1.1'. */
  version?: HttpVersion;
}

export interface RequestHeadOptions {
  /** HTTP-version of the request line; defaults to '1.1'. */
  version?: HttpVersion;
}

/**
 * The bytes of a response head: status line, field lines and the empty line. Every part is
 * validated first, so either the whole head is returned or an `H1Error` is thrown and nothing
 * is produced; no input can smuggle a CR or LF onto the wire.
 */
export function serializeResponseHead(
  status: number,
  fields: FieldInput,
  options?: ResponseHeadOptions,
): Uint8Array {
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new H1Error(HeaderErrorCode.INVALID_STATUS, `status must be an integer of three digits, got ${status}`);
  }
  const reason = options?.reason ?? STATUS_CODES[status] ?? '';
  const bad = invalidFieldValueIndex(reason);
  if (bad !== -1) {
    throw new H1Error(HeaderErrorCode.INVALID_REASON, `reason phrase: ${describeChar(reason.charCodeAt(bad))} at index ${bad} may not appear in a reason phrase`);
  }
  const version = versionString(options?.version);
  return Buffer.from(`${version} ${status} ${reason}\r\n${fieldLinesString(fields)}\r\n`, 'latin1');
}

/** The bytes of a request head: request line, field lines and the empty line. */
export function serializeRequestHead(
  method: string,
  target: string,
  fields: FieldInput,
  options?: RequestHeadOptions,
): Uint8Array {
  if (typeof method !== 'string' || !isToken(method)) {
    throw new H1Error(HeaderErrorCode.INVALID_METHOD, `method ${JSON.stringify(method)} is not a token`);
  }
  if (typeof target !== 'string' || target.length === 0) {
    throw new H1Error(HeaderErrorCode.INVALID_TARGET, 'request-target must be a non-empty string');
  }
  const bad = invalidTargetIndex(target);
  if (bad !== -1) {
    throw new H1Error(HeaderErrorCode.INVALID_TARGET, `request-target: ${describeChar(target.charCodeAt(bad))} at index ${bad} may not appear in a request-target`);
  }
  const version = versionString(options?.version);
  return Buffer.from(`${method} ${target} ${version}\r\n${fieldLinesString(fields)}\r\n`, 'latin1');
}

function versionString(version: HttpVersion | undefined): string {
  if (version === undefined || version === '1.1') return 'HTTP/1.1';
  if (version === '1.0') return 'HTTP/1.0';
  throw new H1Error(HeaderErrorCode.INVALID_VERSION, `version must be '1.1' or '1.0', got ${JSON.stringify(version)}`);
}
