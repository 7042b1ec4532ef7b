import type { H1Error } from '@h1kit/headers';
import { type HeadLimits, HeadParser, type ParsedHead } from './llhttp.js';
import type { Wire, WireConsumer } from './wire.js';

/** What a head reader tells its owner: each callback ends the read, having left the wire. */
export interface HeadEvents {
  /** The first byte of a head arrived (a head timeout may start here). */
  started?(): void;
  /** A head is complete; the bytes after it are back on the wire for the body or next head. */
  head(head: ParsedHead): void;
  /** The head is malformed or over a limit. */
  invalid(error: H1Error): void;
  /** The peer finished sending before a head was complete. */
  ended(): void;
  /** The connection failed under the read. */
  aborted(error: Error): void;
}

/**
 * Reads one head at a time off a wire, for either role: `read()` takes the wire until a head is
 * complete (or fails), then gives it back with the bytes that follow the head in front.
 */
export class HeadReader implements WireConsumer {
  private readonly parser: HeadParser;
  private started = false;

  constructor(
    private readonly wire: Wire,
    kind: 'request' | 'response',
    limits: HeadLimits,
    private readonly events: HeadEvents,
  ) {
    this.parser = new HeadParser(kind, limits);
  }

  /** Starts reading the next head. */
  read(): void {
    this.parser.reset();
    this.started = false;
    this.wire.attach(this);
  }

  /** Frees llhttp's parser; the reader cannot read after this. */
  close(): void {
    this.parser.close();
  }

  bytes(chunk: Uint8Array): void {
    if (!this.started) {
      this.started = true;
      this.events.started?.();
    }
    let used: number;
    try {
      used = this.parser.execute(chunk);
    } catch (error) {
      this.wire.leave(this);
      this.events.invalid(error as H1Error);
      return;
    }
    if (used === -1) return;
    this.wire.leave(this, chunk.subarray(used));
    this.events.head(this.parser.head!);
  }

  end(): void {
    this.wire.leave(this);
    this.events.ended();
  }

  abort(error: Error): void {
    this.wire.leave(this);
    this.events.aborted(error);
  }
}
