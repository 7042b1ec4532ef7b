import type { Duplex } from 'node:stream';
import { BufferedReader } from './reader.js';
import { BufferedWriter } from './writer.js';

/**
 * Go's `bufio.ReadWriter`, with the connection it reads and writes: what `recover()` returns,
 * and what a hijacked request's `readWriter` is.
 *
 * @example
 * ```ts
 * import type { ReadWriter } from '@h1kit/bufio';
 * // A line protocol spoken on a taken-over connection: each line back, upper-cased.
 * async function shout({ reader, writer, socket }: ReadWriter): Promise<void> {
 *   for (let l = await reader.readLine(); l !== null; l = await reader.readLine()) {
 *     await writer.write(Buffer.from(`${Buffer.from(l.line).toString().toUpperCase()}\n`));
 *     if (reader.buffered === 0) await writer.flush(); // one write per burst of lines
 *   }
 *   await writer.flush();
 *   socket.end();
 * }
 * ```
 */
export interface ReadWriter<S extends Duplex = Duplex> {
  /** Yields the bytes recovered (`head`) first, then every later byte of `socket`. */
  reader: BufferedReader<S>;
  /** Writes to `socket`, after whatever the server had already queued there. */
  writer: BufferedWriter<S>;
  /** The connection itself, for `end()`, `destroy()`, `setTimeout()` and the like. */
  socket: S;
}

/**
 * Options of `recover(socket, head, options)`.
 *
 * @example
 * ```ts
 * import { type RecoverOptions, recover } from '@h1kit/bufio';
 * const options: RecoverOptions = { size: 4096 }; // lines up to 4 KiB in one piece
 * const { reader, writer } = recover(socket, head, options);
 * ```
 */
export interface RecoverOptions {
  /** Buffer size of both the reader and the writer (default 64 KiB). */
  size?: number;
}

/**
 * The shim a hijacker needs: a reader that yields `head` (bytes a server read from `socket` but
 * did not process) before any later byte of the socket, and a writer on the same socket.
 *
 * Nothing is lost, repeated or reordered whatever state the socket was left in: flowing or
 * paused, with bytes waiting in its readable buffer, or past its 'end'. The reader takes the
 * socket's own buffer first, because it consumes through the socket's stream interface, and it
 * attaches synchronously, so a flowing socket emits no byte between the server's read and ours.
 * node:http hands a socket over ('upgrade', 'connect') with its own listeners removed and
 * `readableFlowing` reset to `null`, which is the state the reader expects. Throws as the
 * `BufferedReader` and `BufferedWriter` constructors do (a socket with a 'data' listener is
 * `ERR_BUFIO_SOURCE_IN_USE`), leaving the socket as it was.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { recover } from '@h1kit/bufio';
 * createServer().on('upgrade', async (req, socket, head) => {
 *   const { reader, writer } = recover(socket, head); // `head`: bytes node:http read past the head
 *   await writer.write(Buffer.from('HTTP/1.1 101 Switching Protocols\r\n'));
 *   await writer.write(Buffer.from('Upgrade: echo\r\nConnection: Upgrade\r\n\r\n'));
 *   await writer.flush();
 *   for (let l = await reader.readLine(); l !== null; l = await reader.readLine()) {
 *     await writer.write(l.line); // a view, copied by the write
 *     await writer.write(Buffer.from('\n'));
 *     await writer.flush();
 *   }
 *   socket.end();
 * });
 * ```
 */
export function recover<S extends Duplex>(
  socket: S,
  head: Uint8Array = new Uint8Array(0),
  options: RecoverOptions = {},
): ReadWriter<S> {
  // The writer first: it takes nothing from the socket, so when either constructor refuses the
  // socket or the options, no reader is left behind consuming it.
  const writer = new BufferedWriter(socket, { size: options.size });
  let reader: BufferedReader<S>;
  try {
    reader = new BufferedReader(socket, { size: options.size, head });
  } catch (error) {
    writer.release();
    throw error;
  }
  return { reader, writer, socket };
}
