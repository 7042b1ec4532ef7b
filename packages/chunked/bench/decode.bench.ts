// Decoding the same chunked wire bytes with h1kit and with llhttp (Node's own parser, driven
// through HTTPParser exactly as node:http drives it), then encoding against node:http's own
// chunked framing in ServerResponse.write.
import { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { ChunkedDecoder, encodeChunk, encodeLastChunk } from '@h1kit/chunked';
import { batch, compare, quick } from '../../../scripts/bench-kit.js';

interface Parser {
  initialize(type: number, resource: object, maxHeaderSize?: number, lenient?: number): void;
  execute(data: Uint8Array): number | Error;
  [callback: number]: unknown;
}
const { HTTPParser } = createRequire(import.meta.url)('_http_common') as {
  HTTPParser: {
    new (): Parser;
    REQUEST: number;
    kOnHeadersComplete: number;
    kOnBody: number;
    kOnMessageComplete: number;
  };
};

// --quick decodes 4 MiB: one pass over 64 MiB in 16 B chunks takes llhttp most of a second.
const PAYLOAD = (quick ? 4 : 64) * 1024 * 1024;
const PAYLOAD_NAME = `${PAYLOAD / 1024 / 1024} MiB`;
const READ = 64 * 1024;
const HEAD = Buffer.from('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');

/** The whole body for one chunk size, built with our encoder, cut into socket-sized reads. */
function wireReads(chunkSize: number): { reads: Buffer[]; wireBytes: number } {
  const data = Buffer.alloc(chunkSize, 0x61);
  const frame = Buffer.concat(encodeChunk(data));
  const wire = Buffer.allocUnsafe((PAYLOAD / chunkSize) * frame.length + 5);
  for (let at = 0; at < wire.length - 5; at += frame.length) frame.copy(wire, at);
  wire.set(encodeLastChunk(), wire.length - 5);
  const reads: Buffer[] = [];
  for (let at = 0; at < wire.length; at += READ) reads.push(wire.subarray(at, at + READ));
  return { reads, wireBytes: wire.length };
}

function h1kitDecode(reads: Buffer[]): number {
  const decoder = new ChunkedDecoder();
  let body = 0;
  for (let i = 0; i < reads.length; i++) {
    const { data } = decoder.push(reads[i]!);
    for (let j = 0; j < data.length; j++) body += data[j]!.length;
  }
  decoder.finish();
  return body;
}

const parser = new HTTPParser();
let llhttpBody = 0;
let llhttpComplete = false;
parser[HTTPParser.kOnHeadersComplete] = () => 0;
parser[HTTPParser.kOnBody] = (chunk: Buffer) => {
  llhttpBody += chunk.length;
};
parser[HTTPParser.kOnMessageComplete] = () => {
  llhttpComplete = true;
};

function llhttpDecode(reads: Buffer[]): number {
  parser.initialize(HTTPParser.REQUEST, {}, 0, 0);
  llhttpBody = 0;
  llhttpComplete = false;
  parser.execute(HEAD);
  for (let i = 0; i < reads.length; i++) {
    const result = parser.execute(reads[i]!);
    if (typeof result !== 'number') throw result;
  }
  if (!llhttpComplete) throw new Error('llhttp did not complete the message');
  return llhttpBody;
}

const targets: Record<number, number> = { 16: 10, 256: 5, 4096: 2, 65536: 2 };
for (const chunkSize of [16, 256, 4096, 65536]) {
  const { reads, wireBytes } = wireReads(chunkSize);
  // Both read the full payload; say so before timing them.
  if (h1kitDecode(reads) !== PAYLOAD || llhttpDecode(reads) !== PAYLOAD) {
    throw new Error('a decoder lost payload');
  }
  await compare({
    title: `decode ${PAYLOAD_NAME} payload in ${chunkSize} B chunks, 64 KiB reads (MB/s of wire)`,
    unit: 'MB/s',
    perOp: wireBytes / 1e6,
    targets: [{ ratio: targets[chunkSize]! }],
    iterations: 1,
    time: chunkSize === 16 ? 4000 : 2000,
    contenders: [
      { name: 'llhttp HTTPParser', role: 'peer', fn: () => llhttpDecode(reads) },
      { name: 'h1kit ChunkedDecoder', role: 'ours', fn: () => h1kitDecode(reads) },
    ],
  });
  (globalThis as { gc?: () => void }).gc?.();
}

// node:http's chunked path, measured without a socket: ServerResponse.write frames each chunk
// (hex size string, CRLF, data, CRLF) and, with no socket attached, queues the pieces in
// `outputData`, which is emptied after every batch. The socket write itself is not measured on
// either side; encodeChunk likewise returns its pieces for the caller's writev.
type QueuedResponse = ServerResponse & { outputData: unknown[]; outputSize: number };
const req = new IncomingMessage(new Socket());
req.method = 'POST';
req.httpVersionMajor = 1;
req.httpVersionMinor = 1;
const res = new ServerResponse(req) as QueuedResponse;
res.write('');
if (!(res as unknown as { chunkedEncoding: boolean }).chunkedEncoding) {
  throw new Error('ServerResponse did not choose chunked encoding');
}
const BATCH = 1000;
let sink = 0;
const drain = (fn: () => void) => () => {
  batch(BATCH, fn)();
  res.outputData.length = 0;
  res.outputSize = 0;
};
/** One batch of writes cycling through `sizes`; encodeChunk reuses size lines for sizes it saw. */
async function encodeComparison(title: string, sizes: number[]): Promise<void> {
  const pool = Buffer.alloc(Math.max(...sizes), 0x61);
  const writes = sizes.map((size) => pool.subarray(0, size));
  const payload = (BATCH / writes.length) * writes.reduce((sum, w) => sum + w.length, 0);
  let i = 0;
  await compare({
    title,
    unit: 'MB/s',
    perOp: payload / 1e6,
    contenders: [
      {
        name: 'node:http res.write',
        role: 'peer',
        fn: drain(() => {
          res.write(writes[i++ % writes.length]!);
        }),
      },
      {
        name: 'h1kit encodeChunk',
        role: 'ours',
        fn: drain(() => {
          sink += encodeChunk(writes[i++ % writes.length]!).length;
        }),
      },
    ],
  });
}
for (const chunkSize of [16, 256, 4096, 65536]) {
  await encodeComparison(`encode ${chunkSize} B chunks, framing only (MB/s of payload)`, [
    chunkSize,
  ]);
}
// Sizes that rarely repeat, so that encodeChunk builds a size line for nearly every chunk.
const mixed = Array.from({ length: BATCH }, (_, k) => 16 + ((k * 7919) % 4081));
await encodeComparison(
  'encode 1000 distinct sizes, 16 B to 4 KiB, framing only (MB/s of payload)',
  mixed,
);
if (sink === 0) console.log('');
