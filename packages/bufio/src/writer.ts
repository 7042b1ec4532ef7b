import type { Writable } from 'node:stream';
import { BufioErrorCode, checkSize, DEFAULT_SIZE, H1Error, invalidArgument } from './errors.js';
import { EMPTY } from './queue.js';

/**
 * Options of `new BufferedWriter(sink, options)`: how many bytes are gathered before they go to
 * the sink.
 *
 * @example
 * ```ts
 * import { BufferedWriter, type BufferedWriterOptions } from '@h1kit/bufio';
 * // 16 KiB: about one TLS record; writes of 16 KiB or more go to the sink by reference
 * const options: BufferedWriterOptions = { size: 16 * 1024 };
 * const writer = new BufferedWriter(socket, options);
 * ```
 */
export interface BufferedWriterOptions {
  /**
   * Bytes gathered before they go to the sink; writes of this size or more are not copied.
   * Default 65536; a smaller value is rounded up to 16, as Go's bufio does.
   */
  size?: number;
}

const DONE: Promise<void> = Promise.resolve();

/**
 * Go's `bufio.Writer` over a Node `Writable`: many small writes (a status-line, field-lines, a
 * chunk-size line) leave as one sink write, so a socket sends one segment instead of one per
 * write. Small writes are copied into an arena and reach the sink as one chunk on `flush()`, or
 * when the arena is full; a write of `size` bytes or more goes by reference, in one corked
 * `writev` with whatever was gathered before it. The arena is never rewritten where the sink may
 * still hold a view of it: after a flush, writes continue past the flushed bytes, and a full
 * arena is replaced, not reused. Nothing is sent until `flush()` unless the arena fills: call it
 * when a message is complete.
 *
 * @example
 * ```ts
 * import { BufferedWriter } from '@h1kit/bufio';
 * const writer = new BufferedWriter(socket); // socket: a net.Socket (any Writable of bytes)
 * await writer.write(Buffer.from('HTTP/1.1 200 OK\r\n'));
 * await writer.write(Buffer.from('Content-Length: 2\r\n\r\n'));
 * await writer.write(Buffer.from('ok'));
 * await writer.flush(); // the three writes reach the socket as one chunk
 * ```
 */
export class BufferedWriter<S extends Writable = Writable> {
  readonly #sink: S;
  readonly #size: number;
  #arena: Uint8Array = EMPTY;
  /** The gathered bytes not yet sent are `#arena[#start, #end)`. */
  #start = 0;
  #end = 0;
  /** Sink writes not yet called back. */
  #inflight = 0;
  #settled: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  /** Why the sink failed: its error, or its close with bytes not taken. */
  #error: Error | undefined;
  #attached = true;
  #released = false;

