/**
 * Character classes of RFC 9110 section 5.6 as one 256-entry table of bit flags, so that every
 * validator in h1kit is a single indexed load per byte or char code.
 *
 * @example
 * ```ts
 * import { CharClass, charClass } from '@h1kit/headers';
 * const c = 0x22; // DQUOTE
 * (charClass[c]! & CharClass.TCHAR) !== 0; // false: not in a token
 * (charClass[c]! & CharClass.FIELD_CONTENT) !== 0; // true: allowed in a field value
 * ```
 */
export const CharClass = {
  /** tchar: may appear in a token (field names, methods, codings, chunk-ext names). */
  TCHAR: 1,
  /** field-vchar / SP / HTAB: may appear in a field value (obs-text included). */
  FIELD_CONTENT: 2,
  /** qdtext: may appear unescaped inside a quoted-string. */
  QDTEXT: 4,
  /** VCHAR / obs-text: may follow a backslash in a quoted-pair. */
  QUOTED_PAIR: 8,
  /** VCHAR, no obs-text: may appear in a request-target. */
  TARGET: 16,
} as const;

/**
 * The `CharClass` bits of each of the 256 byte values: one table lookup per byte in the hot loops.
 *
 * @example
 * ```ts
 * import { CharClass, charClass } from '@h1kit/headers';
 * const bytes = new TextEncoder().encode('/a?b=1');
 * const isTarget = bytes.every((c) => (charClass[c]! & CharClass.TARGET) !== 0); // true
 * ```
 */
export const charClass: Uint8Array = buildTable();

function buildTable(): Uint8Array {
  const table = new Uint8Array(256);
  const tcharSymbols = "!#$%&'*+-.^_`|~";
  for (let c = 0; c < 256; c++) {
    let flags = 0;
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (alnum || tcharSymbols.includes(String.fromCharCode(c))) flags |= CharClass.TCHAR;
    const vchar = c >= 0x21 && c <= 0x7e;
    const obsText = c >= 0x80;
    if (vchar || obsText || c === 0x20 || c === 0x09) flags |= CharClass.FIELD_CONTENT;
    if (c === 0x09 || c === 0x20 || c === 0x21 || (c >= 0x23 && c <= 0x5b))
      flags |= CharClass.QDTEXT;
    if ((c >= 0x5d && c <= 0x7e) || obsText) flags |= CharClass.QDTEXT;
    if (vchar || obsText || c === 0x20 || c === 0x09) flags |= CharClass.QUOTED_PAIR;
    if (vchar) flags |= CharClass.TARGET;
    table[c] = flags;
  }
  return table;
}

/**
 * True when `s` is a non-empty RFC 9110 token.
 *
 * @example
 * ```ts
 * import { isToken } from '@h1kit/headers';
 * isToken('gzip'); // true
 * isToken('no space'); // false
 * isToken(''); // false
 * ```
 */
export function isToken(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f || (charClass[c]! & CharClass.TCHAR) === 0) return false;
  }
  return true;
}

/** OWS is SP or HTAB. */
export function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Printable form of a char code for error messages.
 *
 * @example
 * ```ts
 * import { describeChar } from '@h1kit/headers';
 * describeChar(0x3a); // "':'"
 * describeChar(0x0a); // '0x0a'
 * ```
 */
export function describeChar(c: number): string {
  return c >= 0x21 && c <= 0x7e
    ? `'${String.fromCharCode(c)}'`
    : `0x${c.toString(16).padStart(2, '0')}`;
}
