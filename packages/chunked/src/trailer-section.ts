// The trailer section after the last chunk. parseFieldLines needs the whole section, so its bytes
// are kept (copied: the caller may reuse its buffers after a push) until the empty line that ends
// it has arrived, and never beyond the byte limit.
import { H1Error, parseFieldLines } from '@h1kit/headers';
import { ChunkedErrorCode } from './errors.js';

const CR = 0x0d;
const LF = 0x0a;

export class TrailerSection {
  fields: Array<[string, string]> = [];
  private length = 0;
  /** Bytes of the current line so far, and whether it began with CR. */
  private lineLength = 0;
  private lineStartsWithCR = false;
  private pieces: Uint8Array[] = [];

  /** `start`: stream offset of the section's first byte, for error offsets. */
  constructor(
    private readonly start: number,
    private readonly maxBytes: number,
  ) {}

  /**
   * Looks for the end of the section in `bytes` from `pos`: returns the index just past it, or -1
   * when `bytes` ran out first (their share of the section is then kept). The end is the byte
   * after a CR that begins a line, or an LF that begins one: a well-formed section ends in CRLF
   * CRLF, and anything else found there is a fault for parseFieldLines to name.
   */
  scan(bytes: Uint8Array, pos: number): number {
    const n = bytes.length;
    const from = pos;
    let length = this.length;
    let lineLength = this.lineLength;
    let startsWithCR = this.lineStartsWithCR;
    while (pos < n) {
      if (length === this.maxBytes) {
        throw new H1Error(
          ChunkedErrorCode.TRAILERS_TOO_LARGE,
          `chunked body: trailer section exceeds the limit of ${this.maxBytes} bytes`,
          this.start + length,
        );
      }
      const c = bytes[pos++]!;
      length++;
      if ((lineLength === 1 && startsWithCR) || (lineLength === 0 && c === LF)) {
        this.length = length;
        return pos;
      }
      if (c === LF) {
        lineLength = 0;
        startsWithCR = false;
      } else {
        if (lineLength === 0) startsWithCR = c === CR;
        lineLength++;
      }
    }
    this.pieces.push(bytes.slice(from, n));
    this.length = length;
    this.lineLength = lineLength;
    this.lineStartsWithCR = startsWithCR;
    return -1;
  }

  /** Parses the section that `scan` found ending at `end` in `bytes` (begun at `from`). */
  parse(bytes: Uint8Array, from: number, end: number, maxFields: number): void {
    const last = bytes.subarray(from, end);
    const section = this.pieces.length === 0 ? last : concat([...this.pieces, last], this.length);
    this.pieces = [];
    this.fields = parseFieldLines(section, {
      maxBytes: this.maxBytes,
      maxFields,
      offset: this.start,
    });
  }
}

function concat(pieces: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}
