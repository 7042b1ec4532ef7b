// One client connection's reading machinery, kept for its whole life rather than made per
// request: the wire over the socket and the response head reader (an llhttp parser), handed from
// exchange to exchange while the agent pools the connection.
import type { Duplex } from 'node:stream';
import type { H1Error } from '@h1kit/headers';
import { ignore } from '../io/close.js';
import { HeadReader } from '../io/head-reader.js';
import type { HeadLimits, ParsedHead } from '../io/llhttp.js';
import { Wire } from '../io/wire.js';

/** What the exchange on a connection is told: its response head, and how reading it failed. */
export interface ConnectionEvents {
  head(head: ParsedHead): void;
  invalid(error: H1Error): void;
  ended(): void;
  aborted(error: Error): void;
  closed(): void;
  timedOut(): void;
}

const connections = new WeakMap<Duplex, ClientConnection>();

export class ClientConnection {
  readonly wire: Wire;
  readonly reader: HeadReader;
  private current: ConnectionEvents | undefined;
  /** One timer for the connection's life, re-armed per stage and per exchange. */
  private timer: NodeJS.Timeout | undefined;
  private timerMs = 0;
  private armed = false;
  /** Armed for silence: the socket's `bytesRead` then; a read since re-arms instead of firing. */
  private readAtArm = -1;

  /** The connection of `socket`, made on its first exchange with `limits`. */
  static of(socket: Duplex, limits: HeadLimits): ClientConnection {
    let connection = connections.get(socket);
    if (!connection) {
      connection = new ClientConnection(socket, limits);
      connections.set(socket, connection);
    }
    return connection;
  }

  private constructor(
    readonly socket: Duplex,
    limits: HeadLimits,
  ) {
    // Errors arrive through the wire and the close; this keeps one from going unhandled.
    socket.on('error', ignore);
    this.wire = new Wire(socket);
    this.reader = new HeadReader(this.wire, 'response', limits, {
      head: (head) => this.current?.head(head),
      invalid: (error) => this.current?.invalid(error),
      ended: () => this.current?.ended(),
      aborted: (error) => this.current?.aborted(error),
    });
    socket.once('close', () => {
      // The timer would hold the connection, and what it last read, until it fired.
      this.armed = false;
      clearTimeout(this.timer);
      connections.delete(socket);
      this.current?.closed();
      // llhttp's parser is native: unless closed it outlives the socket, and holds what it holds.
      this.reader.close();
    });
  }

  /**
   * Tells the current exchange `timedOut()` in `ms`, unless re-armed or disarmed first; with
   * `silence`, only once `ms` pass without a byte read.
   */
  arm(ms: number, silence = false): void {
    this.armed = true;
    this.readAtArm = silence ? this.bytesRead() : -1;
    if (this.timer !== undefined && this.timerMs === ms) {
      this.timer.refresh();
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(this.fire, ms);
    // The connection keeps the process alive while it works; its timer need not.
    this.timer.unref();
    this.timerMs = ms;
  }

  /** Nothing is timed now; the timer is left to fire unheard rather than made again. */
  disarm(): void {
    this.armed = false;
  }

  private bytesRead(): number {
    return (this.socket as Duplex & { bytesRead?: number }).bytesRead ?? 0;
  }

  private readonly fire = (): void => {
    if (!this.armed) return;
    if (this.readAtArm !== -1 && this.bytesRead() !== this.readAtArm) {
      this.arm(this.timerMs, true);
      return;
    }
    this.armed = false;
    this.current?.timedOut();
  };

  /** Gives the connection to an exchange, which reads its response head from now. */
  begin(exchange: ConnectionEvents): void {
    this.current = exchange;
  }

  /**
   * The exchange is over and the connection may carry another: true when nothing is left on it
   * past the response (anything there would be a stray message).
   */
  end(): boolean {
    this.current = undefined;
    return this.wire.heldBytes === 0;
  }

  /** The connection leaves HTTP (closed, failed or taken over): returns the bytes read ahead. */
  release(): Uint8Array {
    this.current = undefined;
    this.armed = false;
    clearTimeout(this.timer);
    connections.delete(this.socket);
    this.reader.close();
    return this.wire.detach();
  }
}
