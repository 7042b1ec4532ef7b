// The chunk-ext grammar of RFC 9112 section 7.1.1, one byte at a time, so that a chunk-size line
// may arrive split anywhere and is never buffered:
//   chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//   chunk-ext-name = token
//   chunk-ext-val  = token / quoted-string
import { CharClass, charClass } from '@h1kit/headers';

/** Where the reader stands between the last HEXDIG of chunk-size and the CR ending the line. */
export const ExtState = {
  /** Right after chunk-size: the only state in which nothing but CR is needed. */
  AFTER_SIZE: 0,
  /** Whitespace after chunk-size: only a `;` may follow (BWS before the first extension). */
  SIZE_BWS: 1,
  /** After `;`: BWS, then a name. */
  BEFORE_NAME: 2,
  NAME: 3,
  /** Whitespace after a name: `=` or the next `;` may follow, not the line end. */
  NAME_BWS: 4,
  /** After `=`: BWS, then a token or a quoted-string. */
  BEFORE_VALUE: 5,
  TOKEN_VALUE: 6,
  QUOTED_VALUE: 7,
  /** After a backslash inside a quoted-string. */
  QUOTED_PAIR: 8,
  /** Right after the closing quote. */
  QUOTED_END: 9,
  /** Whitespace after a value: only the next `;` may follow. */
  VALUE_BWS: 10,
} as const;

/** `chunkExtStep` result: a CR in a state where the line may end. */
export const LINE_END = -1;
/** `chunkExtStep` result: the byte breaks the grammar. */
export const INVALID = -2;

const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

const isWhite = (c: number): boolean => c === SP || c === HTAB;
const isTchar = (c: number): boolean => (charClass[c]! & CharClass.TCHAR) !== 0;

/** The state after byte `c` in `state`, or `LINE_END`, or `INVALID`. */
export function chunkExtStep(state: number, c: number): number {
  switch (state) {
    case ExtState.AFTER_SIZE:
      if (c === CR) return LINE_END;
      if (c === SEMICOLON) return ExtState.BEFORE_NAME;
      return isWhite(c) ? ExtState.SIZE_BWS : INVALID;
    case ExtState.SIZE_BWS:
    case ExtState.VALUE_BWS:
      if (c === SEMICOLON) return ExtState.BEFORE_NAME;
      return isWhite(c) ? state : INVALID;
    case ExtState.BEFORE_NAME:
      if (isTchar(c)) return ExtState.NAME;
      return isWhite(c) ? state : INVALID;
    case ExtState.NAME:
      if (isTchar(c)) return state;
      if (c === CR) return LINE_END;
      return afterNameOrBws(c, ExtState.NAME_BWS);
    case ExtState.NAME_BWS:
      return afterNameOrBws(c, state);
    case ExtState.BEFORE_VALUE:
      if (isTchar(c)) return ExtState.TOKEN_VALUE;
      if (c === DQUOTE) return ExtState.QUOTED_VALUE;
      return isWhite(c) ? state : INVALID;
    case ExtState.TOKEN_VALUE:
      if (isTchar(c)) return state;
      return afterValue(c);
    case ExtState.QUOTED_VALUE:
      if (c === DQUOTE) return ExtState.QUOTED_END;
      if (c === BACKSLASH) return ExtState.QUOTED_PAIR;
      return (charClass[c]! & CharClass.QDTEXT) !== 0 ? state : INVALID;
    case ExtState.QUOTED_PAIR:
      return (charClass[c]! & CharClass.QUOTED_PAIR) !== 0 ? ExtState.QUOTED_VALUE : INVALID;
    case ExtState.QUOTED_END:
      return afterValue(c);
    default:
      return INVALID;
  }
}

function afterNameOrBws(c: number, whiteState: number): number {
  if (c === EQUALS) return ExtState.BEFORE_VALUE;
  if (c === SEMICOLON) return ExtState.BEFORE_NAME;
  return isWhite(c) ? whiteState : INVALID;
}

function afterValue(c: number): number {
  if (c === CR) return LINE_END;
  if (c === SEMICOLON) return ExtState.BEFORE_NAME;
  return isWhite(c) ? ExtState.VALUE_BWS : INVALID;
}

/** True where a fault is in the chunk-size itself rather than in an extension. */
export function isSizeState(state: number): boolean {
  return state === ExtState.AFTER_SIZE || state === ExtState.SIZE_BWS;
}

/**
 * Turns the transitions of one chunk-size line into `[name, value?]` pairs, undoing
 * quoted-strings. Fed only when a caller asked for extensions; builds strings a char at a time,
 * which is fine for input bounded by `maxChunkExtBytes`.
 */
export class ChunkExtCollector {
  private list: Array<[string, string?]> = [];
  private name = '';
  private value: string | undefined = undefined;

  step(from: number, to: number, c: number): void {
    if (to === ExtState.NAME) {
      if (from !== ExtState.NAME) this.flush();
      this.name += String.fromCharCode(c);
    } else if (to === ExtState.BEFORE_VALUE && from !== to) {
      this.value = '';
    } else if (
      to === ExtState.TOKEN_VALUE ||
      (to === ExtState.QUOTED_VALUE && from !== ExtState.BEFORE_VALUE)
    ) {
      this.value += String.fromCharCode(c);
    }
  }

  /** The extensions of the line just ended; resets for the next line. */
  take(): Array<[string, string?]> {
    this.flush();
    const list = this.list;
    this.list = [];
    return list;
  }

  private flush(): void {
    if (this.name === '') return;
    this.list.push(this.value === undefined ? [this.name] : [this.name, this.value]);
    this.name = '';
    this.value = undefined;
  }
}
