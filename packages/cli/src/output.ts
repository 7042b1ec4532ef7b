// Standard output as the response goes to it: backpressure kept (a slow terminal or pipe holds
// the response body, and so the server), a broken pipe noticed, and the last byte remembered so
// that trailers printed after the body start on a line of their own.
import type { Writable } from 'node:stream';
import { codeOf } from './errors.js';

/** Writes to a stream, in order, failing every write after the stream failed. */
export class Output {
  /** The stream's error, once it failed. */
  failed: Error | undefined;
  private lastByte = -1;

  constructor(
    private readonly stream: Writable,
    onFail: (error: Error) => void,
  ) {
    // Left attached after the command: a failed write reports on a later tick, and an 'error'
    // nobody listens for would end the process with a stack trace.
    stream.on('error', (error: Error) => {
      if (this.failed) return;
      this.failed = error;
      onFail(error);
    });
  }

  /** Whether the stream failed because its reader went away (`| head`): not worth a message. */
  get brokenPipe(): boolean {
    return codeOf(this.failed) === 'EPIPE';
  }

  /** Whether the last byte written ended a line (or nothing was written yet). */
  get atLineStart(): boolean {
    return this.lastByte === -1 || this.lastByte === 0x0a;
  }

  /** Writes `data` (text as latin1, as header bytes are) and waits while the stream is full. */
  async write(data: Uint8Array | string): Promise<void> {
    if (this.failed) throw this.failed;
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    if (bytes.length === 0) return;
    this.lastByte = bytes[bytes.length - 1]!;
    if (this.stream.write(bytes)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.stream.off('error', done);
        this.stream.off('close', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('error', done);
      this.stream.on('close', done);
    });
    if (this.failed) throw this.failed;
  }
}
