import { Readable } from 'node:stream';
import {
  BufioErrorCode,
  checkCount,
  checkSize,
  DEFAULT_SIZE,
  H1Error,
  invalidArgument,
} from './errors.js';
import { Intake, plain } from './intake.js';
import { ByteQueue, EMPTY, search } from './queue.js';

/**
 * Options of `new BufferedReader(source, options)`: how many bytes the reader may hold, and any
 * bytes that were read from the source before the reader took it over.
 *
 * @example
 * ```ts
 * import { BufferedReader, type BufferedReaderOptions } from '@h1kit/bufio';
 * // `alreadyRead`: bytes some earlier consumer took off the socket and did not process
 * const options: BufferedReaderOptions = { size: 8192, head: alreadyRead };
 * const reader = new BufferedReader(socket, options);
 * await reader.peek(16); // served from `alreadyRead` first; `peek(n)` takes at most 8192
 * ```
 */
export interface BufferedReaderOptions {
  /**
   * Bytes taken from the source before it is paused, and the longest `peek`/`readSlice`/`readLine`
   * piece. Default 65536; a smaller value is rounded up to 16, as Go's bufio does.
   */
  size?: number;
  /**
   * Bytes to yield before anything from the source (a server read them already). Kept by
   * reference.
   */
  head?: Uint8Array;
}

/**
 * What `readLine()` resolves, as Go's `ReadLine` returns it: the line without its LF or CRLF,
 * and whether it was cut at `size` (more of the same line follows in the next call).
 *
 * @example
 * ```ts
 * import type { BufferedReader, Line } from '@h1kit/bufio';
 * // A whole line however long, its pieces copied: each `line` is valid only until the next call.
 * async function wholeLine(reader: BufferedReader): Promise<Buffer | null> {
 *   const pieces: Buffer[] = [];
 *   let piece: Line | null = await reader.readLine();
 *   while (piece !== null) {
 *     pieces.push(Buffer.from(piece.line));
 *     if (!piece.isPrefix) break;
 *     piece = await reader.readLine();
 *   }
 *   return pieces.length > 0 ? Buffer.concat(pieces) : null; // null: the stream had ended
 * }
 * ```
 */
export interface Line {
  /** The line (with `isPrefix`, its next piece) without LF or CRLF; a view until the next call. */
  line: Uint8Array;
  /** The line was longer than `size`: this is a piece of it, and the next call gives more. */
  isPrefix: boolean;
}

/**
 * What `release()` hands back: the source with nothing of the reader attached, and the bytes the
 * reader had buffered but nobody had consumed, which belong before anything still in the source.
 *
 * @example
 * ```ts
 * import type { Socket } from 'node:net';
 * import { BufferedReader, type Released } from '@h1kit/bufio';
 * const reader = new BufferedReader(socket); // socket: a net.Socket just accepted
 * await reader.peek(3); // sniff the protocol, consuming nothing
 * const { source, head }: Released<Socket> = reader.release(); // head holds the peeked bytes
 * source.unshift(head); // back in the socket's own buffer, ahead of the rest
 * httpServer.emit('connection', source); // node:http reads the request from its first byte
 * ```
 */
export interface Released<S> {
  /** The source, paused and with `readableFlowing` null, ready for its next consumer. */
  source: S;
  /** Bytes buffered and not consumed, in order; empty when there were none. */
  head: Uint8Array;
}

const LF = 0x0a;
const CR = 0x0d;
/** An attempt that needs more bytes than are buffered while the source is still live. */
const WAIT = Symbol('wait');
type Attempt<T> = T | typeof WAIT;

