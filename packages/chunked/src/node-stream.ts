// The encoder and decoder as node:stream Transforms. Backpressure is Transform's own: a write is
// acknowledged only once the readable side has room, so a slow reader holds back the writer.
import { Transform, type TransformCallback, type TransformOptions } from 'node:stream';
import { ChunkedDecoder } from './decoder.js';
import { encodeChunk, encodeLastChunk } from './encode.js';
import { type ChunkedDecoderOptions, type ChunkedEncoderOptions, trailersOf } from './options.js';

/**
 * Stream options both adapters pass on to `Transform`.
 *
 * @example
 * ```ts
 * import { ChunkedDecoderTransform, type StreamOptions } from '@h1kit/chunked';
 * const streamOptions: StreamOptions = { highWaterMark: 65536, signal: AbortSignal.timeout(30e3) };
 * const decoder = new ChunkedDecoderTransform({ ...streamOptions, maxTrailerFields: 16 });
 * ```
 */
export type StreamOptions = Pick<
  TransformOptions,
  'highWaterMark' | 'readableHighWaterMark' | 'writableHighWaterMark' | 'signal'
>;

/**
 * Bytes in, chunked transfer coding out; ending the writable side writes the last chunk.
 *
 * @example
 * ```ts
 * import { createReadStream } from 'node:fs';
 * import { pipeline } from 'node:stream/promises';
 * import { ChunkedEncoderTransform } from '@h1kit/chunked';
 * // After the head has been written to `socket`:
 * const encoder = new ChunkedEncoderTransform({ trailers: { Expires: '0' } });
 * await pipeline(createReadStream('access.log'), encoder, socket, { end: false });
 * ```
 */
export class ChunkedEncoderTransform extends Transform {
  private readonly trailerOption: ChunkedEncoderOptions['trailers'];

  constructor(options: ChunkedEncoderOptions & StreamOptions = {}) {
    const { trailers, ...streamOptions } = options;
    super(streamOptions);
    this.trailerOption = trailers;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const parts = encodeChunk(chunk);
    for (let i = 0; i < parts.length; i++) this.push(parts[i]);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.push(encodeLastChunk(trailersOf(this.trailerOption)));
    } catch (error) {
      callback(error as Error);
      return;
    }
    callback();
  }
}

/**
 * Chunked transfer coding in, payload out (views of the written chunks). When the message ends the
 * readable side ends, `trailers` is set and `'trailers'` is emitted first; the bytes after the
 * message, including any written later, collect in `rest`. A fault destroys the stream with the
 * decoder's `H1Error`, as does ending the writable side inside the message.
 *
 * @example
 * ```ts
 * import { ChunkedDecoderTransform } from '@h1kit/chunked';
 * const decoder = new ChunkedDecoderTransform({ maxTrailerBytes: 4096 });
 * decoder.on('trailers', (trailers: Array<[string, string]>) => console.log(trailers));
 * decoder.on('end', () => console.log(decoder.rest.length)); // bytes of the next message
 * body.pipe(decoder).pipe(destination);
 * ```
 */
export class ChunkedDecoderTransform extends Transform {
  /** The trailer fields, once the message has ended. */
  trailers: Array<[string, string]> = [];
  private readonly decoder: ChunkedDecoder;
  private ended = false;
  private restPieces: Uint8Array[] = [];

  constructor(options: ChunkedDecoderOptions & StreamOptions = {}) {
    const { highWaterMark, readableHighWaterMark, writableHighWaterMark, signal, ...limits } =
      options;
    super({ highWaterMark, readableHighWaterMark, writableHighWaterMark, signal });
    this.decoder = new ChunkedDecoder(limits);
  }

  /** The bytes written after the end of the message: one view when they came in one write. */
  get rest(): Uint8Array {
    const pieces = this.restPieces;
    if (pieces.length === 1) return pieces[0]!;
    this.restPieces = [Buffer.concat(pieces)];
    return this.restPieces[0]!;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.ended) {
      // Writes already under way when the message ended (a pipe does not stop at once).
      if (chunk.length > 0) this.restPieces.push(chunk);
      callback();
      return;
    }
    let result: ReturnType<ChunkedDecoder['push']>;
    try {
      result = this.decoder.push(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    const data = result.data;
    for (let i = 0; i < data.length; i++) this.push(data[i]);
    if (result.done) {
      this.ended = true;
      this.trailers = result.trailers;
      if (result.rest.length > 0) this.restPieces.push(result.rest);
      this.emit('trailers', result.trailers);
      this.push(null);
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.decoder.finish();
    } catch (error) {
      callback(error as Error);
      return;
    }
    callback();
  }
}
