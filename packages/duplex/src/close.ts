import type { Duplex } from 'node:stream';

/** How long a connection we are closing keeps reading (and discarding) what the peer still sends. */
const LINGER_MS = 2000;

/**
 * Sends `last` (an error response, say) and closes. The peer's remaining bytes are read and
 * dropped until it closes too or the linger time passes: closing a socket with unread input makes
 * the kernel send RST, and the peer would then lose the response we just wrote.
 */
export function closeGracefully(socket: Duplex, last?: Uint8Array): void {
  if (socket.destroyed) return;
  socket.removeAllListeners('data');
  socket.on('data', discard);
  socket.on('error', discard);
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('end', () => socket.destroy());
  if (socket.writable) socket.end(last);
  socket.resume();
}

function discard(): void {}
