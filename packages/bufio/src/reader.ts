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

/** Options of `new BufferedReader(source, options)`. */
export interface BufferedReaderOptions {
  /** Bytes taken from the source before it is paused, and the longest `peek`/`readSlice`. */
  size?: number;
  /** Bytes to yield before anything from the source (a server read them already). */
  head?: Uint8Array;
}

/** Go's `ReadLine` results: the line without its end, and whether it was cut at `size`. */
export interface Line {
  line: Uint8Array;
  isPrefix: boolean;
}

/** What `release()` hands back: the source with nothing of the reader attached, and its bytes. */
export interface Released<S> {
  source: S;
  head: Uint8Array;
}

const LF = 0x0a;
const CR = 0x0d;
/** An attempt that needs more bytes than are buffered while the source is still live. */
const WAIT = Symbol('wait');
type Attempt<T> = T | typeof WAIT;

/**
 * Go's `bufio.Reader` over a Node `Readable`. The source flows into the buffer until `size` bytes
 * are held, then is paused until a call drains it. Every call resolves `null` at the end of the
 * stream; a failure of the source reaches the first call that needs bytes past those buffered.
 * Returned arrays are valid until the next call (as in Go): copy one to keep it.
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

  /** Bytes that can be read now without waiting for the source. */
  get buffered(): number {
    return this.#q.length;
  }

  get size(): number {
    return this.#size;
  }

  /**
   * The next `n` bytes without consuming them (`n <= size`); fewer only where the stream ended
   * before `n`, `null` if it ended before any.
   */
  async peek(n: number): Promise<Uint8Array | null> {
    this.#enter();
    checkCount(n, 'peek(n)');
    if (n > this.#size) throw this.#full(`peek(${n}) is larger than the buffer (${this.#size})`);
    const now = this.#peekNow(n);
    return now === WAIT ? this.#wait(() => this.#peekNow(n)) : now;
  }

  /** Up to `max` buffered bytes of one chunk, waiting only if none is buffered. Never copies. */
  async read(max = Number.POSITIVE_INFINITY): Promise<Uint8Array | null> {
    this.#enter();
    if (max !== Number.POSITIVE_INFINITY) checkCount(max, 'read(max)');
    if (max === 0) return EMPTY;
    const now = this.#readNow(max);
    return now === WAIT ? this.#wait(() => this.#readNow(max)) : now;
  }

  /** The next byte, or `null` at the end. */
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
   * The bytes up to and including the next `delim`. `ERR_BUFIO_BUFFER_FULL` when `size` bytes
   * hold no `delim` (the bytes stay buffered). At the end of the stream: the rest without a
   * `delim`, then `null`.
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
   * The next line without its LF or CRLF. A line longer than `size` comes in pieces with
   * `isPrefix` set, as Go's `ReadLine` gives them; a CR ending a piece is held back for the next
   * one, so a CRLF is never split. A last line without LF is returned as it is.
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
   * Exactly `n` bytes; `null` at the end of the stream, `ERR_BUFIO_UNEXPECTED_EOF` if it ends
   * after some but fewer (those stay buffered). Beyond `size`, the bytes are gathered into a new
   * array as they come, so the buffer stays bounded; that array is the caller's to keep.
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
   * Skips `n` bytes as they come, holding none; resolves how many were skipped, fewer only where
   * the stream ended, `null` if it had ended before any.
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
   * may reuse its array (a view returned by this reader included).
   */
  unread(bytes: Uint8Array): void {
    this.#enter();
    if (bytes.length > 0) this.#q.unshift(new Uint8Array(bytes));
  }

  /** The chunks of the stream as `read()` gives them, each valid until the next step. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    for (let chunk = await this.read(); chunk !== null; chunk = await this.read()) yield chunk;
  }

  /**
   * Detaches from the source and gives back what the reader held: the source with every listener
   * of the reader removed (and left paused, as node:http leaves a socket it hands over), and the
   * buffered bytes. A call waiting at that moment fails with `ERR_BUFIO_RELEASED`.
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
   * The rest of the stream, buffered bytes first, as a plain `Readable`; the reader is then
   * refused (`ERR_BUFIO_RELEASED`). Destroying the Readable before its end destroys the source,
   * as destroying a socket would; reaching its end leaves the source open for writing.
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
