import type { Duplex } from 'node:stream';

/**
 * Waits for room on a socket for a writer that is holding back: `room` on each 'drain' and
 * `gone` once on 'close', from the first `wait()` until `stop()`. The listeners stay between
 * waits, since a body that fills the socket once tends to fill it again.
 */
export class SocketRoom {
  private listening = false;

  constructor(
    private readonly socket: Duplex,
    private readonly room: () => void,
    private readonly gone: () => void,
  ) {}

  wait(): void {
    if (this.listening) return;
    this.listening = true;
    this.socket.on('drain', this.room);
    this.socket.on('close', this.onClose);
  }

  stop(): void {
    if (!this.listening) return;
    this.listening = false;
    this.socket.off('drain', this.room);
    this.socket.off('close', this.onClose);
  }

  private readonly onClose = (): void => {
    this.stop();
    this.gone();
  };
}
