// The chunked transfer coding of RFC 9112 section 7.1, decoded incrementally: every state lives
// in the decoder, so the wire may be cut anywhere (down to one byte per push). Chunk data is never
// read or copied; only chunk-size lines, the CRLF after data and the trailer section are scanned.
import { describeChar, H1Error } from '@h1kit/headers';
import {
  ChunkExtCollector,
  chunkExtStep,
  ExtState,
  INVALID,
  isSizeState,
  LINE_END,
} from './chunk-ext.js';
import { ChunkedErrorCode as Code } from './errors.js';
import { type ChunkedDecoderOptions, callback, DEFAULT_CHUNKED_LIMITS, limit } from './options.js';
import { TrailerSection } from './trailer-section.js';

/**
 * What one `ChunkedDecoder.push` found in the bytes it was given.
 *
 * @example
 * ```ts
 * import { ChunkedDecoder, type ChunkedPushResult } from '@h1kit/chunked';
 * const decoder = new ChunkedDecoder();
 * const wire = new TextEncoder().encode('3\r\nabc\r\n0\r\n\r\nGET');
 * const result: ChunkedPushResult = decoder.push(wire);
 * // result.data: [abc], result.done: true, result.rest: 'GET', result.trailers: []
 * ```
 */
export interface ChunkedPushResult {
  /** Chunk data found in this push, as views of the pushed bytes (never copies). */
  data: Uint8Array[];
  /** True once the last chunk and the trailer section have been read. */
  done: boolean;
  /** When `done`: the bytes of this push after the message (a pipelined next message). */
  rest: Uint8Array;
  /** When `done`: the trailer fields, in order, names as sent. */
  trailers: Array<[string, string]>;
}

// Decoder states.
const DATA = 0; // inside chunk data; `remaining` bytes to go
const DATA_CR = 1; // the CR that ends chunk data
const DATA_LF = 2;
const SIZE_FIRST = 3; // the first HEXDIG of a chunk-size
const SIZE = 4; // further HEXDIG, or whatever ends the chunk-size
const EXT = 5; // between chunk-size and CR; `extState` says where
const SIZE_LF = 6; // the LF of a chunk-size line
const TRAILER = 7; // inside the trailer section
const DONE = 8;
const FAILED = 9;

const CR = 0x0d;
const LF = 0x0a;
const EMPTY = new Uint8Array(0);

/** HEXDIG value of each byte, -1 for the rest. */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) HEX[0x41 + i] = HEX[0x61 + i] = 10 + i;

/**
 * An incremental decoder of one chunked body: `push` takes bytes however they are cut and returns
 * views of the chunk data in them, never copies; `finish` throws if the stream ended inside the
 * body.
 *
 * @example
 * ```ts
 * import { ChunkedDecoder } from '@h1kit/chunked';
 * const decoder = new ChunkedDecoder({ maxChunkSize: 1 << 20 });
 * const wire = new TextEncoder().encode('5\r\nhello\r\n0\r\nExpires: 0\r\n\r\n');
 * const { data, done, trailers } = decoder.push(wire);
 * // data: [hello] (a view of wire), done: true, trailers: [['Expires', '0']]
 * decoder.finish(); // throws ERR_H1_INCOMPLETE_CHUNKED_BODY had the body been cut short
 * ```
 */
export class ChunkedDecoder {
  private state = SIZE_FIRST;
  /** Bytes of chunk data still to come (DATA), or the chunk-size read so far (SIZE). */
  private remaining = 0;
  private extState: number = ExtState.AFTER_SIZE;
  private extBytes = 0;
  /** Stream offset of the first byte of the current push. */
  private base: number;
  private error: H1Error | undefined = undefined;
  private trailer: TrailerSection | undefined = undefined;
  private readonly maxChunkSize: number;
  private readonly maxChunkExtBytes: number;
  private readonly maxTrailerBytes: number;
  private readonly maxTrailerFields: number;
  private readonly onChunkExt: ChunkedDecoderOptions['onChunkExt'];
  private readonly collector: ChunkExtCollector | undefined;

  constructor(options: ChunkedDecoderOptions = {}) {
    const d = DEFAULT_CHUNKED_LIMITS;
    this.maxChunkSize = Math.min(
      limit(options.maxChunkSize, d.maxChunkSize, 'maxChunkSize'),
      Number.MAX_SAFE_INTEGER,
    );
    this.maxChunkExtBytes = limit(options.maxChunkExtBytes, d.maxChunkExtBytes, 'maxChunkExtBytes');
    this.maxTrailerBytes = limit(options.maxTrailerBytes, d.maxTrailerBytes, 'maxTrailerBytes');
    this.maxTrailerFields = limit(options.maxTrailerFields, d.maxTrailerFields, 'maxTrailerFields');
    this.base = limit(options.offset, 0, 'offset');
    this.onChunkExt = callback(options.onChunkExt, 'onChunkExt');
    this.collector = this.onChunkExt === undefined ? undefined : new ChunkExtCollector();
  }

