// H1Error lives in @h1kit/errors, the one class body of h1kit; re-exported here as it always was.
export { H1Error } from '@h1kit/errors';

/**
 * The codes `@h1kit/headers` throws. Other packages keep their own lists beside their code.
 *
 * @example
 * ```ts
 * import { H1Error, HeaderErrorCode, serializeResponseHead } from '@h1kit/headers';
 * try {
 *   serializeResponseHead(200, { 'X-Note': 'a\r\nSet-Cookie: x=1' });
 * } catch (error) {
 *   if (error instanceof H1Error && error.code === HeaderErrorCode.INVALID_FIELD_VALUE) {
 *     // a CR or LF in a value: refuse the value, nothing reached the wire
 *   }
 * }
 * ```
 */
export const HeaderErrorCode = {
  /** A field name given to a serializer is empty or holds a char that is not a tchar. */
  INVALID_FIELD_NAME: 'ERR_H1_INVALID_FIELD_NAME',
  /**
   * A field value holds a char outside HTAB, SP, VCHAR and obs-text, is not a string or number, or
   * is a non-finite number.
   */
  INVALID_FIELD_VALUE: 'ERR_H1_INVALID_FIELD_VALUE',
  /**
   * The fields argument has the wrong shape: not an object or iterable, an odd flat array, a pair
   * that is not `[name, value]`.
   */
  INVALID_HEADERS: 'ERR_H1_INVALID_HEADERS',
  /** `serializeRequestHead` was given a method that is not a string or not a token. */
  INVALID_METHOD: 'ERR_H1_INVALID_METHOD',
  /**
   * `serializeRequestHead` was given a request-target that is empty, not a string, or holds a char
   * outside VCHAR.
   */
  INVALID_TARGET: 'ERR_H1_INVALID_TARGET',
  /** `serializeResponseHead` was given a status that is not an integer from 100 to 999. */
  INVALID_STATUS: 'ERR_H1_INVALID_STATUS',
  /**
   * `serializeResponseHead` was given a reason phrase that is not a string or holds CR, LF or
   * another char a field value may not hold.
   */
  INVALID_REASON: 'ERR_H1_INVALID_REASON',
  /** A serializer was given a `version` other than `'1.1'` or `'1.0'`. */
  INVALID_VERSION: 'ERR_H1_INVALID_VERSION',
  /**
   * `parseFieldLines` met obs-fold, whitespace before the colon, a bare CR or LF, a CTL, or bytes
   * after the empty line.
   */
  INVALID_FIELD_LINE: 'ERR_H1_INVALID_FIELD_LINE',
  /** `parseFieldLines` reached the end of its input before the empty line that ends the section. */
  INCOMPLETE_FIELD_SECTION: 'ERR_H1_INCOMPLETE_FIELD_SECTION',
  /**
   * `parseFieldLines` was given more bytes than `maxBytes` (checked before any parsing); duplex
   * throws it for a head over its `maxHeadBytes`.
   */
  HEADERS_TOO_LARGE: 'ERR_H1_HEADERS_TOO_LARGE',
  /**
   * `parseFieldLines` found more field lines than `maxFields`; duplex throws it for a head over its
   * `maxFields`.
   */
  TOO_MANY_FIELDS: 'ERR_H1_TOO_MANY_FIELDS',
  /**
   * `parseFieldLines` was given a limit it cannot apply: `maxBytes` or `maxFields` that is not a
   * whole number of at least 0 (or Infinity), or an `offset` that is not a whole number of at
   * least 0.
   */
  INVALID_LIMITS: 'ERR_H1_INVALID_LIMITS',
  /**
   * `framing` found a Content-Length that is empty, signed, not decimal, above 2^53 - 1, or
   * differing between values.
   */
  INVALID_CONTENT_LENGTH: 'ERR_H1_INVALID_CONTENT_LENGTH',
  /** `framing` found Transfer-Encoding and Content-Length in the same message. */
  CONFLICTING_FRAMING: 'ERR_H1_CONFLICTING_FRAMING',
  /**
   * `framing` refused a Transfer-Encoding that parsers could read apart: no coding, an empty list
   * element, a malformed coding or parameter, a parameter on chunked, chunked twice, a request
   * whose final coding is not chunked, or any Transfer-Encoding in HTTP/1.0.
   */
  INVALID_TRANSFER_ENCODING: 'ERR_H1_INVALID_TRANSFER_ENCODING',
} as const;
