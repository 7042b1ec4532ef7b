import type { Duplex } from 'node:stream';

/** What the wire hands bytes to: a head reader, a body decoder, a drain. */
export interface WireConsumer {
  /** Takes every byte given. A consumer that wants no more pauses the wire and unshifts the rest. */
  bytes(chunk: Uint8Array): void;
  /** The peer finished sending (FIN), after every byte was delivered. */
  end(): void;
  /** The connection failed or closed under the consumer. */
  abort(error: Error): void;
}

const EMPTY = new Uint8Array(0);

/**
 * The read side of one connection: socket bytes go to the one consumer that holds the wire, in
 * order, with bytes that arrive while paused (or while nobody holds it) held back, and the bytes
 * a consumer did not want (the next pipelined message) put back in front for the next holder.
 * A consumer takes the wire with `attach` and gives it up with `leave`; attaching while another
 * holds it is a bug and throws. Pausing the wire pauses the socket, so TCP flow control reaches
 * the peer.
 */
export class Wire {
  readonly socket: Duplex;
  private consumer: WireConsumer | undefined;
  private held: Uint8Array[] = [];
  private paused = true;
  private peerEnded = false;
  private endDelivered = false;
  private failure: Error | undefined;
  private delivering = false;
  /** After `detach()` the socket is somebody else's: the wire neither pauses nor resumes it. */
  private detached = false;
  /** Listening to the socket: from the first `attach()`, until `detach()`. */
  private listening = false;

  /**
   * The wire of `socket`, with `head` (bytes already read from it) first. It listens to the
   * socket only from the first `attach()`: until then what arrives stays in the socket, in order
   * behind `head`, and `detach()` returns `head` alone. So a message that is never read from (a
   * hijacked request without a body) costs its socket no listener.
   */
  constructor(socket: Duplex, head?: Uint8Array) {
    this.socket = socket;
    if (head && head.length > 0) this.held.push(head);
  }

  /**
   * Gives the wire to `consumer` and starts delivering to it, or, with `start` false, leaves the
   * wire paused until the consumer resumes it.
   */
  attach(consumer: WireConsumer, start = true): void {
    if (this.consumer !== undefined && this.consumer !== consumer) {
      throw new Error('Wire.attach: the wire is held by another consumer; it must leave() first');
    }
    this.listen();
    this.consumer = consumer;
    this.endDelivered = false;
    if (start) this.start();
    else this.pause();
  }

  /** `consumer` gives the wire up, paused, with `rest` (bytes it did not want) put back in front. */
  leave(consumer: WireConsumer, rest: Uint8Array = EMPTY): void {
    if (this.detached) return;
    this.pause();
    if (rest.length > 0) this.held.unshift(rest);
    if (this.consumer === consumer) this.consumer = undefined;
  }

  pause(): void {
    if (this.detached) return;
    this.paused = true;
    if (this.listening) this.socket.pause();
  }

  resume(): void {
    if (this.detached) return;
    // A flowing body asks again on every read it takes: nothing to do while nothing is held.
    if (!this.paused && this.held.length === 0) return;
    this.start();
  }

  /** Bytes received and not yet delivered. */
  get heldBytes(): number {
    let n = 0;
    for (const b of this.held) n += b.length;
    return n;
  }

  /**
   * Stops listening to the socket and returns the bytes received and not delivered, as one
   * array; the wire is done after this.
   */
  detach(): Uint8Array {
    this.detached = true;
    if (this.listening) {
      this.listening = false;
      const socket = this.socket;
      socket.off('data', this.onData);
      socket.off('end', this.onEnd);
      socket.off('error', this.onError);
      socket.off('close', this.onClose);
    }
    this.consumer = undefined;
    const held = this.held;
    this.held = [];
    if (held.length <= 1) return held[0] ?? EMPTY;
    return Buffer.concat(held);
  }

  /** Starts listening to the socket, once: from the first attach, or a resume before any. */
  private listen(): void {
    if (this.listening || this.detached) return;
    this.listening = true;
    const socket = this.socket;
    // A socket that closed before anybody listened delivers nothing more: its bytes are lost.
    if (socket.destroyed) this.failure ??= closedUnder();
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.pause();
  }

  private start(): void {
    if (this.detached) return;
    // Resumed before any attach: what flows must be held rather than lost.
    this.listen();
    this.paused = false;
    this.flush();
    if (!this.paused) this.socket.resume();
  }

  private flush(): void {
    // A consumer may leave, attach another or pause from inside bytes(): deliver one chunk at a
    // time and re-check, never recurse.
    if (this.delivering) return;
    this.delivering = true;
    try {
      while (!this.paused && this.consumer && this.held.length > 0) {
        this.consumer.bytes(this.held.shift()!);
      }
      if (!this.paused && this.consumer && this.held.length === 0) {
        if (this.failure) this.consumer.abort(this.failure);
        else if (this.peerEnded && !this.endDelivered) {
          this.endDelivered = true;
          this.consumer.end();
        }
      }
    } finally {
      this.delivering = false;
    }
  }

  private readonly onData = (chunk: Uint8Array): void => {
    if (this.paused || !this.consumer || this.delivering || this.held.length > 0) {
      this.held.push(chunk);
      this.flush();
      return;
    }
    this.consumer.bytes(chunk);
  };

  private readonly onEnd = (): void => {
    this.peerEnded = true;
    this.flush();
  };

  private readonly onError = (error: Error): void => {
    this.failure ??= error;
    this.flush();
  };

  private readonly onClose = (): void => {
    if (!this.peerEnded || this.heldBytes > 0) {
      this.failure ??= closedUnder();
    }
    this.flush();
  };
}

function closedUnder(): Error {
  return Object.assign(new Error('connection closed'), { code: 'ECONNRESET' });
}
