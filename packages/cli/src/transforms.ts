// What `h1kit serve` answers each piece of a request body with, while the body is still coming.
// A transform sees pieces as the socket delivered them, so it never waits for more than it needs:
// echo and upper answer every piece, lines every newline, sha256 every piece with a count.
import { createHash } from 'node:crypto';

/**
 * The transforms `h1kit serve --transform` knows.
 *
 * @example
 * ```ts
 * import { createTransform, type TransformName } from 'h1kit';
 * const name: TransformName = 'upper';
 * createTransform(name).push(Buffer.from('abc')); // "ABC"
 * ```
 */
export type TransformName = 'echo' | 'upper' | 'lines' | 'sha256';

/**
 * The names of the transforms, in the order `--help` lists them.
 *
 * @example
 * ```ts
 * import { TRANSFORM_NAMES } from 'h1kit';
 * TRANSFORM_NAMES.includes('upper'); // true
 * ```
 */
export const TRANSFORM_NAMES: readonly TransformName[] = ['echo', 'upper', 'lines', 'sha256'];

/**
 * The answer to a request body, made piece by piece: `push` returns what to send back for a
 * piece (or nothing yet), `end` what follows once the body is complete, trailers included.
 *
 * @example
 * ```ts
 * import { createTransform, type Transform } from 'h1kit';
 * const digest: Transform = createTransform('sha256');
 * digest.trailer; // 'Upload-Sha256', for the response's Trailer field
 * digest.push(Buffer.from('abc')); // "3 bytes received, 3 in all\n"
 * digest.end().trailers; // [['Upload-Sha256', 'ba7816bf...']]
 * ```
 */
export interface Transform {
  /** The response's Content-Type. */
  readonly contentType: string;
  /** The names of the trailer fields `end` gives, for the response's `Trailer` field. */
  readonly trailer: string | undefined;
  push(piece: Uint8Array): Uint8Array | undefined;
  end(): { answer?: Uint8Array; trailers?: Array<[string, string]> };
}

/** A line longer than this is answered in parts of this size, so memory stays bounded. */
export const MAX_LINE_BYTES = 64 * 1024;

/** The trailer field the sha256 transform ends with. */
export const SHA256_TRAILER = 'Upload-Sha256';

/**
 * A new transform of the given name, with its own state (one per request body).
 *
 * @example
 * ```ts
 * import { createTransform } from 'h1kit';
 * const lines = createTransform('lines');
 * lines.push(Buffer.from('one\ntw')); // "1: one\n"
 * lines.push(Buffer.from('o\n')); // "2: two\n"
 * lines.end(); // {}
 * ```
 */
export function createTransform(name: TransformName): Transform {
  switch (name) {
    case 'echo':
      return {
        contentType: 'application/octet-stream',
        trailer: undefined,
        push: (piece) => piece,
        end: () => ({}),
      };
    case 'upper':
      return {
        contentType: 'text/plain; charset=utf-8',
        trailer: undefined,
        push: upperAscii,
        end: () => ({}),
      };
    case 'lines':
      return numberedLines();
    case 'sha256':
      return runningDigest();
  }
}

/** ASCII letters upper-cased, other bytes as they are (so UTF-8 passes through whole). */
function upperAscii(piece: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(piece.length);
  for (let i = 0; i < piece.length; i++) {
    const c = piece[i]!;
    out[i] = c >= 0x61 && c <= 0x7a ? c - 0x20 : c;
  }
  return out;
}

const LF = 0x0a;

/** Each line as `N: line\n` as soon as its newline arrives; a last line without one at the end. */
function numberedLines(): Transform {
  let number = 0;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const answerLine = (parts: Uint8Array[], line: Uint8Array[]): void => {
    number++;
    parts.push(Buffer.from(`${number}: `), ...line, Buffer.of(LF));
  };
  return {
    contentType: 'text/plain; charset=utf-8',
    trailer: undefined,
    push(piece) {
      const parts: Uint8Array[] = [];
      let start = 0;
      for (;;) {
        const newline = piece.indexOf(LF, start);
        if (newline === -1) break;
        pending.push(piece.subarray(start, newline));
        answerLine(parts, pending);
        pending = [];
        pendingBytes = 0;
        start = newline + 1;
      }
      let rest = piece.subarray(start);
      while (pendingBytes + rest.length > MAX_LINE_BYTES) {
        const room = MAX_LINE_BYTES - pendingBytes;
        pending.push(rest.subarray(0, room));
        answerLine(parts, pending);
        pending = [];
        pendingBytes = 0;
        rest = rest.subarray(room);
      }
      if (rest.length > 0) {
        // Copied: the piece may be a view of a socket buffer that is reused once we return.
        pending.push(Buffer.from(rest));
        pendingBytes += rest.length;
      }
      return parts.length === 0 ? undefined : Buffer.concat(parts);
    },
    end() {
      if (pendingBytes === 0) return {};
      const parts: Uint8Array[] = [];
      answerLine(parts, pending);
      pending = [];
      pendingBytes = 0;
      return { answer: Buffer.concat(parts) };
    },
  };
}

/** A count line per piece while the body comes; its SHA-256 as a trailer once it is complete. */
function runningDigest(): Transform {
  const hash = createHash('sha256');
  let total = 0;
  return {
    contentType: 'text/plain; charset=utf-8',
    trailer: SHA256_TRAILER,
    push(piece) {
      hash.update(piece);
      total += piece.length;
      return Buffer.from(`${piece.length} bytes received, ${total} in all\n`);
    },
    end: () => ({ trailers: [[SHA256_TRAILER, hash.digest('hex')]] }),
  };
}
