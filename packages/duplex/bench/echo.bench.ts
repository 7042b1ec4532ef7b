// Full-duplex echo, one connection, 256 MiB each way in 64 KiB writes, chunked both ways, the
// same raw-socket client against every server; and 256 connections exchanging 1 KiB messages.
// Each server runs in a child process of its own (this file, started with --serve), so that the
// client and the server each have a core, as they would on two machines.
import { type ChildProcess, fork } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { ChunkedDecoder, encodeChunk } from '@h1kit/chunked';
import { createServer, enableHijack } from '@h1kit/duplex';
import { compare, report } from '../../../scripts/bench-kit.js';

const MiB = 1 << 20;
const TOTAL = 256 * MiB;
const WRITE = 64 * 1024;
const SERVERS = [
  'raw net echo',
  'node:http req.pipe(res)',
  'h1kit standalone',
  'h1kit hijack on node:http',
] as const;
type Kind = (typeof SERVERS)[number];

async function serve(kind: Kind): Promise<void> {
  const ready = (port: number) => process.send!({ port });
  if (kind === 'raw net echo') {
    const server = createNetServer((socket) => socket.pipe(socket));
    server.listen(0, '127.0.0.1', () => ready((server.address() as { port: number }).port));
  } else if (kind === 'node:http req.pipe(res)') {
    const server = createHttpServer((req, res) => req.pipe(res));
    server.listen(0, '127.0.0.1', () => ready((server.address() as { port: number }).port));
  } else if (kind === 'h1kit standalone') {
    const server = createServer((exchange) => void exchange.body.pipe(exchange.respond(200)));
    ready((await server.listen()).port);
  } else {
    const server = createHttpServer((_req, res) => res.end());
    enableHijack(
      server,
      () => true,
      (hijacked) => {
        const exchange = hijacked.exchange();
        exchange.body.pipe(exchange.respond(200));
      },
    );
    server.listen(0, '127.0.0.1', () => ready((server.address() as { port: number }).port));
  }
}

async function start(kind: Kind): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(process.argv[1]!, ['--serve', kind], { stdio: 'inherit' });
  const port = await new Promise<number>((resolve) =>
    child.once('message', (m: { port: number }) => resolve(m.port)),
  );
  return { child, port };
}

const HEAD = Buffer.from(
  'POST /echo HTTP/1.1\r\nHost: bench\r\nTransfer-Encoding: chunked\r\n\r\n',
);
const PAYLOAD = Buffer.alloc(WRITE, 0x61);
const LAST = Buffer.from('0\r\n\r\n');

/** Sends the request and reads the echo at once; resolves when the last-chunk has come back. */
function echoOnce(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    let tail = '';
    socket.on('data', (chunk: Buffer) => {
      tail = (tail + chunk.subarray(Math.max(0, chunk.length - 8)).toString('latin1')).slice(-8);
      if (tail.endsWith('\r\n0\r\n\r\n')) {
        socket.destroy();
        resolve();
      }
    });
    socket.on('error', reject);
    let sent = 0;
    const pump = (): void => {
      while (sent < TOTAL) {
        sent += WRITE;
        socket.cork();
        for (const part of encodeChunk(PAYLOAD)) socket.write(part);
        socket.uncork();
        if (socket.writableNeedDrain) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.write(LAST);
    };
    socket.write(HEAD);
    pump();
  });
}

interface Latency {
  messages: number;
  p99: number;
}

/** 256 connections, each one long exchange of 1 KiB ping-pong messages, for `ms` milliseconds. */
async function pingPong(port: number, ms: number): Promise<Latency> {
  const message = Buffer.concat(encodeChunk(Buffer.alloc(1024, 0x62)));
  const latencies: number[] = [];
  const deadline = performance.now() + ms;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const socket: Socket = connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      const decoder = new ChunkedDecoder();
      let headDone = false;
      let pending = Buffer.alloc(0);
      let got = 0;
      let sentAt = 0;
      const send = (): void => {
        if (performance.now() > deadline) {
          socket.destroy();
          resolve();
          return;
        }
        got = 0;
        sentAt = performance.now();
        socket.write(message);
      };
      socket.on('data', (chunk: Buffer) => {
        let bytes: Uint8Array = chunk;
        if (!headDone) {
          pending = Buffer.concat([pending, chunk]);
          const end = pending.indexOf('\r\n\r\n');
          if (end === -1) return;
          headDone = true;
          bytes = pending.subarray(end + 4);
        }
        for (const data of decoder.push(bytes).data) got += data.length;
        if (got >= 1024) {
          latencies.push(performance.now() - sentAt);
          send();
        }
      });
      socket.on('error', reject);
      socket.write(HEAD);
      send();
    });
  await Promise.all(Array.from({ length: 256 }, one));
  latencies.sort((a, b) => a - b);
  return {
    messages: latencies.length / (ms / 1000),
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
  };
}

async function main(): Promise<void> {
  const running = new Map<Kind, { child: ChildProcess; port: number }>();
  for (const kind of SERVERS) running.set(kind, await start(kind));
  try {
    await compare({
      title: 'full-duplex echo, one connection, 256 MiB each way, 64 KiB writes, chunked both ways',
      unit: 'MB/s each way',
      perOp: TOTAL / 1e6,
      time: 0,
      rounds: Number(process.env.H1_BENCH_ROUNDS ?? 11),
      iterations: 1,
      warmup: true,
      warmupIterations: 1,
      target: 0.95,
      targetPeer: 'raw net echo',
      contenders: SERVERS.filter(
        (kind) => !process.env.H1_BENCH_ONLY || process.env.H1_BENCH_ONLY.split(',').includes(kind),
      ).map((kind) => ({
        name: kind,
        role: kind.startsWith('h1kit') ? ('ours' as const) : ('peer' as const),
        fn: () => echoOnce(running.get(kind)!.port),
      })),
    });
    console.log('  (target also: 1.2x node:http req.pipe(res))');

    const rounds = 3;
    const figures = new Map<string, { messages: number[]; p99: number[] }>();
    for (let round = 0; round < rounds; round++) {
      for (const kind of [
        'node:http req.pipe(res)',
        'h1kit standalone',
        'h1kit hijack on node:http',
      ] as const) {
        const result = await pingPong(running.get(kind)!.port, 2000);
        const entry = figures.get(kind) ?? { messages: [], p99: [] };
        entry.messages.push(result.messages);
        entry.p99.push(result.p99);
        figures.set(kind, entry);
      }
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
    const contenders = [...figures.keys()].map((name) => ({
      name,
      role: name.startsWith('h1kit') ? ('ours' as const) : ('peer' as const),
    }));
    report(
      {
        title: '256 connections, 1 KiB ping-pong messages in one duplex exchange each',
        unit: 'messages/s',
        contenders,
      },
      Object.fromEntries([...figures].map(([k, v]) => [k, median(v.messages)])),
    );
    report(
      {
        title: 'the same run: p99 round-trip latency (lower is better; ratio < 1 means faster)',
        unit: 'ms p99',
        contenders,
      },
      Object.fromEntries([...figures].map(([k, v]) => [k, median(v.p99)])),
    );
  } finally {
    for (const { child } of running.values()) child.kill();
  }
}

if (process.argv[2] === '--serve') await serve(process.argv[3] as Kind);
else await main();
