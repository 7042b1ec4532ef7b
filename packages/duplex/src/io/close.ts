import type { Duplex } from 'node:stream';
import { type H1Error, serializeResponseHead } from '@h1kit/headers';
import { DuplexErrorCode } from '../errors.js';

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
  socket.on('data', ignore);
  socket.on('error', ignore);
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('end', () => socket.destroy());
  if (socket.writable) socket.end(last);
  socket.resume();
}

/** Answers a request that cannot be served with `status` and no body, then closes gracefully. */
export function refuse(socket: Duplex, status: number): void {
  closeGracefully(
    socket,
    serializeResponseHead(status, { 'Content-Length': 0, Connection: 'close' }),
  );
}

/**
 * Ends a connection whose exchange failed, giving the peer what it can still use: `refuseWith`
 * (400 for a request at fault, 503 for a late response) when nothing was answered yet; the
 * response, when it went out whole; a reset when it was cut short, or when the failure is ours
 * and has no status to say (a destroyed exchange).
 */
export function closeAfterFailure(
  socket: Duplex,
  answered: 'nothing' | 'partly' | 'whole',
  refuseWith: number | undefined,
): void {
  if (socket.destroyed) return;
  if (answered === 'nothing' && refuseWith !== undefined) refuse(socket, refuseWith);
  else if (answered === 'whole') closeGracefully(socket);
  else socket.destroy();
}

/** A listener that does nothing: what is read is dropped, an error is already handled elsewhere. */
export function ignore(): void {}

/**
 * The status that answers `error` when nothing was answered yet: a deadline that passed says
 * which side was late (408 the request, 503 the response); anything else gets `otherwise`.
 */
export function statusFor(error: Error, otherwise: number): number {
  const code = (error as Partial<H1Error>).code;
  if (code === DuplexErrorCode.READ_TIMEOUT) return 408;
  if (code === DuplexErrorCode.WRITE_TIMEOUT) return 503;
  return otherwise;
}
