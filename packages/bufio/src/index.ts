/**
 * Go's bufio over Node streams, and `recover`, which seeds a reader with bytes a server read but did not process.
 *
 * @packageDocumentation
 * @module @h1kit/bufio
 */
export { BufioErrorCode, H1Error } from './errors.js';
export type { BufferedReaderOptions, Line, Released } from './reader.js';
export { BufferedReader } from './reader.js';
export type { ReadWriter, RecoverOptions } from './recover.js';
export { recover } from './recover.js';
export type { BufferedWriterOptions } from './writer.js';
export { BufferedWriter } from './writer.js';
