// The client side of memory.bench.ts: the request body every run sends, the two ways of sending
// it (to a sink that reads slowly, to an echo read slowly), and the server's RSS off /proc.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { crc32 } from 'node:zlib';
import { ChunkedDecoder, encodeChunk } from '@h1kit/chunked';

const KiB = 1024;
export const PIECE = 64 * KiB;
/**
 * The request body cycles through this many distinct 64 KiB pieces of random bytes, each encoded
 * as a chunk once: a prime count, so that a piece lost, repeated or moved changes the checksum,
 * and the client spends its core on writing rather than on making bytes.
 */
const DISTINCT = 17;
const LAST_CHUNK = Buffer.from('0\r\n\r\n');

/** The field that tells a sink the rate to read at, in bytes/s; absent, as fast as it can. */
export const READ_RATE = 'x-read-rate';

/** What a sink answers with, and what a client checks: how many body bytes, and their CRC-32. */
export interface Tally {
  bytes: number;
  crc32: number;
}

export interface Payload {
  pieces: Buffer[];
  chunks: Buffer[];
}

/** Called in the client only: the server processes load this module too, and must not carry it. */
export function makePayload(): Payload {
  const pieces = Array.from({ length: DISTINCT }, () => randomBytes(PIECE));
  return { pieces, chunks: pieces.map((piece) => Buffer.concat(encodeChunk(piece))) };
}

const expected = new Map<number, number>();

/** The CRC-32 of the first `volume` bytes of the request body, computed once per volume. */
function checksumOf(payload: Payload, volume: number): number {
  let value = expected.get(volume);
  if (value === undefined) {
    value = 0;
    for (let i = 0; i < volume / PIECE; i++) value = crc32(payload.pieces[i % DISTINCT]!, value);
    expected.set(volume, value);
  }
  return value;
}

function check(what: string, payload: Payload, volume: number, got: Tally): void {
  if (got.bytes !== volume || got.crc32 !== checksumOf(payload, volume)) {
    throw new Error(
      `${what}: ${got.bytes} bytes of ${volume}${got.bytes === volume ? ', other bytes than sent (CRC-32 differs)' : ''}`,
    );
  }
}

function requestHead(target: string, fields = ''): Buffer {
  return Buffer.from(
    `POST ${target} HTTP/1.1\r\nHost: bench\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n${fields}\r\n`,
  );
}

/** Writes `volume` bytes of body as fast as the socket drains, then the last-chunk. */
function writeBody(socket: Socket, payload: Payload, volume: number): void {
  let sent = 0;
  let next = 0;
  const more = (): void => {
    while (sent < volume) {
      const chunk = payload.chunks[next]!;
      next = (next + 1) % DISTINCT;
      sent += PIECE;
      if (!socket.write(chunk)) {
        socket.once('drain', more);
        return;
      }
    }
    socket.write(LAST_CHUNK);
  };
  more();
}

/**
 * Fails the run when no byte has moved for this long: a server that lets backpressure jam
 * deadlocks rather than fails, and a bench must not hang.
 */
const STALL_MS = 30_000;

function watchdog(socket: Socket, progress: () => number): () => void {
  let last = -1;
  const timer = setInterval(() => {
    const now = progress();
    if (now === last) socket.destroy(new Error(`no byte moved for ${STALL_MS / 1000} s`));
    last = now;
  }, STALL_MS);
  return () => clearInterval(timer);
}