/**
 * Go's `bufio.Reader` over a Node `Readable`: pull-style reads (peek, readSlice, readLine,
 * readFull...) for code that parses a byte stream, such as an HTTP/1.1 head, a chunk-size line
 * or a protocol spoken after a hijack. The source flows into the buffer until `size` bytes are
 * held, then is paused until a call drains it, so memory stays bounded and TCP pushes back on the
 * peer. Every call resolves `null` at the end of the stream; a failure of the source reaches the
 * first call that needs bytes past those buffered. Returned arrays are views, valid until the next
 * call (as in Go): copy one to keep it. Await each call before the next one: a call made while
 * another waits for the source is refused with `ERR_BUFIO_CONCURRENT_CALL`.
 *
 * @example
 * ```ts
 * import { connect } from 'node:net';
 * import { BufferedReader } from '@h1kit/bufio';
 * const socket = connect(8080, '127.0.0.1');
 * socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
 * const reader = new BufferedReader(socket);
 * const status = await reader.readLine(); // the status-line: 'HTTP/1.1 200 OK'
 * // then each field-line of the head, up to the empty line that ends it
 * let line = await reader.readLine();
 * for (; line !== null && line.line.length > 0; line = await reader.readLine()) {
 *   console.log(Buffer.from(line.line).toString('latin1'));
 * }
 * ```
 */
export class BufferedReader<S extends Readable = Readable> {
  readonly #size: number;
  readonly #q: ByteQueue;
  readonly #in: Intake<S>;
  /** A call is waiting for the source; another one now would interleave with it. */
  #busy = false;
  /** Why public calls are refused: released, or handed to a Readable. */
  #refused: string | undefined;
  /** A `readFull` larger than `size` holds its bytes here while it waits, for `release()`. */
  #partial: Uint8Array = EMPTY;

  /**
   * Takes over `source`, which must deliver bytes (no object mode, no `setEncoding()`) and have no
   * other consumer: a `'data'` or `'readable'` listener would take bytes from under the reader, so
   * it throws `ERR_BUFIO_SOURCE_IN_USE` (`ERR_BUFIO_INVALID_ARGUMENT` for the other refusals).
   * A source that already ended or failed is fine: the reader yields `head`, then the end or the
   * failure.
   */
  constructor(source: S, options: BufferedReaderOptions = {}) {
    this.#size = checkSize(options.size ?? DEFAULT_SIZE);
    if (source.readableObjectMode || source.readableEncoding !== null) {
      throw invalidArgument('the source must deliver bytes: no object mode, no setEncoding()');
    }
    const live = !source.readableEnded && !source.destroyed;
    if (live && (source.listenerCount('data') > 0 || source.listenerCount('readable') > 0)) {
      throw new H1Error(
        BufioErrorCode.SOURCE_IN_USE,
        "the source has 'data' or 'readable' listeners that would take bytes from the reader",
      );
    }
    this.#q = new ByteQueue(this.#size);
    const head = options.head;
    if (head !== undefined && head.length > 0) this.#q.push(plain(head));
    this.#in = new Intake(source, this.#q, this.#size);
  }

  /**
   * Bytes that can be read now without waiting for the source.
   *
   * @example
   * ```ts
   * // after answering one request: flush now only if no pipelined request is already buffered,
   * // so that the answers to a burst of requests leave in one write
   * if (reader.buffered === 0) await writer.flush();
   * ```
   */
  get buffered(): number {
    return this.#q.length;
  }

  /** The buffer size: the most `peek(n)` takes, the longest `readSlice` or `readLine` piece. */
  get size(): number {
    return this.#size;
  }

