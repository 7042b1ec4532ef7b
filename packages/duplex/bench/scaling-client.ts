// The load of the scaling benchmark: `connections` raw sockets, each holding one chunked POST
// whose body is a stream of 1 KiB messages, each sent once the echo of the one before has fully
// come back. The request framing is written and the response framing read here by hand, not by
// @h1kit/chunked, so that the client does not share a bug with the servers it measures.
import { connect, type Socket } from 'node:net';

export const MESSAGE_BYTES = 1024;

const HEAD = Buffer.from(
  'POST /echo HTTP/1.1\r\nHost: bench\r\nTransfer-Encoding: chunked\r\n\r\n',
  'latin1',
);
const SIZE_LINE = Buffer.from(`${MESSAGE_BYTES.toString(16)}\r\n`, 'latin1');
const PAYLOAD_AT = SIZE_LINE.length;
const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const MAX_HEAD = 16 * 1024;
/** Bytes 0..255 over and over: with the stamps below, a byte echoed out of place shows. */
const PATTERN = Buffer.from(Uint8Array.from({ length: MESSAGE_BYTES }, (_, i) => i & 0xff));
const CR = 13;
const LF = 10;

/**
 * Connections opened at a time, each batch established before the next: far below the
 * servers' accept backlog (511), so no SYN is dropped and retried a second later.
 */
const BATCH = 64;
/** A phase that takes this long has a stuck connection: fail rather than hang. */
const STUCK_MS = 15_000;

/**
 * Every socket's reads land in this one buffer (Node's `onread`), consumed before the callback
 * returns: a fresh allocation per read, as a 'data' listener takes, would be client work that
 * grows with the message rate and ends up measured instead of the servers.
 */
const READ = Buffer.allocUnsafeSlow(64 * 1024);

// Where a connection's response parser is.
const HEAD_STATE = 0;
const SIZE = 1;
const EXTENSION = 2;
const SIZE_LF = 3;
const DATA = 4;
const DATA_CR = 5;
const DATA_LF = 6;
const TRAILER_START = 7;
const TRAILER_LINE = 8;
const END_LF = 9;
const DONE = 10;

// Where the whole load is.
const ESTABLISHING = 0;
const WARMING = 1;
const MEASURING = 2;
const STOPPING = 3;

export interface LoadOptions {
  port: number;
  connections: number;
  warmMs: number;
  measureMs: number;
  /** The server's CPU time so far in ms, read at both ends of the measured window. */
  serverCpu?: () => Promise<number>;
}

export interface LoadResult {
  messagesPerSecond: number;
  p50: number;
  p99: number;
  /** Wall time of the measured window, and each side's CPU time over it, in ms. */
  wallMs: number;
  clientCpuMs: number;
  serverCpuMs: number;
  /** The fewest and most messages one connection completed in the window. */
  fewest: number;
  most: number;
}

