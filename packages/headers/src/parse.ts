import { H1Error, HeaderErrorCode } from './errors.js';
import { CharClass, charClass, describeChar } from './syntax.js';

/**
 * Limits `parseFieldLines` checks before it spends memory: bytes and field lines.
 *
 * @example
 * ```ts
 * import { type FieldSectionLimits, parseFieldLines } from '@h1kit/headers';
 * const limits: FieldSectionLimits = { maxBytes: 4096, maxFields: 16, offset: 1024 };
 * parseFieldLines(new TextEncoder().encode('Expires: 0\r\n\r\n'), limits);
 * ```
 */
export interface FieldSectionLimits {
  /** Largest field section accepted, in bytes, the final empty line included. Default 16384. */
  maxBytes?: number;
  /** Most field lines accepted. Default 128. */
  maxFields?: number;
  /** Added to every error offset: where `bytes` starts in the caller's stream. Default 0. */
  offset?: number;
}

/**
 * The limits `parseFieldLines` applies where none are given: 16 KiB and 128 field lines.
 *
 * @example
 * ```ts
 * import { DEFAULT_FIELD_SECTION_LIMITS, parseFieldLines } from '@h1kit/headers';
 * const bytes = new TextEncoder().encode('Expires: 0\r\n\r\n');
 * // Twice the default room, the same field count.
 * parseFieldLines(bytes, { maxBytes: 2 * DEFAULT_FIELD_SECTION_LIMITS.maxBytes });
 * ```
 */
export const DEFAULT_FIELD_SECTION_LIMITS = { maxBytes: 16384, maxFields: 128 } as const;

const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const SP = 0x20;
const HTAB = 0x09;

/**
 * Parses a complete field section (field lines, each ending in CRLF, then the empty line) such as
 * a trailer section. Strict: no obs-fold, no whitespace before the colon, no bare CR or LF, no
 * control characters, nothing after the empty line. Values are latin1 with OWS removed.
 *
 * @example
 * ```ts
 * import { parseFieldLines } from '@h1kit/headers';
 * const bytes = new TextEncoder().encode('Expires: 0\r\nServer-Timing:  db;dur=53 \r\n\r\n');
 * parseFieldLines(bytes); // [['Expires', '0'], ['Server-Timing', 'db;dur=53']]
 * ```
 */
export function parseFieldLines(
  bytes: Uint8Array,
  limits?: FieldSectionLimits,
): Array<[string, string]> {
  const maxBytes = limits?.maxBytes ?? DEFAULT_FIELD_SECTION_LIMITS.maxBytes;
  const maxFields = limits?.maxFields ?? DEFAULT_FIELD_SECTION_LIMITS.maxFields;
  const base = limits?.offset ?? 0;
  // A NaN or negative limit would compare false everywhere and quietly mean no limit at all.
  checkLimit('maxBytes', maxBytes, true);
  checkLimit('maxFields', maxFields, true);
  checkLimit('offset', base, false);
  const n = bytes.length;
  if (n > maxBytes) {
    throw new H1Error(
      HeaderErrorCode.HEADERS_TOO_LARGE,
      `field section of ${n} bytes exceeds the limit of ${maxBytes}`,
      base + maxBytes,
    );
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, n);
  const fields: Array<[string, string]> = [];
  let pos = 0;
  for (;;) {
    if (pos >= n) throw incomplete(base + n);
    const first = bytes[pos]!;
    if (first === CR) {
      if (pos + 1 >= n) throw incomplete(base + n);
      if (bytes[pos + 1] !== LF) throw invalid('CR not followed by LF', base + pos + 1);
      if (pos + 2 !== n) throw invalid('bytes after the end of the field section', base + pos + 2);
      return fields;
    }
    if (first === SP || first === HTAB)
      throw invalid('line folding (obs-fold) or whitespace before a field name', base + pos);

    const nameStart = pos;
    while (pos < n && (charClass[bytes[pos]!]! & CharClass.TCHAR) !== 0) pos++;
    if (pos >= n) throw incomplete(base + n);
    const afterName = bytes[pos]!;
    if (afterName !== COLON) {
      if (pos === nameStart && afterName !== SP && afterName !== HTAB) {
        throw invalid(`${describeChar(afterName)} may not start a field name`, base + pos);
      }
      const why =
        afterName === SP || afterName === HTAB
          ? 'whitespace between field name and colon'
          : `${describeChar(afterName)} in a field name`;
      throw invalid(why, base + pos);
    }
    if (pos === nameStart) throw invalid('empty field name', base + pos);
    const name = text.toString('latin1', nameStart, pos);
    pos++;

    while (pos < n && (bytes[pos] === SP || bytes[pos] === HTAB)) pos++;
    const valueStart = pos;
    while (pos < n && (charClass[bytes[pos]!]! & CharClass.FIELD_CONTENT) !== 0) pos++;
    if (pos >= n) throw incomplete(base + n);
    const stop = bytes[pos]!;
    if (stop !== CR) {
      const why =
        stop === LF ? 'bare LF ends a field line' : `${describeChar(stop)} in a field value`;
      throw invalid(why, base + pos);
    }
    if (pos + 1 >= n) throw incomplete(base + n);
    if (bytes[pos + 1] !== LF) throw invalid('CR not followed by LF', base + pos + 1);
    let valueEnd = pos;
    while (valueEnd > valueStart && (bytes[valueEnd - 1] === SP || bytes[valueEnd - 1] === HTAB))
      valueEnd--;
    if (fields.length === maxFields) {
      throw new H1Error(
        HeaderErrorCode.TOO_MANY_FIELDS,
        `more than ${maxFields} field lines`,
        base + nameStart,
      );
    }
    fields.push([name, text.toString('latin1', valueStart, valueEnd)]);
    pos += 2;
  }
}

function incomplete(offset: number): H1Error {
  return new H1Error(
    HeaderErrorCode.INCOMPLETE_FIELD_SECTION,
    'field section ends before its empty line',
    offset,
  );
}

function invalid(why: string, offset: number): H1Error {
  return new H1Error(HeaderErrorCode.INVALID_FIELD_LINE, `invalid field line: ${why}`, offset);
}

function checkLimit(name: string, value: number, infinite: boolean): void {
  if ((Number.isInteger(value) && value >= 0) || (infinite && value === Number.POSITIVE_INFINITY)) {
    return;
  }
  throw new H1Error(
    HeaderErrorCode.INVALID_LIMITS,
    `${name} must be a whole number of at least 0${infinite ? ' (or Infinity)' : ''}; got ${String(value)}`,
  );
}
