import type { Readable } from 'node:stream';
import { BufioErrorCode, H1Error } from './errors.js';
import type { ByteQueue } from './queue.js';

/**
 * How bytes get from a Readable into the reader's queue: the source flows while fewer than `size`
 * bytes are held and is paused beyond that, so memory stays at `size` plus one chunk. Flowing
 * mode hands over each chunk as the source read it (no copy); `read()` on a paused stream would
 * concatenate its buffered chunks. The listeners stay only while the source is live.
 */
export class Intake<S extends Readable = Readable> {
  readonly source: S;
  /** `undefined` while the source is live, `null` once it ended, else why it failed. */
  end: Error | null | undefined;
  attached = false;
  #paused = false;
  readonly #q: ByteQueue;
  readonly #size: number;
  #wake: (() => void) | undefined;

  constructor(source: S, q: ByteQueue, size: number) {
    this.source = source;
    this.#q = q;
    this.#size = size;
    if (source.readableEnded) {
      this.end = null;
      return;
    }
    if (source.destroyed) {
      this.end = source.errored ?? this.#prematureClose();
      return;
    }
    // Paused first, so that adding 'data' does not start a flow the buffer has no room for.
    source.pause();
    this.#paused = true;
    source.on('data', this.#onData);
    source.on('end', this.#onEnd);
    source.on('error', this.#onError);
    source.on('close', this.#onClose);
    this.attached = true;
    if (q.length < size) this.#resume();
  }

  /** Resolves at the next change: bytes, the end, a failure, or `stop()`. */
  changed(): Promise<void> {
    if (this.#paused && this.attached) this.#resume();
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  /** Resumes a source paused for room once half the buffer is free again. */
  drained(): void {
    if (this.#paused && this.attached && this.#q.length <= this.#size >>> 1) this.#resume();
  }

  /** Removes every listener of the intake; a call waiting for a change wakes up. */
  stop(): void {
    if (this.attached) {
      this.attached = false;
      const source = this.source;
      source.off('data', this.#onData);
      source.off('end', this.#onEnd);
      source.off('error', this.#onError);
      source.off('close', this.#onClose);
    }
    this.#notify();
  }

  /** Stops, leaving a live source paused in the state node:http hands a socket over in. */
  handBack(): void {
    const live = this.attached;
    this.stop();
    if (!live) return;
    this.source.pause();
    // As node:http does for 'upgrade': the next consumer's 'data' listener starts the flow.
    (this.source as { readableFlowing: boolean | null }).readableFlowing = null;
  }

  #onData = (chunk: Uint8Array): void => {
    if (chunk.length === 0) return;
    const q = this.#q;
    q.push(plain(chunk));
    if (q.length >= this.#size && !this.#paused) {
      this.#paused = true;
      this.source.pause();
    }
    this.#notify();
  };

  #onEnd = (): void => this.#finish(null);
  #onError = (error: Error): void => this.#finish(error);
  #onClose = (): void => this.#finish(this.#prematureClose());

  #finish(end: Error | null): void {
    this.end ??= end;
    this.stop();
  }

  #resume(): void {
    this.#paused = false;
    this.source.resume();
  }

  #notify(): void {
    const wake = this.#wake;
    if (wake !== undefined) {
      this.#wake = undefined;
      wake();
    }
  }

  #prematureClose(): H1Error {
    const q = this.#q;
    return new H1Error(
      BufioErrorCode.PREMATURE_CLOSE,
      'the source closed before its end',
      q.consumed + q.length,
    );
  }
}

/** A chunk as a plain Uint8Array, so the buffer's arrays all share one shape. */
export function plain(chunk: Uint8Array): Uint8Array {
  return chunk.constructor === Uint8Array
    ? chunk
    : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
