// Peak RSS of a server while 1 GiB streams through one duplex exchange whose consumer reads ten
// times slower than the producer writes (the issue's target: under 64 MiB whatever the volume).
// Two scenarios, each its own comparison:
//   (a) the handler is the slow consumer: the client writes a chunked request body as fast as
//       the socket takes it, and the handler reads it at a tenth of the rate it reads unthrottled;
//   (b) the client is the slow consumer: the handler echoes the request body and the client reads
//       the echo at a tenth of the unthrottled echo rate, so backpressure has to run from the
//       response's socket back through the exchange to the request's.
// A server that buffers what its consumer has not taken grows with the volume; one that holds
// backpressure stays near its idle size. The ceiling is a raw `net` socket doing the same work
// with no HTTP server at all: what a Node process doing this costs, whatever its server.
//
// Every measurement is a fresh server process (this file, started with --serve KIND), so that its
// VmHWM (the kernel's high-water mark of its RSS) is the peak of that one run. The body bytes are
// counted and checksummed at both ends, and a run that lost, added or moved one throws before any
// figure is printed.
//
// Reading the figure: on Node 20 here an idle server process is already about 48 MiB (42 MiB of
// it the node binary's own mapped pages), and most of the rest is 64 KiB socket read buffers
// that wait for a full GC: they live long enough in a paced stream to leave the young
// generation. Forcing a GC every 100 ms (H1_BENCH_MEMORY_GC_MS=100, 1 GiB) brought the peaks to
// 61-67 MiB for the raw socket and node:http and 62-80 MiB for h1kit. The note after each table
// gives the idle RSS and the growth over it.
//   H1_BENCH_MEMORY_MIB   volume per run (default 1024; 64 under --quick)
//   H1_BENCH_ROUNDS       rounds (default 3; 1 under --quick), each on fresh processes
//   H1_BENCH_MEMORY_SERIAL=1  one server at a time instead of a round's servers side by side
//   H1_BENCH_MEMORY_GC_MS     every server process forces a full GC this often (pnpm bench runs
//                             processes with --expose-gc): the peak with garbage kept out of it
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import { ChunkedDecoder } from '@h1kit/chunked';
import { quick, summarize } from '../../../scripts/bench-kit.js';
import {
  echo,
  makePayload,
  PIECE,
  READ_RATE,
  type Scenario,
  statusKiB,
  type Tally,
  upload,
} from './memory-clients.js';
import { cores, pin, serveH1kit, serving, startServer, stopServer } from './server-processes.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const RAW = 'raw net socket (ceiling)';
const NODE = 'node:http';
const SERVERS = [RAW, NODE, 'h1kit standalone', 'h1kit hijack on node:http'] as const;
type Kind = (typeof SERVERS)[number];

// ---------------------------------------------------------------------------------------------
// The servers: on each, /sink reads the request body at the rate the request asks for and answers
// with its tally, /echo sends the request body back as it comes.

/**
 * Reads `body` whole at no more than `rate` bytes/s (0: unthrottled) and tallies it. The schedule
 * is cumulative (the n-th byte not before start + n/rate), so that timers a millisecond coarse
 * still keep the average and a late wake-up is made up rather than lost.
 */
async function consume(body: AsyncIterable<Uint8Array>, rate: number): Promise<string> {
  const tally: Tally = { bytes: 0, crc32: 0 };
  let start = 0;
  for await (const chunk of body) {
    if (tally.bytes === 0) start = performance.now();
    tally.crc32 = crc32(chunk, tally.crc32);
    tally.bytes += chunk.length;
    if (rate > 0) {
      const wait = start + (tally.bytes / rate) * 1000 - performance.now();
      if (wait >= 1) await sleep(wait);
    }
  }
  return JSON.stringify(tally);
}

function rateOf(value: string | string[] | undefined): number {
  const rate = Number(Array.isArray(value) ? value[0] : (value ?? 0));
  return Number.isFinite(rate) && rate > 0 ? rate : 0;
}

