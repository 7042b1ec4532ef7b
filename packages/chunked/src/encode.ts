// The chunked transfer coding, written: each chunk as pieces ready for writev or a corked
// socket, the data passed through by reference. Size lines are views of a shared slab (as
// Buffer.allocUnsafe hands out views of its pool) and are reused while the size repeats; the
// CRLF is one shared constant. The pieces around the data are therefore read-only by contract.
// They are Buffers, not plain Uint8Arrays: a Node Writable turns every plain Uint8Array written
// to it into a Buffer view first, an allocation per piece that a socket write would pay twice.
import {
  CharClass,
  charClass,
  type FieldInput,
  H1Error,
  isToken,
  serializeFieldLines,
} from '@h1kit/headers';
import { ChunkedErrorCode } from './errors.js';
import type { ChunkExt } from './options.js';

const SLAB_SIZE = 16384;
const CR = 0x0d;
const LF = 0x0a;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const HEX_DIGITS = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
const EMPTY_SECTION = Uint8Array.of(CR, LF);
/** The CRLF after chunk data, shared by every chunk as node:http shares its own. */
const CRLF: Uint8Array = Buffer.from([CR, LF]);

let slab: Uint8Array = Buffer.allocUnsafeSlow(SLAB_SIZE);
let used = 0;
const LINE_CACHE = 64;
const cachedSizes = new Float64Array(LINE_CACHE).fill(-1);
const cachedLines: Uint8Array[] = new Array(LINE_CACHE).fill(CRLF);

/**
 * One chunk: `[chunk-size line, data, CRLF]`, `data` itself in the middle. Given an array of
 * views, one chunk holding all of them, in order: `[chunk-size line, ...data, CRLF]`, for a
 * writer that gathers what was written in one turn into one chunk. Zero-length data returns
 * `[]`, since a chunk of size 0 is the last chunk and would end the message; empty views in an
 * array are left out. `chunkExt` pairs are written as `;name` or `;name=value`, the value as a
 * token when it is one, else as a quoted-string; a name that is not a token or a value with a
 * char outside HTAB, SP, VCHAR and obs-text throws `ERR_H1_INVALID_CHUNK_EXTENSION`.
 *
 * @example
 * ```ts
 * import { encodeChunk } from '@h1kit/chunked';
 * const pieces = encodeChunk(new TextEncoder().encode('hello'));
 * // ['5\r\n', hello, '\r\n']: write them in order, e.g. corked or with writev
 * encodeChunk(new Uint8Array(0)); // []: never the last chunk by accident
 * ```
 */
export function encodeChunk(
  data: Uint8Array | readonly Uint8Array[],
  chunkExt?: ChunkExt,
): Uint8Array[] {
  if (data instanceof Uint8Array) {
    const size = data.length;
    if (size === 0) return [];
    return [lineFor(size, chunkExt), data, CRLF];
  }
  if (!Array.isArray(data)) {
    throw new TypeError(`chunk data must be a Uint8Array or an array of them, got ${typeof data}`);
  }
  const pieces: Uint8Array[] = [CRLF];
  let size = 0;
  for (let i = 0; i < data.length; i++) {
    const view = data[i];
    if (!(view instanceof Uint8Array)) {
      throw new TypeError(`chunk data[${i}] must be a Uint8Array, got ${typeof view}`);
    }
    if (view.length === 0) continue;
    size += view.length;
    pieces.push(view);
  }
  if (size === 0) return [];
  pieces[0] = lineFor(size, chunkExt);
  pieces.push(CRLF);
  return pieces;
}

function lineFor(size: number, chunkExt: ChunkExt | undefined): Uint8Array {
  if (chunkExt !== undefined) return sizeLine(size, chunkExt);
  // Streams tend to repeat a few write sizes (a file read in 64 KiB pieces): a small
  // direct-mapped cache hands back their lines without building a view.
  const slot = size & (LINE_CACHE - 1);
  if (cachedSizes[slot] === size) return cachedLines[slot]!;
  const line = sizeLine(size, undefined);
  cachedLines[slot] = line;
  cachedSizes[slot] = size;
  return line;
}

