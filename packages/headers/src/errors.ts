/**
 * The one error type of h1kit. Every rejection of input by any h1kit package is an `H1Error`
 * whose `code` is stable and documented, so callers can branch on it without parsing messages.
 */
class H1ErrorClass extends Error {
  readonly code: string;
  /** Byte offset in the stream (or in the input given) where the fault was found, when known. */
  readonly offset: number | undefined;

  constructor(code: string, message: string, offset?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.offset = offset;
  }

  override get name(): string {
    return 'H1Error';
  }
}

// One class per process, whichever copy of h1kit loads first: the ESM and CJS builds, or two
// packages that each bundle a copy, would otherwise each define their own and `instanceof`
// would fail across them. @h1kit/bufio, which imports nothing of ours, registers the same way.
const registry = globalThis as unknown as Record<symbol, typeof H1ErrorClass | undefined>;
const key = Symbol.for('h1kit.H1Error');
registry[key] ??= H1ErrorClass;
export const H1Error: typeof H1ErrorClass = registry[key];
export type H1Error = H1ErrorClass;

/** The codes `@h1kit/headers` throws. Other packages keep their own lists beside their code. */
export const HeaderErrorCode = {
  INVALID_FIELD_NAME: 'ERR_H1_INVALID_FIELD_NAME',
  INVALID_FIELD_VALUE: 'ERR_H1_INVALID_FIELD_VALUE',
  INVALID_HEADERS: 'ERR_H1_INVALID_HEADERS',
  INVALID_METHOD: 'ERR_H1_INVALID_METHOD',
  INVALID_TARGET: 'ERR_H1_INVALID_TARGET',
  INVALID_STATUS: 'ERR_H1_INVALID_STATUS',
  INVALID_REASON: 'ERR_H1_INVALID_REASON',
  INVALID_VERSION: 'ERR_H1_INVALID_VERSION',
  INVALID_FIELD_LINE: 'ERR_H1_INVALID_FIELD_LINE',
  INCOMPLETE_FIELD_SECTION: 'ERR_H1_INCOMPLETE_FIELD_SECTION',
  HEADERS_TOO_LARGE: 'ERR_H1_HEADERS_TOO_LARGE',
  TOO_MANY_FIELDS: 'ERR_H1_TOO_MANY_FIELDS',
  INVALID_CONTENT_LENGTH: 'ERR_H1_INVALID_CONTENT_LENGTH',
  CONFLICTING_FRAMING: 'ERR_H1_CONFLICTING_FRAMING',
  INVALID_TRANSFER_ENCODING: 'ERR_H1_INVALID_TRANSFER_ENCODING',
} as const;
