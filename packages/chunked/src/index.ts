/**
 * The chunked transfer coding (RFC 9112 section 7.1): a zero-copy decoder, an encoder, trailers, stream adapters.
 *
 * @packageDocumentation
 * @module @h1kit/chunked
 */
export { H1Error } from '@h1kit/headers';
export type { ChunkedPushResult } from './decoder.js';
export { ChunkedDecoder } from './decoder.js';
export { encodeChunk, encodeLastChunk } from './encode.js';
export { ChunkedErrorCode } from './errors.js';
export type { StreamOptions } from './node-stream.js';
export { ChunkedDecoderTransform, ChunkedEncoderTransform } from './node-stream.js';
export type {
  ChunkExt,
  ChunkedDecoderOptions,
  ChunkedEncoderOptions,
  ChunkedLimits,
} from './options.js';
export { DEFAULT_CHUNKED_LIMITS } from './options.js';
export { ChunkedDecoderStream, ChunkedEncoderStream } from './web-stream.js';