  /**
   * The next `n` bytes without consuming them (`n <= size`), to decide what a stream holds before
   * reading it; fewer only where the stream ended before `n`, `null` if it ended before any.
   * `n > size` rejects with `ERR_BUFIO_BUFFER_FULL`. The view is valid until the next call.
   *
   * @example
   * ```ts
   * import { BufferedReader } from '@h1kit/bufio';
   * const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'; // what an HTTP/2 client sends first
   * const reader = new BufferedReader(socket);
   * const start = await reader.peek(PREFACE.length);
   * const h2 = start !== null && Buffer.from(start).toString('latin1') === PREFACE;
   * // either way nothing was consumed: an HTTP/1.1 parser still reads from the first byte
   * ```
   */
  async peek(n: number): Promise<Uint8Array | null> {
    this.#enter();
    checkCount(n, 'peek(n)');
    if (n > this.#size) throw this.#full(`peek(${n}) is larger than the buffer (${this.#size})`);
    const now = this.#peekNow(n);
    return now === WAIT ? this.#wait(() => this.#peekNow(n)) : now;
  }

  /**
   * Up to `max` buffered bytes of one chunk, waiting only if none is buffered; `null` at the end.
   * Never copies: the view is of the source's own chunk, valid until the next call. `read(0)`
   * resolves an empty array at once.
   *
   * @example
   * ```ts
   * import { BufferedReader } from '@h1kit/bufio';
   * const reader = new BufferedReader(socket);
   * // a close-delimited body: everything until the peer closes
   * for (let chunk = await reader.read(); chunk !== null; chunk = await reader.read()) {
   *   file.write(Buffer.from(chunk)); // copied: the view is reused after the next call
   * }
   * ```
   */
  async read(max = Number.POSITIVE_INFINITY): Promise<Uint8Array | null> {
    this.#enter();
    if (max !== Number.POSITIVE_INFINITY) checkCount(max, 'read(max)');
    if (max === 0) return EMPTY;
    const now = this.#readNow(max);
    return now === WAIT ? this.#wait(() => this.#readNow(max)) : now;
  }

  /**
   * The next byte, or `null` at the end.
   *
   * @example
   * ```ts
   * const reader = new BufferedReader(socket);
   * const first = await reader.readByte(); // a WebSocket frame's FIN bit and opcode
   * if (first !== null && (first & 0x0f) === 0x8) socket.end(); // a close frame
   * ```
   */
  async readByte(): Promise<number | null> {
    this.#enter();
    const q = this.#q;
    if (q.length > 0) {
      const byte = q.head[q.pos]!;
      this.#skip(1);
      return byte;
    }
    return this.#attempt(() => this.#readByteNow());
  }

  /**
   * The bytes up to and including the next `delim`, as one view valid until the next call (Go's
   * `ReadSlice`): the way to take a line-like unit, such as a chunk-size line, without copying.
   * `ERR_BUFIO_BUFFER_FULL` when `size` bytes hold no `delim` (the bytes stay buffered, so the
   * caller can answer, or read them another way). At the end of the stream: the rest without a
   * `delim`, then `null`.
   *
   * @example
   * ```ts
   * import { BufferedReader } from '@h1kit/bufio';
   * const reader = new BufferedReader(socket);
   * const line = await reader.readSlice(0x0a); // e.g. '1a;ext=v\r\n', the LF included
   * if (line === null) throw new Error('the body ended before its last chunk');
   * const chunkSize = Number.parseInt(Buffer.from(line).toString('latin1'), 16); // 26
   * const data = await reader.readFull(chunkSize + 2); // the chunk data and its CRLF
   * ```
   */
  async readSlice(delim: number): Promise<Uint8Array | null> {
    this.#enter();
    if (!Number.isInteger(delim) || delim < 0 || delim > 255) {
      throw invalidArgument(`readSlice(delim) takes a byte value, got ${String(delim)}`);
    }
    const { head, pos } = this.#q;
    const i = search.call(head, delim, pos);
    if (i !== -1 && i - pos < this.#size) {
      this.#skip(i + 1 - pos);
      return head.subarray(pos, i + 1);
    }
    let searched = 0;
    return this.#attempt(() => {
      const at = this.#q.indexOf(delim, searched, this.#size);
      if (at !== -1) return this.#take(at + 1);
      searched = this.#q.length;
      if (this.#q.length >= this.#size) {
        throw this.#full(`no delimiter 0x${delim.toString(16)} within ${this.#size} bytes`);
      }
      return this.#rest();
    });
  }

  /**
   * The next line without its LF or CRLF, `null` at the end. A line longer than `size` comes in
   * pieces with `isPrefix` set, as Go's `ReadLine` gives them; a CR ending a piece is held back for
   * the next one, so a CRLF is never split. A line of exactly `size` bytes therefore comes as a
   * piece with `isPrefix` set and then an empty last piece, as in Go. A lone CR is part of the
   * line; a last line without LF is returned as it is. The view is valid until the next call.
   *
   * @example
   * ```ts
   * import { BufferedReader } from '@h1kit/bufio';
   * const reader = new BufferedReader(socket, { size: 16 });
   * // the peer sends '0123456789abcdefXYZ\r\nok\r\n'
   * await reader.readLine(); // { line: '0123456789abcdef', isPrefix: true }
   * await reader.readLine(); // { line: 'XYZ', isPrefix: false }: the rest of that line
   * await reader.readLine(); // { line: 'ok', isPrefix: false }
   * ```
   */
  async readLine(): Promise<Line | null> {
    this.#enter();
    // Most lines lie in the first chunk: no closure, no gathering.
    const { head, pos } = this.#q;
    const i = search.call(head, LF, pos);
    if (i !== -1 && i - pos < this.#size) {
      const line = head.subarray(pos, i > pos && head[i - 1] === CR ? i - 1 : i);
      this.#skip(i + 1 - pos);
      return { line, isPrefix: false };
    }
    let searched = 0;
    return this.#attempt(() => {
      const q = this.#q;
      const at = q.indexOf(LF, searched, this.#size);
      if (at !== -1) {
        const line = q.view(at > 0 && q.byteAt(at - 1) === CR ? at - 1 : at);
        this.#skip(at + 1);
        return { line, isPrefix: false };
      }
      searched = q.length;
      if (q.length >= this.#size) {
        const n = q.byteAt(this.#size - 1) === CR ? this.#size - 1 : this.#size;
        return { line: this.#take(n), isPrefix: true };
      }
      const rest = this.#rest();
      return rest === WAIT || rest === null ? rest : { line: rest, isPrefix: false };
    });
  }

  /**
   * Exactly `n` bytes (Go's `io.ReadFull` over the reader): for a unit whose length is known, such
   * as a body with a Content-Length. `null` at the end of the stream, `ERR_BUFIO_UNEXPECTED_EOF` if
   * it ends after some but fewer (those stay buffered). Up to `size` the result is a view valid
   * until the next call; beyond `size`, the bytes are gathered into a new array as they come, so
   * the buffer stays bounded, and that array is the caller's to keep.
   *
   * @example
   * ```ts
   * import { BufferedReader } from '@h1kit/bufio';
   * const reader = new BufferedReader(socket);
   * // a frame: its length in 4 bytes, then that many; null when the peer closed between frames
   * const header = await reader.readFull(4);
   * if (header !== null) {
   *   const payload = await reader.readFull(Buffer.from(header).readUInt32BE(0));
   *   // a stream that ends inside the payload rejects with ERR_BUFIO_UNEXPECTED_EOF
   * }
   * ```
   */
  async readFull(n: number): Promise<Uint8Array | null> {
    this.#enter();
    checkCount(n, 'readFull(n)');
    if (n === 0) return EMPTY;
    if (n > this.#size) return this.#readLarge(n);
    if (this.#q.length >= n) return this.#take(n);
    return this.#attempt(() => {
      if (this.#q.length >= n) return this.#take(n);
      return this.#ended(() => (this.#q.length === 0 ? null : this.#short(n)));
    });
  }

  /**
   * Skips `n` bytes as they come, holding none (a body nobody wants, read off the connection so
   * that it can carry the next message); resolves how many were skipped, fewer only where the
   * stream ended, `null` if it had ended before any.
   *
   * @example
   * ```ts
   * const reader = new BufferedReader(socket);
   * const skipped = await reader.discard(contentLength); // the body of a request we refused
   * if (skipped !== contentLength) socket.destroy(); // the peer closed inside the body
   * ```
   */
  async discard(n: number): Promise<number | null> {
    this.#enter();
    checkCount(n, 'discard(n)');
    let done = 0;
    return this.#attempt(() => {
      const k = Math.min(this.#q.length, n - done);
      this.#skip(k);
      done += k;
      if (done === n) return n;
      return this.#ended(() => (done === 0 ? null : done));
    });
  }

  /**
   * Puts `bytes` back before everything buffered: the next calls read them first. Unlike Go's
   * `UnreadByte` it takes any bytes, not only the last one read; they are copied, so the caller
   * may reuse its array (a view returned by this reader included). It is how a parser gives back
   * what it read past the end of its message.
   *
   * @example
   * ```ts
   * const reader = new BufferedReader(socket);
   * const chunk = await reader.read(); // may run past the end of this message
   * const end = chunk === null ? -1 : chunk.indexOf(0); // a NUL-terminated message
   * // the bytes after the NUL are the next message's: the next call reads them first
   * if (chunk !== null && end !== -1) reader.unread(chunk.subarray(end + 1));
   * ```
   */
  unread(bytes: Uint8Array): void {
    this.#enter();
    if (bytes.length > 0) this.#q.unshift(new Uint8Array(bytes));
  }

  /**
   * The chunks of the stream as `read()` gives them, each valid until the next step.
   *
   * @example
   * ```ts
   * import { createHash } from 'node:crypto';
   * const reader = new BufferedReader(socket);
   * await reader.readLine(); // a header line of our own protocol
   * const hash = createHash('sha256');
   * for await (const chunk of reader) hash.update(chunk); // the rest, to the end of the stream
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    for (let chunk = await this.read(); chunk !== null; chunk = await this.read()) yield chunk;
  }

  /**
   * Detaches from the source and gives back what the reader held: the source with every listener
   * of the reader removed (and left paused with `readableFlowing` null, as node:http leaves a
   * socket it hands over), and the buffered bytes, those peeked included. A call waiting at that
   * moment fails with `ERR_BUFIO_RELEASED`, and so does every later call (a second `release()`
   * too).
   *
   * @example
   * ```ts
   * import { BufferedReader, recover } from '@h1kit/bufio';
   * const reader = new BufferedReader(socket);
   * await reader.readLine(); // our own greeting line
   * const { source, head } = reader.release();
   * const { reader: next, writer } = recover(source, head); // nothing lost: head comes first
   * ```
   */
  release(): Released<S> {
    if (this.#refused !== undefined) throw this.#refusal();
    this.#refused = 'the reader was released';
    const partial = this.#partial;
    this.#partial = EMPTY;
    if (partial.length > 0) this.#q.unshift(partial);
    const head = this.#q.drain();
    this.#in.handBack();
    return { source: this.#in.source, head };
  }

  /**
   * The rest of the stream, buffered bytes first, as a plain `Readable`, for code that wants a
   * stream once the reader has parsed what comes before; the reader is then refused
   * (`ERR_BUFIO_RELEASED`). Destroying the Readable before its end destroys the source, as
   * destroying a socket would; reaching its end leaves the source open for writing.
   *
   * @example
   * ```ts
   * import { createWriteStream } from 'node:fs';
   * import { pipeline } from 'node:stream/promises';
   * const reader = new BufferedReader(socket);
   * const name = await reader.readLine(); // 'upload.bin', then the file's bytes
   * await pipeline(reader.toReadable(), createWriteStream('/tmp/upload.bin'));
   * ```
   */
  toReadable(): Readable {
    this.#enter();
    this.#refused = 'the reader was handed to a Readable';
    let done = false;
    const next = async (): Promise<Uint8Array | null> =>
      this.#attempt(() => this.#readNow(Number.POSITIVE_INFINITY));
    return new Readable({
      read() {
        next().then(
          (chunk) => {
            if (chunk === null) done = true;
            this.push(chunk);
          },
          (error: Error) => this.destroy(error),
        );
      },
      destroy: (error, callback) => {
        if (!done) {
          this.#in.stop();
          // The error was the consumer's and is reported on this stream; the source just closes.
          this.#in.source.destroy();
        }
        callback(error);
      },
    });
  }

  // --- the calls --------------------------------------------------------------------------

  #enter(): void {
    if (this.#refused !== undefined) throw this.#refusal();
    if (this.#busy) {
      throw new H1Error(
        BufioErrorCode.CONCURRENT_CALL,
        'a call was made while another is still waiting for the source; await each call',
      );
    }
  }

  #refusal(): H1Error {
    return new H1Error(BufioErrorCode.RELEASED, this.#refused ?? 'the reader was released');
  }

  /** Runs `now` until it stops asking for bytes, waiting for the source in between. */
  #attempt<T>(now: () => Attempt<T>): Promise<T> | T {
    const result = now();
    return result === WAIT ? this.#wait(now) : result;
  }

  async #wait<T>(now: () => Attempt<T>): Promise<T> {
    this.#busy = true;
    try {
      for (;;) {
        await this.#in.changed();
        if (!this.#in.attached && this.#in.end === undefined) throw this.#refusal();
        const result = now();
        if (result !== WAIT) return result;
      }
    } finally {
      this.#busy = false;
    }
  }

  /** What a call that needs more bytes gets: wait, its own answer at the end, or the failure. */
  #ended<T>(atEnd: () => T): Attempt<T> {
    const end = this.#in.end;
    if (end === undefined) return WAIT;
    if (end !== null) throw end;
    return atEnd();
  }

  #peekNow(n: number): Attempt<Uint8Array | null> {
    const q = this.#q;
    if (q.length >= n) return q.view(n);
    return this.#ended(() => (q.length === 0 ? null : q.view(q.length)));
  }

  #readNow(max: number): Attempt<Uint8Array | null> {
    if (this.#q.length > 0) {
      const chunk = this.#q.takeChunk(max);
      this.#in.drained();
      return chunk;
    }
    return this.#ended(() => null);
  }

  #readByteNow(): Attempt<number | null> {
    const q = this.#q;
    if (q.length > 0) {
      const byte = q.head[q.pos]!;
      this.#skip(1);
      return byte;
    }
    return this.#ended(() => null);
  }

  /** At the end of the stream, every byte left (or `null`); before it, wait. */
  #rest(): Attempt<Uint8Array | null> {
    return this.#ended(() => (this.#q.length === 0 ? null : this.#take(this.#q.length)));
  }

  async #readLarge(n: number): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    let got = 0;
    try {
      return await this.#attempt(() => {
        const k = Math.min(this.#q.length, n - got);
        this.#q.copyOut(out, got, k);
        this.#in.drained();
        got += k;
        this.#partial = out.subarray(0, got);
        if (got === n) return out;
        if (this.#in.end !== undefined && got > 0) {
          // A refused call consumes nothing: what it gathered goes back before the rest.
          this.#q.unshift(this.#partial);
          this.#partial = EMPTY;
        }
        return this.#ended(() => (got === 0 ? null : this.#short(n)));
      });
    } finally {
      this.#partial = EMPTY;
    }
  }

  #short(n: number): never {
    const q = this.#q;
    throw new H1Error(
      BufioErrorCode.UNEXPECTED_EOF,
      `the stream ended after ${q.length} of the ${n} bytes readFull wanted`,
      q.consumed + q.length,
    );
  }

  #full(message: string): H1Error {
    return new H1Error(BufioErrorCode.BUFFER_FULL, message, this.#q.consumed + this.#size);
  }

  #take(n: number): Uint8Array {
    const bytes = this.#q.take(n);
    this.#in.drained();
    return bytes;
  }

  #skip(n: number): void {
    this.#q.skip(n);
    this.#in.drained();
  }
}