/** Hex digit value of byte `c`, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

class Run {
  phase = ESTABLISHING;
  latencies: number[] = [];
  readonly links: Link[] = [];
  readonly failed: Promise<never>;
  private fail_!: (error: Error) => void;
  private failure: Error | undefined;

  constructor(readonly port: number) {
    this.failed = new Promise<never>((_, reject) => {
      this.fail_ = reject;
    });
    // Raced by every wait below; a failure no wait is racing yet must not count as unhandled.
    this.failed.catch(() => {});
  }

  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.destroy();
    this.fail_(error);
  }

  destroy(): void {
    for (const link of this.links) link.socket.destroy();
  }

  /** `promise`, unless the run fails first or it takes longer than STUCK_MS. */
  async guard<T>(promise: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what}: no progress in ${STUCK_MS} ms`)),
        STUCK_MS,
      );
    });
    try {
      return await Promise.race([promise, this.failed, stuck]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** One connection and its one exchange. */
class Link {
  readonly socket: Socket;
  readonly established: Promise<void>;
  readonly closed: Promise<void>;
  /** Messages completed while the run was measuring. */
  measured = 0;
  private establish!: () => void;
  private close!: () => void;
  /** `SIZE_LINE`, the payload, CRLF: stamped and written anew for every message. */
  private frame: Buffer;
  private seq = 0;
  private sentAt = 0;
  /** Payload bytes of the message in flight echoed so far; -1 when none is in flight. */
  private received = -1;
  private ready = false;
  private lastSent = false;
  private state = HEAD_STATE;
  private head: Buffer | undefined = Buffer.alloc(0);
  /** The chunk size being read, then what is left of the chunk's data. */
  private size = 0;
  private digits = 0;

  constructor(
    private readonly run: Run,
    private readonly id: number,
  ) {
    this.established = new Promise((resolve) => {
      this.establish = resolve;
    });
    this.closed = new Promise((resolve) => {
      this.close = resolve;
    });
    this.frame = Buffer.concat([SIZE_LINE, PATTERN, CRLF]);
    this.frame.writeUInt32LE(id, PAYLOAD_AT);
    this.socket = connect({
      port: run.port,
      host: '127.0.0.1',
      noDelay: true,
      onread: {
        buffer: READ,
        callback: (size: number, buffer: Uint8Array) => {
          try {
            this.onBytes(buffer as Buffer, 0, size);
          } catch (error) {
            run.fail(error as Error);
          }
          return true;
        },
      },
    });
    this.socket.on('error', (error) => run.fail(error));
    this.socket.on('end', () => {
      if (this.state !== DONE) run.fail(this.error('the server ended the connection'));
    });
    this.socket.on('close', () => {
      if (this.state === DONE) this.close();
      else run.fail(this.error('the connection closed'));
    });
    // The first message opens the exchange and is not timed: the head, then the first chunk.
    this.stamp();
    this.received = 0;
    this.socket.write(Buffer.concat([HEAD, this.frame]));
  }

  send(): void {
    this.stamp();
    this.received = 0;
    this.sentAt = performance.now();
    this.socket.write(this.frame);
  }

  private error(what: string): Error {
    return new Error(
      `connection ${this.id}, message ${this.seq}: ${what} (${this.received} of ${MESSAGE_BYTES} bytes echoed, parser state ${this.state})`,
    );
  }

  /** The next message's sequence number, in the first and last words of its payload. */
  private stamp(): void {
    // Bytes still queued in the socket are the frame's own: stamp a copy instead.
    if (this.socket.writableLength > 0) {
      this.frame = Buffer.from(this.frame);
    }
    this.seq++;
    this.frame.writeUInt32LE(this.seq, PAYLOAD_AT + 4);
    this.frame.writeUInt32LE(this.seq, PAYLOAD_AT + MESSAGE_BYTES - 4);
  }

  /** The echoed payload bytes `buffer[at, at + n)`: they must be the next ones sent. */
  private echoed(buffer: Buffer, at: number, n: number): void {
    if (this.received < 0 || this.received + n > MESSAGE_BYTES) {
      throw this.error(`the server echoed ${n} bytes more than it was sent`);
    }
    const from = PAYLOAD_AT + this.received;
    if (buffer.compare(this.frame, from, from + n, at, at + n) !== 0) {
      throw this.error('the echoed bytes differ from those sent');
    }
    this.received += n;
    if (this.received === MESSAGE_BYTES) this.complete();
  }

  private complete(): void {
    const now = performance.now();
    this.received = -1;
    const run = this.run;
    if (!this.ready) {
      this.ready = true;
      this.establish();
      return;
    }
    if (run.phase === MEASURING) {
      run.latencies.push(now - this.sentAt);
      this.measured++;
    }
    if (run.phase !== STOPPING) {
      this.send();
      return;
    }
    this.lastSent = true;
    this.socket.write(LAST_CHUNK);
  }

  /** The response's bytes `buffer[at, end)`: its head once, then chunks. */
  private onBytes(buffer: Buffer, at: number, end: number): void {
    while (at < end) {
      switch (this.state) {
        case HEAD_STATE: {
          // Once per connection: the head is short, and copying it whole is simplest.
          const head = Buffer.concat([this.head!, buffer.subarray(at, end)]);
          const headEnd = head.indexOf(HEAD_END);
          if (headEnd === -1) {
            if (head.length > MAX_HEAD) throw this.error('a response head over 16 KiB');
            this.head = head;
            return;
          }
          this.head = undefined;
          const text = head.toString('latin1', 0, headEnd + 2).toLowerCase();
          if (
            !text.startsWith('http/1.1 200 ') ||
            !text.includes('\r\ntransfer-encoding: chunked\r\n')
          ) {
            throw this.error(`not a chunked 200 response: ${JSON.stringify(text)}`);
          }
          this.state = SIZE;
          buffer = head;
          at = headEnd + HEAD_END.length;
          end = head.length;
          break;
        }
        case SIZE: {
          const digit = hexValue(buffer[at]!);
          if (digit >= 0) {
            if (++this.digits > 6) throw this.error('a chunk size over 16 MiB');
            this.size = this.size * 16 + digit;
            at++;
            break;
          }
          if (this.digits === 0) throw this.error('a chunk-size line without a size');
          this.state = buffer[at] === CR ? SIZE_LF : EXTENSION;
          at++;
          break;
        }
        case EXTENSION: {
          // Chunk extensions (and whitespace before them) are allowed, and mean nothing here.
          const cr = buffer.indexOf(CR, at);
          if (cr === -1 || cr >= end) return;
          this.state = SIZE_LF;
          at = cr + 1;
          break;
        }
        case SIZE_LF:
          if (buffer[at++] !== LF) throw this.error('a chunk-size line not ended by CRLF');
          this.state = this.size === 0 ? TRAILER_START : DATA;
          if (this.size === 0 && !this.lastSent) {
            throw this.error('the server ended the response before the request');
          }
          break;
        case DATA: {
          const n = Math.min(this.size, end - at);
          this.size -= n;
          if (this.size === 0) this.state = DATA_CR;
          this.echoed(buffer, at, n);
          at += n;
          break;
        }
        case DATA_CR:
          if (buffer[at++] !== CR) throw this.error('chunk data not followed by CRLF');
          this.state = DATA_LF;
          break;
        case DATA_LF:
          if (buffer[at++] !== LF) throw this.error('chunk data not followed by CRLF');
          this.state = SIZE;
          this.digits = 0;
          break;
        case TRAILER_START:
          this.state = buffer[at] === CR ? END_LF : TRAILER_LINE;
          at++;
          break;
        case TRAILER_LINE: {
          const lf = buffer.indexOf(LF, at);
          if (lf === -1 || lf >= end) return;
          this.state = TRAILER_START;
          at = lf + 1;
          break;
        }
        case END_LF:
          if (buffer[at++] !== LF) throw this.error('a trailer section not ended by CRLF');
          this.state = DONE;
          // The exchange is over: close the connection as a client done with it does.
          this.socket.end();
          break;
        default:
          throw this.error('bytes after the end of the response');
      }
    }
  }
}

/**
 * Opens the connections in batches, each exchange established by one untimed message; then
 * every connection exchanges messages for `warmMs`, then for `measureMs` timed; then each ends
 * its request body once its message in flight is back, reads the end of the response and
 * closes. Rejects, with every socket destroyed, on any byte echoed wrong.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const run = new Run(options.port);
  try {
    for (let opened = 0; opened < options.connections; ) {
      const batch: Promise<void>[] = [];
      for (const last = Math.min(options.connections, opened + BATCH); opened < last; opened++) {
        const link = new Link(run, opened);
        run.links.push(link);
        batch.push(link.established);
      }
      await run.guard(Promise.all(batch), 'opening connections');
    }
    run.phase = WARMING;
    for (const link of run.links) link.send();
    await run.guard(sleep(options.warmMs), 'warming up');

    const serverBefore = await run.guard(options.serverCpu?.() ?? zero(), 'asking the server');
    run.latencies = [];
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    run.phase = MEASURING;
    await run.guard(sleep(options.measureMs), 'measuring');
    run.phase = STOPPING;
    const wallMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const serverAfter = await run.guard(options.serverCpu?.() ?? zero(), 'asking the server');
    await run.guard(Promise.all(run.links.map((link) => link.closed)), 'closing connections');

    const latencies = Float64Array.from(run.latencies).sort();
    if (latencies.length === 0) throw new Error('no message came back in the measured window');
    const counts = run.links.map((link) => link.measured);
    return {
      messagesPerSecond: latencies.length / (wallMs / 1000),
      p50: latencies[Math.floor(latencies.length * 0.5)]!,
      p99: latencies[Math.floor(latencies.length * 0.99)]!,
      wallMs,
      clientCpuMs: (cpu.user + cpu.system) / 1000,
      serverCpuMs: serverAfter - serverBefore,
      fewest: Math.min(...counts),
      most: Math.max(...counts),
    };
  } finally {
    run.destroy();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function zero(): Promise<number> {
  return 0;
}
