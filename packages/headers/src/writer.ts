import { H1Error, HeaderErrorCode } from './errors.js';
import type { FieldVisitor } from './fields.js';
import { CharClass, charClass, describeChar, isOws } from './syntax.js';

const SLAB_SIZE = 16384;

/**
 * charClass widened to every UTF-16 code unit, so the hot loops below test one table entry per
 * char with no separate range check; code units above 0xFF are in no class.
 */
const unitClass = new Uint8Array(65536);
unitClass.set(charClass);

/**
 * Writes heads straight into bytes, checking each char in the same pass that copies it: one
 * loop per string, no intermediate strings (flattening a rope of pieces costs as much as the
 * copy), and the result is a view of a shared slab, as `Buffer.allocUnsafe` hands out views of
 * its pool. A head that fails validation leaves nothing behind: the slab cursor only moves when
 * a head is complete.
 */
export class HeadWriter implements FieldVisitor {
  private bytes = new Uint8Array(SLAB_SIZE);
  /** Start of the head being written; everything before it belongs to returned heads. */
  private start = 0;
  private pos = 0;

  begin(): void {
    this.pos = this.start;
  }

  /** The head written since `begin`, as a view that later heads never overwrite. */
  finish(): Uint8Array {
    const head = new Uint8Array(this.bytes.buffer, this.start, this.pos - this.start);
    // Keep the next head 8-aligned, as Node's Buffer pool does.
    this.start = (this.pos + 7) & ~7;
    return head;
  }

  /** Makes room for `extra` more bytes, moving the head in progress to a new slab if needed. */
  private reserve(extra: number): void {
    if (this.pos + extra <= this.bytes.length) return;
    const used = this.pos - this.start;
    let size = SLAB_SIZE;
    while (size < 2 * (used + extra)) size *= 2;
    const slab = new Uint8Array(size);
    slab.set(this.bytes.subarray(this.start, this.pos));
    this.bytes = slab;
    this.start = 0;
    this.pos = used;
  }

  /** Writes a string known to hold only ASCII that needs no check. */
  ascii(s: string): void {
    const n = s.length;
    this.reserve(n);
    const bytes = this.bytes;
    let pos = this.pos;
    for (let i = 0; i < n; i++) bytes[pos++] = s.charCodeAt(i);
    this.pos = pos;
  }

  /** Copies bytes validated before (a cached status line). */
  raw(line: Uint8Array): void {
    this.reserve(line.length);
    this.bytes.set(line, this.pos);
    this.pos += line.length;
  }

  /**
   * Where the next byte goes, counted from the start of the head in progress (which `reserve` may
   * move to a new slab): with `since`, the bytes of one part of that head.
   */
  mark(): number {
    return this.pos - this.start;
  }

  /** A copy of what was written from `mark` on, to keep beyond this head. */
  since(mark: number): Uint8Array {
    return this.bytes.slice(this.start + mark, this.pos);
  }

  byte2(a: number, b: number): void {
    this.reserve(2);
    this.bytes[this.pos++] = a;
    this.bytes[this.pos++] = b;
  }

  /** Writes a token, or throws `code` when `s` is empty or holds a char outside tchar. */
  token(s: string, code: string, what: string): void {
    const n = s.length;
    if (n === 0) throw new H1Error(code, `${what}: empty, a token is required`);
    this.reserve(n);
    const bytes = this.bytes;
    let pos = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if ((unitClass[c]! & CharClass.TCHAR) === 0) {
        throw new H1Error(
          code,
          `${what} ${JSON.stringify(s)}: ${describeChar(c)} at index ${i} is not a token char`,
        );
      }
      bytes[pos++] = c;
    }
    this.pos = pos;
  }

  /** Writes `s[start, end)` when every char is in class `allowed`, else throws `code`. */
  checked(
    s: string,
    start: number,
    end: number,
    allowed: number,
    code: string,
    what: string,
  ): void {
    this.reserve(end - start);
    const bytes = this.bytes;
    let pos = this.pos;
    for (let i = start; i < end; i++) {
      const c = s.charCodeAt(i);
      if ((unitClass[c]! & allowed) === 0) {
        throw new H1Error(code, `${what}: ${describeChar(c)} at index ${i} is not allowed`);
      }
      bytes[pos++] = c;
    }
    this.pos = pos;
  }

  /**
   * Writes one field line, `name: value` CRLF, validating both; numbers must be finite. Leading
   * and trailing OWS of a value are dropped: a recipient strips them anyway (RFC 9112 section
   * 5.1), and keeping them would only make the value read back differently.
   */
  field(name: string, value: string | number): void {
    const known = knownLines.get(name);
    if (known !== undefined && known.misses < VOLATILE_AFTER) {
      const line = known.lines.get(value);
      if (line !== undefined) {
        known.misses = 0;
        this.reserve(line.length);
        this.bytes.set(line, this.pos);
        this.pos += line.length;
        return;
      }
      if (known.lines.size >= LINE_VALUES_MAX) known.misses++;
    }
    const given = value;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) {
        throw new H1Error(
          HeaderErrorCode.INVALID_FIELD_VALUE,
          `field "${name}": ${value} is not a finite number`,
        );
      }
      // A length or a count: its digits need neither a string nor a check.
      if (
        Number.isSafeInteger(value) &&
        value >= 0 &&
        (known !== undefined || knownNames.has(name))
      ) {
        this.digitsLine(name, value);
        return;
      }
      value = `${value}`;
    }
    let start = 0;
    let end = value.length;
    while (start < end && isOws(value.charCodeAt(start))) start++;
    while (end > start && isOws(value.charCodeAt(end - 1))) end--;
    const nameLength = name.length;
    if (nameLength === 0)
      throw new H1Error(HeaderErrorCode.INVALID_FIELD_NAME, 'field name: empty');
    this.reserve(nameLength + (end - start) + 4);
    // Read after reserve(), which may move the head in progress to a new slab.
    const bytes = this.bytes;
    const lineStart = this.pos;
    let pos = lineStart;
    // A name with cached lines passed the check when its first line was written.
    if (known !== undefined || knownNames.has(name)) {
      for (let i = 0; i < nameLength; i++) bytes[pos++] = name.charCodeAt(i);
    } else {
      for (let i = 0; i < nameLength; i++) {
        const c = name.charCodeAt(i);
        if ((unitClass[c]! & CharClass.TCHAR) === 0) throw badName(name, c, i);
        bytes[pos++] = c;
      }
      rememberName(name);
    }
    bytes[pos++] = 0x3a;
    bytes[pos++] = 0x20;
    for (let i = start; i < end; i++) {
      const c = value.charCodeAt(i);
      if ((unitClass[c]! & CharClass.FIELD_CONTENT) === 0) throw badValue(name, c, i);
      bytes[pos++] = c;
    }
    bytes[pos++] = 0x0d;
    bytes[pos++] = 0x0a;
    this.pos = pos;
    rememberLine(name, given, known, bytes, lineStart, pos);
  }

  /** `name: digits` CRLF for a name checked before and a safe non-negative integer. */
  private digitsLine(name: string, value: number): void {
    const nameLength = name.length;
    const digits = digitCount(value);
    this.reserve(nameLength + digits + 4);
    const bytes = this.bytes;
    let pos = this.pos;
    for (let i = 0; i < nameLength; i++) bytes[pos++] = name.charCodeAt(i);
    bytes[pos++] = 0x3a;
    bytes[pos++] = 0x20;
    let at = pos + digits;
    pos = at;
    do {
      const rest = Math.floor(value / 10);
      bytes[--at] = 0x30 + (value - rest * 10);
      value = rest;
    } while (value > 0);
    bytes[pos++] = 0x0d;
    bytes[pos++] = 0x0a;
    this.pos = pos;
  }
}

