import type { Duplex } from 'node:stream';
import { BufferedReader } from './reader.js';
import { BufferedWriter } from './writer.js';

/** Go's `bufio.ReadWriter`, with the connection it reads and writes. */
export interface ReadWriter<S extends Duplex = Duplex> {
  reader: BufferedReader<S>;
  writer: BufferedWriter<S>;
  socket: S;
}

/** Options of `recover(socket, head, options)`. */
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
 * `readableFlowing` reset to `null`, which is the state the reader expects.
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