/** `chunk-size [ chunk-ext ] CRLF` as a view of the slab. */
function sizeLine(size: number, chunkExt: ChunkExt | undefined): Uint8Array {
  const digits = hexDigits(size);
  reserve(digits + 2 + (chunkExt === undefined ? 0 : chunkExtBound(chunkExt)));
  const start = used;
  let at = start + digits;
  // Integer ops while the size fits 32 bits (every practical chunk), division beyond.
  let v = size;
  for (let i = at - 1; i >= start; i--) {
    if (v <= 0xffffffff) {
      slab[i] = HEX_DIGITS[v & 15]!;
      v >>>= 4;
    } else {
      slab[i] = HEX_DIGITS[v % 16]!;
      v = Math.floor(v / 16);
    }
  }
  if (chunkExt !== undefined) at = writeChunkExt(chunkExt, at);
  slab[at++] = CR;
  slab[at++] = LF;
  used = at;
  return Buffer.from(slab.buffer, slab.byteOffset + start, at - start);
}

/**
 * The last chunk and the trailer section that ends the message: `0 CRLF`, the trailer fields
 * (any shape `@h1kit/headers` accepts, each name and value checked), then the empty line.
 *
 * @example
 * ```ts
 * import { encodeLastChunk } from '@h1kit/chunked';
 * encodeLastChunk(); // '0\r\n\r\n'
 * encodeLastChunk({ Expires: '0' }); // '0\r\nExpires: 0\r\n\r\n'
 * ```
 */
export function encodeLastChunk(trailers?: FieldInput): Uint8Array {
  const section = trailers === undefined ? EMPTY_SECTION : serializeFieldLines(trailers);
  const out = new Uint8Array(3 + section.length);
  out[0] = 0x30;
  out[1] = CR;
  out[2] = LF;
  out.set(section, 3);
  return out;
}

function hexDigits(size: number): number {
  if (size <= 0xffffffff) return size === 0 ? 1 : 8 - (Math.clz32(size) >> 2);
  return 8 + hexDigits(Math.floor(size / 0x100000000));
}

function reserve(bytes: number): void {
  if (used + bytes <= slab.length) return;
  // Earlier chunks keep their views of the old slab alive; the new one starts empty.
  slab = Buffer.allocUnsafeSlow(Math.max(SLAB_SIZE, bytes));
  used = 0;
}

/** Most bytes `writeChunkExt` can write: every value char escaped, plus `;`, `=` and quotes. */
function chunkExtBound(chunkExt: ChunkExt): number {
  let bound = 0;
  for (const pair of chunkExt) {
    if (!Array.isArray(pair) || typeof pair[0] !== 'string') {
      throw invalid('each chunk extension must be [name] or [name, value]');
    }
    const value: unknown = pair[1];
    if (value !== undefined && typeof value !== 'string') {
      throw invalid(`chunk extension "${pair[0]}": value must be a string, got ${typeof value}`);
    }
    bound += 4 + pair[0].length + 2 * (value === undefined ? 0 : value.length);
  }
  return bound;
}

/** Writes the extensions at `at`; the slab cursor has not moved, so a throw leaves no trace. */
function writeChunkExt(chunkExt: ChunkExt, at: number): number {
  for (const [name, value] of chunkExt) {
    if (name.length === 0) throw invalid('empty chunk extension name');
    if (!isToken(name))
      throw invalid(`chunk extension name ${JSON.stringify(name)} is not a token`);
    slab[at++] = 0x3b;
    at = writeLatin1(name, at);
    if (value === undefined) continue;
    slab[at++] = 0x3d;
    at = isToken(value) ? writeLatin1(value, at) : writeQuoted(name, value, at);
  }
  return at;
}

function writeLatin1(value: string, at: number): number {
  for (let i = 0; i < value.length; i++) slab[at++] = value.charCodeAt(i);
  return at;
}

function writeQuoted(name: string, value: string, at: number): number {
  slab[at++] = DQUOTE;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === DQUOTE || c === BACKSLASH) {
      slab[at++] = BACKSLASH;
    } else if (c > 0xff || (charClass[c]! & CharClass.QDTEXT) === 0) {
      throw invalid(
        `chunk extension "${name}": char 0x${c.toString(16)} at index ${i} cannot be sent`,
      );
    }
    slab[at++] = c;
  }
  slab[at++] = DQUOTE;
  return at;
}

function invalid(message: string): H1Error {
  return new H1Error(ChunkedErrorCode.INVALID_CHUNK_EXTENSION, message);
}
