// BufferedReader over a loopback socket: readLine over 64 MiB of short lines, and readFull of
// 64 KiB blocks, against Node's readline module and plain `for await` over the same socket.
//
// Why a loopback socket rather than a Readable fed from memory: sockets are what the reader is
// for, and only a socket gives the real chunking (64 KiB reads cut anywhere in a line) and the
// real flow control (pause/resume become readStop/readStart). Every contender pays the same
// kernel copy, so the ratios show what each way of reading adds on top of it.
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { BufferedReader } from '@h1kit/bufio';
import { compare } from '../../../scripts/bench-kit.js';

const MiB = 1 << 20;
const TOTAL = 64 * MiB;

/** Short lines, 8 to 56 bytes with their CRLF, like the field lines of HTTP heads. */
function shortLines(): { bytes: Buffer; lines: number } {
  const bytes = Buffer.allocUnsafe(TOTAL);
  let at = 0;
  let lines = 0;
  let seed = 1;
  while (at < TOTAL) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const n = Math.min(6 + (seed % 49), TOTAL - at - 2);
    for (let i = 0; i < n; i++) bytes[at + i] = 0x61 + ((seed >>> (i % 24)) % 26);
    at += Math.max(n, 0);
    bytes[at++] = 0x0d;
    bytes[at++] = 0x0a;
    lines++;
  }
  return { bytes: bytes.subarray(0, at), lines };
}

const text = shortLines();
const blocks = Buffer.alloc(TOTAL, 0x42);

/** A server that sends `payload` to each connection and ends it. */
async function serve(payload: Buffer): Promise<() => Promise<Socket>> {
  const server = createServer((socket) => socket.end(payload));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.unref();
  const port = (server.address() as { port: number }).port;
  return async () => {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return socket;
  };
}

const dialText = await serve(text.bytes);
const dialBlocks = await serve(blocks);

// --- readLine ---------------------------------------------------------------------------------

async function readlineModule(): Promise<number> {
  const rl = createInterface({ input: await dialText(), crlfDelay: Number.POSITIVE_INFINITY });
  let lines = 0;
  rl.on('line', () => {
    lines++;
  });
  await once(rl, 'close');
  return lines;
}

/** readline's own async form: one awaited step per line, as with readLine. */
async function readlineForAwait(): Promise<number> {
  const rl = createInterface({ input: await dialText(), crlfDelay: Number.POSITIVE_INFINITY });
  let lines = 0;
  for await (const _ of rl) lines++;
  return lines;
}

async function forAwaitBytes(dial: () => Promise<Socket>): Promise<number> {
  let bytes = 0;
  for await (const chunk of await dial()) bytes += (chunk as Buffer).length;
  return bytes;
}

async function bufioReadLine(): Promise<number> {
  const reader = new BufferedReader(await dialText());
  let lines = 0;
  while ((await reader.readLine()) !== null) lines++;
  return lines;
}

// --- readFull ---------------------------------------------------------------------------------

const BLOCK = 65536;

/** Node's own exact-size reads: `read(n)` in paused mode gives n bytes or null (the rest at the end). */
async function readableRead(): Promise<number> {
  const socket = await dialBlocks();
  let n = 0;
  socket.on('readable', () => {
    for (let block = socket.read(BLOCK); block !== null; block = socket.read(BLOCK)) {
      n += (block as Buffer).length;
    }
  });
  await once(socket, 'end');
  return n;
}

async function bufioReadFull(): Promise<number> {
  const reader = new BufferedReader(await dialBlocks());
  let n = 0;
  for (
    let block = await reader.readFull(BLOCK);
    block !== null;
    block = await reader.readFull(BLOCK)
  ) {
    n += block.length;
  }
  return n;
}

// Each contender reads the whole payload; say so before timing them.
const expected = { lines: text.lines, bytes: text.bytes.length };
const checks = {
  'readline lines': [await readlineModule(), expected.lines],
  'readline for await lines': [await readlineForAwait(), expected.lines],
  'readLine lines': [await bufioReadLine(), expected.lines],
  'for await bytes': [await forAwaitBytes(dialText), expected.bytes],
  'read(65536) bytes': [await readableRead(), TOTAL],
  'readFull bytes': [await bufioReadFull(), TOTAL],
};
for (const [name, [got, want]] of Object.entries(checks)) {
  if (got !== want) throw new Error(`${name}: ${got}, expected ${want}`);
}
console.log(
  `payloads: ${text.lines} lines averaging ${(text.bytes.length / text.lines).toFixed(1)} bytes (${(text.bytes.length / MiB).toFixed(0)} MiB); ${TOTAL / MiB} MiB in 64 KiB blocks; loopback TCP`,
);

const timing = { unit: 'MB/s', time: 1000, rounds: 7, iterations: 1, warmup: false } as const;

await compare({
  title: 'readLine over 64 MiB of short CRLF lines, loopback socket',
  perOp: text.bytes.length / 1e6,
  ...timing,
  contenders: [
    { name: "readline 'line' events", role: 'peer', fn: readlineModule },
    { name: 'readline for await', role: 'peer', fn: readlineForAwait },
    { name: 'for await (no split)', role: 'peer', fn: () => forAwaitBytes(dialText) },
    { name: 'BufferedReader.readLine', role: 'ours', fn: bufioReadLine },
  ],
});

await compare({
  title: 'readFull(64 KiB) over 64 MiB, loopback socket',
  perOp: TOTAL / 1e6,
  ...timing,
  contenders: [
    { name: 'for await (chunks as read)', role: 'peer', fn: () => forAwaitBytes(dialBlocks) },
    { name: 'socket.read(65536)', role: 'peer', fn: readableRead },
    { name: 'BufferedReader.readFull', role: 'ours', fn: bufioReadFull },
  ],
});