/** `field` of /proc/<pid>/status, in KiB. */
export function statusKiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const match = new RegExp(`^${field}:\\s*(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

/** The end of a run: how long it took, and the server's peak RSS once the stream was through. */
export interface Run {
  ms: number;
  peakKiB: number;
}

/** One way of streaming `volume` bytes through the server `pid` listening on `port`. */
export type Scenario = (
  port: number,
  pid: number,
  payload: Payload,
  volume: number,
  rate: number,
) => Promise<Run>;

/**
 * (a) Uploads `volume` bytes to the sink, asking it to read at `rate` bytes/s (0: as fast as it
 * can), and checks the tally it answers with.
 */
export const upload: Scenario = (port, pid, payload, volume, rate) => {
  const started = performance.now();
  return new Promise<Run>((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    const answer: Buffer[] = [];
    const stopWatching = watchdog(socket, () => socket.bytesWritten);
    socket.on('data', (chunk: Buffer) => answer.push(chunk));
    socket.on('error', (error) => {
      stopWatching();
      reject(error);
    });
    socket.on('end', () => {
      stopWatching();
      try {
        // The sink has read the whole body once it answers: its high-water mark is now final.
        const peakKiB = statusKiB(pid, 'VmHWM');
        const text = Buffer.concat(answer).toString('latin1');
        const end = text.indexOf('\r\n\r\n');
        if (!text.startsWith('HTTP/1.1 200 ') || end === -1) {
          throw new Error(`sink answered ${text.slice(0, 200)}`);
        }
        check('sink read', payload, volume, JSON.parse(text.slice(end + 4)) as Tally);
        resolve({ ms: performance.now() - started, peakKiB });
      } catch (error) {
        reject(error);
      }
      socket.destroy();
    });
    const fields = rate > 0 ? `X-Read-Rate: ${Math.round(rate)}\r\n` : '';
    socket.write(requestHead('/sink', fields));
    writeBody(socket, payload, volume);
  });
};

/**
 * (b) Sends `volume` bytes to the echo and reads the echo at `rate` bytes/s (0: as it comes):
 * the socket is paused until the schedule catches up, so the kernel's buffers fill and the
 * server has to hold back what it would send, and then what it would read.
 */
export const echo: Scenario = (port, pid, payload, volume, rate) => {
  const started = performance.now();
  return new Promise<Run>((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    const decoder = new ChunkedDecoder();
    let head: Buffer | undefined = Buffer.alloc(0);
    const tally: Tally = { bytes: 0, crc32: 0 };
    let firstByte = 0;
    const stopWatching = watchdog(socket, () => socket.bytesRead + socket.bytesWritten);
    const fail = (error: unknown): void => {
      stopWatching();
      socket.destroy();
      reject(error);
    };
    socket.on('error', fail);
    socket.on('end', () => fail(new Error(`echo ended after ${tally.bytes} bytes of ${volume}`)));
    socket.on('data', (chunk: Buffer) => {
      let bytes: Buffer = chunk;
      if (head !== undefined) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        const text = head.toString('latin1', 0, end);
        if (!text.startsWith('HTTP/1.1 200 ') || !/\r\ntransfer-encoding: *chunked/i.test(text)) {
          fail(new Error(`echo answered ${text}`));
          return;
        }
        bytes = head.subarray(end + 4);
        head = undefined;
        firstByte = performance.now();
      }
      let pushed: ReturnType<ChunkedDecoder['push']>;
      try {
        pushed = decoder.push(bytes);
      } catch (error) {
        fail(error);
        return;
      }
      for (const data of pushed.data) {
        tally.crc32 = crc32(data, tally.crc32);
        tally.bytes += data.length;
      }
      if (pushed.done) {
        stopWatching();
        const peakKiB = statusKiB(pid, 'VmHWM');
        socket.destroy();
        try {
          check('echo gave', payload, volume, tally);
          resolve({ ms: performance.now() - started, peakKiB });
        } catch (error) {
          reject(error);
        }
        return;
      }
      if (rate > 0) {
        // Cumulative, as the sink's pace: a millisecond-coarse timer still keeps the average.
        const wait = firstByte + (tally.bytes / rate) * 1000 - performance.now();
        if (wait >= 1) {
          socket.pause();
          setTimeout(() => socket.resume(), wait);
        }
      }
    });
    socket.write(requestHead('/echo'));
    writeBody(socket, payload, volume);
  });
};