/** The whole answer of a sink, for the servers that write their own bytes. */
function answer(reply: string): string {
  return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${reply.length}\r\nConnection: close\r\n\r\n${reply}`;
}

/**
 * The ceiling's exchange: the head read off the socket by hand, then the echo piped back whole or
 * the body consumed as the chunked decoder's views of each read (never copies, so the ceiling
 * holds nothing a server would not).
 */
function rawExchange(socket: Socket): void {
  let buffered = Buffer.alloc(0);
  const onHead = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf('\r\n\r\n');
    if (end === -1) return;
    socket.off('data', onHead);
    socket.pause();
    const head = buffered.toString('latin1', 0, end);
    const rest = buffered.subarray(end + 4);
    if (head.startsWith('POST /echo ')) {
      // The request body is already chunked: sent back byte for byte, it is a chunked response.
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
      socket.write(rest);
      socket.pipe(socket);
      return;
    }
    const rate = rateOf(new RegExp(`\r\n${READ_RATE}: *(\\d+)`, 'i').exec(head)?.[1]);
    rawSink(socket, rest, rate).catch((error: Error) => socket.destroy(error));
  };
  socket.on('data', onHead);
}

async function rawSink(socket: Socket, rest: Buffer, rate: number): Promise<void> {
  // Iterated only for a sink: an async iterator's 'readable' listener would stall the echo's pipe.
  const reads = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const decoder = new ChunkedDecoder();
  async function* body(): AsyncGenerator<Uint8Array> {
    let bytes: Buffer = rest;
    for (;;) {
      const { data, done } = decoder.push(bytes);
      yield* data;
      if (done) return;
      const next = await reads.next();
      if (next.done) throw new Error('the request body ended early');
      bytes = next.value;
    }
  }
  socket.end(answer(await consume(body(), rate)));
}

async function serve(kind: Kind): Promise<void> {
  const port = (server: { address(): unknown }) => (server.address() as { port: number }).port;
  // H1_BENCH_MEMORY_GC_MS: a full GC that often, to tell buffers held from buffers not yet freed.
  const gcMs = Number(process.env.H1_BENCH_MEMORY_GC_MS ?? 0);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gcMs > 0 && gc) setInterval(gc, gcMs).unref();
  if (kind === RAW) {
    const server = createNetServer({ noDelay: true }, (socket) => {
      socket.on('error', () => {});
      rawExchange(socket);
    });
    server.listen(0, '127.0.0.1', () => serving(port(server)));
  } else if (kind === NODE) {
    const server = createHttpServer((req, res) => {
      if (req.url === '/echo') {
        req.pipe(res);
        return;
      }
      // Async iteration is node:http's paused read: read() on demand and the socket paused once
      // req's buffer is full, what req.pause() and a timed req.resume() would do.
      consume(req, rateOf(req.headers[READ_RATE])).then(
        (reply) =>
          res
            .writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': reply.length })
            .end(reply),
        (error: Error) => res.destroy(error),
      );
    });
    server.listen(0, '127.0.0.1', () => serving(port(server)));
  } else {
    await serveH1kit(kind === 'h1kit standalone' ? 'standalone' : 'hijack', async (exchange) => {
      if (exchange.request.target === '/echo') {
        exchange.body.pipe(exchange.respond(200));
        return;
      }
      const reply = await consume(exchange.body, rateOf(exchange.request.headers[READ_RATE]));
      exchange
        .respond(200, { 'Content-Type': 'application/json', 'Content-Length': reply.length })
        .end(reply);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The runs.

interface Described {
  label: string;
  title: (volume: string, rate: string, unthrottled: string) => string;
  run: Scenario;
}

const SCENARIOS: Described[] = [
  {
    label: '(a) slow handler',
    title: (volume, rate, unthrottled) =>
      `memory (a): ${volume} chunked request body read by the handler at ${rate}, a tenth of the unthrottled ${unthrottled}; server peak RSS (lower is better)`,
    run: upload,
  },
  {
    label: '(b) slow client',
    title: (volume, rate, unthrottled) =>
      `memory (b): ${volume} echoed through one exchange, read by the client at ${rate}, a tenth of the unthrottled ${unthrottled}; server peak RSS (lower is better)`,
    run: echo,
  },
];

const mbps = (bytesPerSecond: number): string => `${(bytesPerSecond / 1e6).toFixed(0)} MB/s`;
const mib = (kib: number): string => `${(kib / KiB).toFixed(1)} MiB`;
const sizeOf = (bytes: number): string =>
  bytes >= 1024 * MiB ? `${bytes / (1024 * MiB)} GiB` : `${bytes / MiB} MiB`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  const given = process.env.H1_BENCH_MEMORY_MIB;
  const volume = Number(given ?? (quick ? 64 : 1024)) * MiB;
  if (!(volume > 0) || !Number.isInteger(volume / PIECE)) {
    throw new Error(`H1_BENCH_MEMORY_MIB=${given}: need a positive whole number of MiB`);
  }
  const rounds = quick ? 1 : Number(process.env.H1_BENCH_ROUNDS ?? 3);
  // Long enough to get past the JIT's first tiers, short enough not to cost the run its budget.
  const calibration = Math.min(volume, (quick ? 32 : 256) * MiB);
  // A paced run is mostly waiting: 1 GiB at a tenth of this machine's loopback rate takes 10-40 s,
  // and one after another the 24 of them would take 4-16 minutes. Side by side, each server
  // still has its own process and its own VmHWM, and together they use under half the core the
  // slowest of them needs unthrottled. H1_BENCH_MEMORY_SERIAL=1 runs them one at a time.
  const serial = process.env.H1_BENCH_MEMORY_SERIAL === '1';

  const pinned = pin(process.pid, 0);
  const reduced =
    given === undefined && quick
      ? ' (reduced from 1 GiB for --quick; H1_BENCH_MEMORY_MIB sets it)'
      : '';
  console.log(
    `${pinned ? `client pinned to cpu 0, servers to cpu ${cores - 1}` : 'not pinned (taskset missing or one core)'}; a fresh server process for every run, ${rounds} rounds, the servers of a round ${serial ? 'one after another' : 'side by side'}; ${sizeOf(volume)} a run${reduced}`,
  );
  const payload = makePayload();
  const file = process.argv[1]!;

  /**
   * Starts a fresh process for each of `kinds` and runs `run` against each, one after another or
   * all at once; each process is idle until its run begins streaming.
   */
  const onFresh = async <T>(
    kinds: readonly Kind[],
    together: boolean,
    run: (kind: Kind, port: number, pid: number) => Promise<T>,
  ): Promise<T[]> => {
    const results: T[] = [];
    const groups = together ? [kinds] : kinds.map((kind) => [kind]);
    for (const group of groups) {
      const servers = await Promise.all(group.map((kind) => startServer(file, kind, pinned)));
      try {
        results.push(
          ...(await Promise.all(
            group.map((kind, i) => run(kind, servers[i]!.port, servers[i]!.child.pid!)),
          )),
        );
      } finally {
        await Promise.all(servers.map((server) => stopServer(server.child)));
      }
    }
    return results;
  };

  for (const scenario of SCENARIOS) {
    // The producer's unthrottled rate against each server, each alone on its core, the best of two
    // (a slower try is the machine being busy, not the producer); the pace is a tenth of the
    // slowest server's, so that every producer outruns the consumer at least tenfold.
    const unthrottled = new Map<Kind, number>();
    for (const order of [SERVERS, [...SERVERS].reverse()]) {
      await onFresh(order, false, async (kind, port, pid) => {
        const { ms } = await scenario.run(port, pid, payload, calibration, 0);
        unthrottled.set(kind, Math.max(unthrottled.get(kind) ?? 0, calibration / (ms / 1000)));
      });
    }
    const producer = Math.min(...unthrottled.values());
    const rate = producer / 10;
    const rates = SERVERS.map((kind) => `${kind} ${mbps(unthrottled.get(kind)!)}`).join(', ');
    console.log(
      `\n${scenario.label}: unthrottled (best of two ${sizeOf(calibration)} runs) ${rates}; the consumer paced to ${mbps(rate)}, about ${(volume / rate).toFixed(0)} s a run`,
    );

    const peaks = new Map<Kind, number[]>(SERVERS.map((kind) => [kind, []]));
    const idle = new Map<Kind, number[]>(SERVERS.map((kind) => [kind, []]));
    const seconds = new Map<Kind, number[]>(SERVERS.map((kind) => [kind, []]));
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? SERVERS : [...SERVERS].reverse();
      await onFresh(order, !serial, async (kind, port, pid) => {
        idle.get(kind)!.push(statusKiB(pid, 'VmRSS'));
        const run = await scenario.run(port, pid, payload, volume, rate);
        peaks.get(kind)!.push(run.peakKiB / KiB);
        seconds.get(kind)!.push(run.ms / 1000);
      });
    }

    summarize(
      {
        title: scenario.title(sizeOf(volume), mbps(rate), mbps(producer)),
        unit: 'MiB peak RSS',
        better: 'lower',
        limits: [{ max: 64 }],
        contenders: SERVERS.map((name) => ({
          name,
          role: name === RAW ? 'ceiling' : name === NODE ? 'peer' : 'ours',
        })),
      },
      peaks,
    );
    for (const kind of SERVERS) {
      const idleKiB = median(idle.get(kind)!);
      const peakKiB = median(peaks.get(kind)!) * KiB;
      console.log(
        `  ${kind}: ${mib(idleKiB)} idle before streaming, peak ${mib(peakKiB)} (+${mib(peakKiB - idleKiB)}), ${median(seconds.get(kind)!).toFixed(1)} s a run (medians of ${rounds})`,
      );
    }
  }
}

if (process.argv[2] === '--serve') await serve(process.argv[3] as Kind);
else await main();
