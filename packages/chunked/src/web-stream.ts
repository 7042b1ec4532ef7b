// The encoder and decoder as WHATWG TransformStreams. Backpressure is the TransformStream's own:
// `transform` is not called again while the readable side is over its high-water mark.
import { type QueuingStrategy, TransformStream } from 'node:stream/web';
import { ChunkedDecoder } from './decoder.js';
import { encodeChunk, encodeLastChunk } from './encode.js';
import { type ChunkedDecoderOptions, type ChunkedEncoderOptions, trailersOf } from './options.js';

/**
 * Bytes in, chunked transfer coding out; closing the writable side writes the last chunk.
 *
 * @example
 * ```ts
 * import { ChunkedEncoderStream } from '@h1kit/chunked';
 * const chunked = payload.pipeThrough(new ChunkedEncoderStream({ trailers: { Expires: '0' } }));
 * for await (const bytes of chunked) socket.write(bytes); // after the head
 * ```
 */
export class ChunkedEncoderStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor(
    options: ChunkedEncoderOptions = {},
    writableStrategy?: QueuingStrategy<Uint8Array>,
    readableStrategy?: QueuingStrategy<Uint8Array>,
  ) {
    super(
      {
        transform(chunk, controller) {
          const parts = encodeChunk(chunk);
          for (let i = 0; i < parts.length; i++) controller.enqueue(parts[i]!);
        },
        flush(controller) {
          controller.enqueue(encodeLastChunk(trailersOf(options.trailers)));
        },
      },
      writableStrategy,
      readableStrategy,
    );
  }
}

interface Ending {
  trailers: Array<[string, string]>;
  rest: Uint8Array;
}

/**
 * Chunked transfer coding in, payload out (views of the written chunks). When the message ends,
 * `trailers` and `rest` (the bytes of that write after the message) are set and the stream is
 * terminated: the readable side closes and later writes reject, so pipe into it with
 * `preventCancel: true` to keep the source for what follows. A fault errors both sides with the
 * decoder's `H1Error`, as does closing the writable side inside the message.
 *
 * @example
 * ```ts
 * import { ChunkedDecoderStream } from '@h1kit/chunked';
 * const decoder = new ChunkedDecoderStream({ maxChunkSize: 1 << 20 });
 * const body = wire.pipeThrough(decoder, { preventCancel: true });
 * for await (const data of body) sink.write(data);
 * console.log(decoder.trailers, decoder.rest.length); // known once body has closed
 * ```
 */
export class ChunkedDecoderStream extends TransformStream<Uint8Array, Uint8Array> {
  readonly #ending: Ending;

  constructor(
    options: ChunkedDecoderOptions = {},
    writableStrategy?: QueuingStrategy<Uint8Array>,
    readableStrategy?: QueuingStrategy<Uint8Array>,
  ) {
    const decoder = new ChunkedDecoder(options);
    const ending: Ending = { trailers: [], rest: new Uint8Array(0) };
    super(
      {
        transform(chunk, controller) {
          const result = decoder.push(chunk);
          const data = result.data;
          for (let i = 0; i < data.length; i++) controller.enqueue(data[i]!);
          if (!result.done) return;
          ending.trailers = result.trailers;
          ending.rest = result.rest;
          controller.terminate();
        },
        flush() {
          decoder.finish();
        },
      },
      writableStrategy,
      readableStrategy,
    );
    this.#ending = ending;
  }

  /** The trailer fields, once the readable side has closed at the end of the message. */
  get trailers(): Array<[string, string]> {
    return this.#ending.trailers;
  }

  /** The bytes that followed the message in the write that ended it. */
  get rest(): Uint8Array {
    return this.#ending.rest;
  }
}