  /**
   * Decodes the next bytes of the body. Throws `H1Error` on the first fault; the decoder is then
   * failed and throws that same error from every later `push` or `finish`. After `done`, `push`
   * throws `ERR_H1_CHUNKED_BODY_ENDED`: the bytes that followed the message were in `rest`.
   */
  push(bytes: Uint8Array): ChunkedPushResult {
    if (this.state >= DONE) throw this.refusal();
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(`push() takes a Uint8Array, got ${typeof bytes}`);
    }
    const data: Uint8Array[] = [];
    const n = bytes.length;
    const buffer = bytes.buffer;
    const byteOffset = bytes.byteOffset;
    // Views of a Buffer are Buffers: a Node stream would otherwise wrap each one again.
    const asBuffer = Buffer.isBuffer(bytes);
    let pos = 0;
    while (pos < n) {
      if (this.state === DATA) {
        const remaining = this.remaining;
        const available = n - pos;
        if (remaining >= available) {
          data.push(pos === 0 ? bytes : view(asBuffer, buffer, byteOffset + pos, available));
          this.remaining = remaining - available;
          if (this.remaining === 0) this.state = DATA_CR;
          pos = n;
          break;
        }
        data.push(view(asBuffer, buffer, byteOffset + pos, remaining));
        pos = this.nextChunkSize(bytes, pos + remaining);
      } else if (this.state === TRAILER) {
        pos = this.trailerBytes(bytes, pos);
        break; // the section ended at `pos`, or the bytes ran out
      } else {
        pos = this.line(bytes, pos);
      }
    }
    this.base += n;
    if (this.state !== DONE) return { data, done: false, rest: EMPTY, trailers: [] };
    const rest = view(asBuffer, buffer, byteOffset + pos, n - pos);
    return { data, done: true, rest, trailers: this.trailer!.fields };
  }

  /** Declares the end of the stream: throws `H1Error` unless the message was complete. */
  finish(): void {
    if (this.state === DONE) return;
    if (this.state === FAILED) throw this.error!;
    throw this.fail(Code.INCOMPLETE_CHUNKED_BODY, `stream ended ${this.where()}`, 0);
  }

  /**
   * After chunk data ends at `pos`: reads "CRLF chunk-size CRLF" in one go when all of it is in
   * this input and plain (no chunk-ext, not the last chunk), which is nearly every chunk. Anything
   * else is left to `line`, which reads the same bytes one at a time and names any fault.
   */
  private nextChunkSize(bytes: Uint8Array, pos: number): number {
    this.state = DATA_CR;
    const n = bytes.length;
    if (pos + 2 >= n || bytes[pos] !== CR || bytes[pos + 1] !== LF) return pos;
    const first = pos + 2;
    let p = first;
    let size = 0;
    while (p < n) {
      const digit = HEX[bytes[p]!]!;
      if (digit < 0) break;
      size = size * 16 + digit;
      if (size > this.maxChunkSize) return pos;
      p++;
    }
    if (p === first || p + 1 >= n || bytes[p] !== CR || bytes[p + 1] !== LF) return pos;
    if (size === 0) return pos;
    this.state = DATA;
    this.remaining = size;
    return p + 2;
  }

  /** Reads chunk-size lines and the CRLF after data, a byte at a time, until data or trailers. */
  private line(bytes: Uint8Array, pos: number): number {
    const n = bytes.length;
    while (pos < n) {
      const c = bytes[pos]!;
      switch (this.state) {
        case DATA_CR:
          if (c !== CR) {
            throw this.fail(
              Code.EXPECTED_CRLF,
              `${describeChar(c)} after chunk data where CRLF belongs`,
              pos,
            );
          }
          this.state = DATA_LF;
          break;
        case DATA_LF:
          if (c !== LF)
            throw this.fail(
              Code.EXPECTED_CRLF,
              `CR after chunk data followed by ${describeChar(c)}, not LF`,
              pos,
            );
          this.state = SIZE_FIRST;
          break;
        case SIZE_FIRST: {
          const digit = HEX[c]!;
          if (digit < 0) {
            throw this.fail(
              Code.INVALID_CHUNK_SIZE,
              `chunk-size must start with a hex digit, got ${describeChar(c)}`,
              pos,
            );
          }
          if (digit > this.maxChunkSize) {
            throw this.sizeTooLarge(pos);
          }
          this.remaining = digit;
          this.state = SIZE;
          break;
        }
        case SIZE: {
          const digit = HEX[c]!;
          if (digit < 0) {
            this.state = EXT;
            this.extState = ExtState.AFTER_SIZE;
            continue; // the same byte, read as the start of chunk-ext
          }
          // Exact while the result stays at or below 2^53; anything larger compares above the limit.
          const size = this.remaining * 16 + digit;
          if (size > this.maxChunkSize) {
            throw this.sizeTooLarge(pos);
          }
          this.remaining = size;
          break;
        }
        case EXT:
          this.extByte(c, pos);
          break;
        case SIZE_LF:
          if (c !== LF)
            throw this.fail(
              Code.EXPECTED_CRLF,
              `CR after chunk-size followed by ${describeChar(c)}, not LF`,
              pos,
            );
          this.endSizeLine(pos + 1);
          return pos + 1;
        default:
          return pos;
      }
      pos++;
    }
    return pos;
  }

  private extByte(c: number, pos: number): void {
    const from = this.extState;
    const to = chunkExtStep(from, c);
    if (to === LINE_END) {
      this.state = SIZE_LF;
      return;
    }
    if (to === INVALID) throw this.extFault(from, c, pos);
    if (++this.extBytes > this.maxChunkExtBytes) {
      throw this.fail(
        Code.CHUNK_EXTENSIONS_TOO_LARGE,
        `chunk-ext bytes of this message exceed the limit of ${this.maxChunkExtBytes}`,
        pos,
      );
    }
    this.collector?.step(from, to, c);
    this.extState = to;
  }

  private extFault(from: number, c: number, pos: number): H1Error {
    if (c === LF && (from === ExtState.AFTER_SIZE || chunkExtStep(from, CR) === LINE_END)) {
      return this.fail(Code.EXPECTED_CRLF, 'bare LF ends a chunk-size line', pos);
    }
    if (isSizeState(from)) {
      const why =
        from === ExtState.SIZE_BWS
          ? 'whitespace after chunk-size not followed by ";"'
          : `${describeChar(c)} in chunk-size`;
      return this.fail(Code.INVALID_CHUNK_SIZE, why, pos);
    }
    return this.fail(
      Code.INVALID_CHUNK_EXTENSION,
      `${describeChar(c)} breaks the chunk-ext grammar`,
      pos,
    );
  }

  /** The chunk-size line ended just before `next`: on to its data, or to the trailer section. */
  private endSizeLine(next: number): void {
    const size = this.remaining;
    if (this.collector !== undefined) {
      const chunkExt = this.collector.take();
      if (chunkExt.length > 0) this.callOnChunkExt(chunkExt, size, next);
    }
    if (size === 0) {
      this.state = TRAILER;
      this.trailer = new TrailerSection(this.base + next, this.maxTrailerBytes);
    } else {
      this.state = DATA;
    }
    this.extState = ExtState.AFTER_SIZE;
  }

  private callOnChunkExt(chunkExt: Array<[string, string?]>, size: number, next: number): void {
    try {
      this.onChunkExt!(chunkExt, size);
    } catch (cause) {
      // The push is abandoned midway, so nothing could resume it: the decoder fails.
      throw this.fail(Code.INVALID_CHUNK_EXTENSION, 'onChunkExt threw', next - 1, cause);
    }
  }

  private trailerBytes(bytes: Uint8Array, pos: number): number {
    const section = this.trailer!;
    try {
      const end = section.scan(bytes, pos);
      if (end === -1) return bytes.length;
      section.parse(bytes, pos, end, this.maxTrailerFields);
      this.state = DONE;
      return end;
    } catch (error) {
      throw this.remember(error as H1Error);
    }
  }

  private sizeTooLarge(pos: number): H1Error {
    return this.fail(
      Code.CHUNK_SIZE_TOO_LARGE,
      `chunk-size exceeds the limit of ${this.maxChunkSize}`,
      pos,
    );
  }

  private fail(code: string, message: string, pos: number, cause?: unknown): H1Error {
    const error = new H1Error(
      code,
      `chunked body: ${message}`,
      this.base + pos,
      cause === undefined ? undefined : { cause },
    );
    return this.remember(error);
  }

  private remember(error: H1Error): H1Error {
    this.state = FAILED;
    this.error = error;
    return error;
  }

  private refusal(): H1Error {
    if (this.state === FAILED) return this.error!;
    return new H1Error(
      Code.CHUNKED_BODY_ENDED,
      'push() after the end of the chunked body; what followed it was returned as `rest`',
      this.base,
    );
  }

  private where(): string {
    switch (this.state) {
      case DATA:
        return `inside chunk data, ${this.remaining} bytes short`;
      case TRAILER:
        return 'inside the trailer section';
      case SIZE_FIRST:
        return 'before a chunk-size (no last chunk seen)';
      default:
        return 'inside a chunk-size line or the CRLF after chunk data';
    }
  }
}

function view(
  asBuffer: boolean,
  buffer: ArrayBufferLike,
  offset: number,
  length: number,
): Uint8Array {
  return asBuffer ? Buffer.from(buffer, offset, length) : new Uint8Array(buffer, offset, length);
}