  /**
   * Writes to `sink`, which must take bytes (no object mode: `ERR_BUFIO_INVALID_ARGUMENT`). The
   * writer listens for the sink's 'error' and 'close' to fail what is pending; other writers of
   * the same sink are not seen, so their bytes go out whenever they write them.
   */
  constructor(sink: S, options: BufferedWriterOptions = {}) {
    this.#size = checkSize(options.size ?? DEFAULT_SIZE);
    if (sink.writableObjectMode) throw invalidArgument('the sink must take bytes, not objects');
    this.#sink = sink;
    sink.on('error', this.#onError);
    sink.on('close', this.#onClose);
    if (sink.destroyed) this.#onClose();
  }

  /** Bytes written but not yet sent to the sink: what `flush()` would send now. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Bytes `write()` can take before it must send to the sink (`size` when nothing is gathered).
   *
   * @example
   * ```ts
   * const writer = new BufferedWriter(socket, { size: 4096 });
   * await writer.write(Buffer.from('HTTP/1.1 204 No Content\r\n\r\n'));
   * writer.available; // 4069: 4096 less the 27 bytes gathered
   * ```
   */
  get available(): number {
    return this.#end === this.#start ? this.#size : this.#arena.length - this.#end;
  }

  /** The arena's size: writes smaller than this are gathered, larger ones go by reference. */
  get size(): number {
    return this.#size;
  }

  /**
   * Takes `bytes` in order with every other write. Resolves at once unless the bytes had to go
   * to the sink and it is above its high-water mark: then once the sink has taken everything,
   * which is how backpressure reaches a producer that awaits each write. A write smaller than
   * `size` is copied (the caller may reuse its array, a reader's view included); one of `size` or
   * more goes by reference and must not change until `flush()` resolves. Rejects with the sink's
   * error, or `ERR_BUFIO_PREMATURE_CLOSE` once the sink has closed.
   *
   * @example
   * ```ts
   * import { BufferedWriter } from '@h1kit/bufio';
   * const writer = new BufferedWriter(socket, { size: 16 * 1024 });
   * await writer.write(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n'));
   * await writer.write(payload); // 1 MiB: by reference, in one writev after the gathered head
   * await writer.flush(); // leave `payload` alone until here
   * ```
   */
  write(bytes: Uint8Array): Promise<void> {
    const refused = this.#refused();
    if (refused !== undefined) return Promise.reject(refused);
    const n = bytes.length;
    const pending = this.#end - this.#start;
    if (n < this.#size && n <= (pending === 0 ? this.#size : this.#arena.length - this.#end)) {
      if (n > this.#arena.length - this.#end) this.#newArena();
      this.#arena.set(bytes, this.#end);
      this.#end += n;
      return DONE;
    }
    let full: boolean;
    if (n >= this.#size) {
      if (pending > 0) {
        this.#sink.cork();
        this.#sendPending();
        full = this.#send(bytes);
        this.#sink.uncork();
      } else {
        full = this.#send(bytes);
      }
    } else {
      full = this.#sendPending();
      this.#newArena();
      this.#arena.set(bytes);
      this.#end = n;
    }
    return full ? this.#whenSettled() : DONE;
  }

  /**
   * Sends what is gathered; resolves once the sink has called back for every byte written (Node's
   * sign that it took them; a socket has handed them to the kernel). Rejects as `write()` does
   * when the sink failed.
   *
   * @example
   * ```ts
   * const writer = new BufferedWriter(socket);
   * await writer.write(Buffer.from('HTTP/1.1 101 Switching Protocols\r\n'));
   * await writer.write(Buffer.from('Upgrade: echo\r\nConnection: Upgrade\r\n\r\n'));
   * await writer.flush(); // the head is out before we speak the new protocol
   * ```
   */
  flush(): Promise<void> {
    const refused = this.#refused();
    if (refused !== undefined) return Promise.reject(refused);
    if (this.#end > this.#start) this.#sendPending();
    return this.#inflight === 0 ? DONE : this.#whenSettled();
  }

  /**
   * Detaches from the sink and returns the bytes gathered but not sent; writes already sent go
   * on. Later calls fail with `ERR_BUFIO_RELEASED` (a second `release()` throws it).
   *
   * @example
   * ```ts
   * const writer = new BufferedWriter(socket);
   * await writer.write(Buffer.from('HTTP/1.1 200 OK\r\n'));
   * const pending = writer.release(); // the 17 bytes, never sent
   * socket.write(pending); // the socket is written directly from here on
   * ```
   */
  release(): Uint8Array {
    // As the reader's: a second release is a mistake said aloud, not an empty array.
    if (this.#released) throw new H1Error(BufioErrorCode.RELEASED, 'the writer was released');
    const pending = this.#arena.subarray(this.#start, this.#end);
    this.#start = this.#end;
    this.#detach();
    this.#released = true;
    return pending;
  }

  #refused(): Error | undefined {
    if (this.#released) return new H1Error(BufioErrorCode.RELEASED, 'the writer was released');
    if (this.#error === undefined && !this.#attached) this.#error = this.#closed();
    return this.#error;
  }

  #newArena(): void {
    this.#arena = Buffer.allocUnsafe(this.#size);
    this.#start = 0;
    this.#end = 0;
  }

  #sendPending(): boolean {
    const arena = this.#arena;
    const start = this.#start;
    this.#start = this.#end;
    // A Buffer view spares the sink's conversion of a plain Uint8Array on every write.
    return this.#send(Buffer.from(arena.buffer, arena.byteOffset + start, this.#end - start));
  }

  /** Returns whether the sink asks the writer to wait. */
  #send(chunk: Uint8Array): boolean {
    this.#inflight++;
    return !this.#sink.write(chunk, this.#onWritten);
  }

  #whenSettled(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#settled.push({ resolve, reject });
    });
  }

  #onWritten = (error?: Error | null): void => {
    this.#inflight--;
    if (error) this.#fail(error);
    else if (this.#inflight === 0) this.#settle();
  };

  #settle(): void {
    const waiting = this.#settled;
    if (waiting.length === 0) return;
    this.#settled = [];
    const error = this.#error;
    for (const w of waiting) {
      if (error === undefined) w.resolve();
      else w.reject(error);
    }
  }

  #fail(error: Error): void {
    this.#error ??= error;
    this.#settle();
  }

  #onError = (error: Error): void => this.#fail(error);

  #onClose = (): void => {
    this.#detach();
    // Node calls back every write before 'close'; a write still out now was lost with the sink.
    if (this.#inflight > 0 || this.#end > this.#start) this.#fail(this.#closed());
    else this.#settle();
  };

  #closed(): H1Error {
    return new H1Error(BufioErrorCode.PREMATURE_CLOSE, 'the sink closed');
  }

  #detach(): void {
    if (!this.#attached) return;
    this.#attached = false;
    this.#sink.off('error', this.#onError);
    this.#sink.off('close', this.#onClose);
  }
}