/** Decimal digits of a safe non-negative integer. */
function digitCount(n: number): number {
  let count = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    count++;
  }
  return count;
}

/**
 * Field lines that passed validation before, as their bytes, by name and value: a server sends
 * the same few lines (Content-Type, Cache-Control, Server, a Date for a whole second) again and
 * again, and copying checked bytes is cheaper than checking each char anew. Bounded in names,
 * values per name and line length, so that values that never repeat (ids, lengths) or a caller
 * inventing names cannot grow it without limit.
 */
const knownLines = new Map<string, KnownName>();
const LINE_NAMES_MAX = 256;
const LINE_VALUES_MAX = 16;
const LINE_BYTES_MAX = 256;
/**
 * A name whose values stopped repeating (a request id, an ETag): once its cache is full and this
 * many lookups in a row missed, it is looked up no more, since hashing a value that is never
 * found costs about as much as the check it would save.
 */
const VOLATILE_AFTER = 64;

interface KnownName {
  lines: Map<string | number, Uint8Array>;
  /** Lookups missed in a row since the cache filled. */
  misses: number;
}

function rememberLine(
  name: string,
  value: string | number,
  known: KnownName | undefined,
  bytes: Uint8Array,
  start: number,
  end: number,
): void {
  if (end - start > LINE_BYTES_MAX) return;
  if (known === undefined) {
    if (knownLines.size >= LINE_NAMES_MAX) return;
    known = { lines: new Map(), misses: 0 };
    knownLines.set(name, known);
  } else if (known.lines.size >= LINE_VALUES_MAX) {
    return;
  }
  known.lines.set(value, bytes.slice(start, end));
}

/**
 * Field names that passed validation before. Real traffic uses a few dozen names, nearly all
 * literals, so most lines skip the name check; the set is bounded so that a peer or a caller
 * inventing names cannot grow it without limit.
 */
const knownNames = new Set<string>();
const KNOWN_NAMES_MAX = 512;

function rememberName(name: string): void {
  if (knownNames.size < KNOWN_NAMES_MAX) knownNames.add(name);
}

function badName(name: string, c: number, i: number): H1Error {
  return new H1Error(
    HeaderErrorCode.INVALID_FIELD_NAME,
    `field name ${JSON.stringify(name)}: ${describeChar(c)} at index ${i} is not a token char`,
  );
}

function badValue(name: string, c: number, i: number): H1Error {
  return new H1Error(
    HeaderErrorCode.INVALID_FIELD_VALUE,
    `field "${name}": ${describeChar(c)} at index ${i} may not appear in a field value`,
  );
}

const shared = new HeadWriter();
let sharedBusy = false;

/**
 * Runs `write(writer, a, b, c, d)` and returns the head it wrote. The shared writer serves every
 * call but one that re-enters from inside a user iterator (the shared one is then mid-head),
 * which gets a writer of its own. The arguments are passed through rather than captured, so that
 * a head costs no closure: heads are written once per request.
 */
export function writeHead<A, B, C, D>(
  write: (writer: HeadWriter, a: A, b: B, c: C, d: D) => void,
  a: A,
  b: B,
  c: C,
  d: D,
): Uint8Array {
  const own = sharedBusy;
  const writer = own ? new HeadWriter() : shared;
  sharedBusy = true;
  try {
    writer.begin();
    write(writer, a, b, c, d);
    return writer.finish();
  } finally {
    if (!own) sharedBusy = false;
  }
}
