// Scaling: 1 KiB message exchanges at 1, 16, 256 and 1,024 concurrent connections, each
// connection one long-lived full-duplex exchange (a chunked POST whose body is a stream of
// messages, each echoed back as a chunk of the response as soon as the server reads it), giving
// messages/s and p99 round-trip latency for h1kit (standalone and hijack) and node:http.
//
// Every server echoes the same way, each 'data' piece written as it comes, so that the handler
// code is the same on all three and the figures compare the servers under it. H1_SCALING_ECHO=pipe
// gives the h1kit servers `body.pipe(response)` (the splice) instead.
//
// As in echo.bench.ts: each server runs in a process of its own (this file, with --serve), started
// afresh every round, pinned to the last core while the client runs on the first.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { picked, quick, summarize } from '../../../scripts/bench-kit.js';
import { type LoadResult, MESSAGE_BYTES, runLoad } from './scaling-client.js';
import {
  cores,
  cpuOf,
  pin,
  type ServerProcess,
  serveH1kit,
  serving,
  startServer,
} from './server-processes.js';

const NODE = 'node:http';
const SERVERS = ['h1kit standalone', 'h1kit hijack on node:http', NODE] as const;
type Kind = (typeof SERVERS)[number];
const COUNTS = [1, 16, 256, 1024];
const SPLICE = process.env.H1_SCALING_ECHO === 'pipe';

async function serve(kind: Kind): Promise<void> {
  // A client that dies without stopping its servers must not leave them listening for ever.
  process.on('disconnect', () => process.exit(0));
  if (kind === NODE) {
    const server = createHttpServer((req, res) => {
      req.on('data', (piece: Buffer) => res.write(piece));
      req.on('end', () => res.end());
    });
    server.listen(0, '127.0.0.1', () => serving((server.address() as { port: number }).port));
    return;
  }
  await serveH1kit(kind === 'h1kit standalone' ? 'standalone' : 'hijack', (exchange) => {
    const response = exchange.respond(200);
    if (SPLICE) {
      exchange.body.pipe(response);
      return;
    }
    exchange.body.on('data', (piece: Uint8Array) => response.write(piece));
    exchange.body.on('end', () => response.end());
  });
}

/** Ends `child` unless it has ended by itself (a crashed server must not hang the stop). */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill();
  await exited;
}

const contender = (name: Kind) => ({
  name,
  role: name === NODE ? ('peer' as const) : ('ours' as const),
});

const plural = (n: number) => `${n.toLocaleString('en-US')} connection${n === 1 ? '' : 's'}`;

async function main(): Promise<void> {
  // --quick: one round of half a second per server and connection count.
  const rounds = quick ? 1 : Number(process.env.H1_BENCH_ROUNDS ?? 3);
  const seconds = quick ? 0.5 : Number(process.env.H1_BENCH_SECONDS ?? 3);
  // Enough for the JIT to settle on fresh processes, short enough to keep a quick run quick.
  const warmMs = Math.round(Math.min(500, Math.max(100, seconds * 100)));
  const kinds = picked(SERVERS);
  const counts = process.env.H1_BENCH_CONNECTIONS?.split(',').map(Number) ?? COUNTS;
  const pinned = pin(process.pid, 0);
  console.log(
    `scaling: ${rounds} rounds of ${seconds} s per server and connection count, each after a ${warmMs} ms warm-up on the same connections; fresh server processes every round; ${
      pinned
        ? `client pinned to cpu 0, servers to cpu ${cores - 1}`
        : 'not pinned (taskset missing or one core)'
    }; h1kit echoes with ${SPLICE ? 'body.pipe(response)' : "'data' → write()"}, node:http with 'data' → write()`,
  );

  for (const connections of counts) {
    const results = new Map<Kind, LoadResult[]>(kinds.map((kind) => [kind, []]));
    for (let round = 0; round < rounds; round++) {
      // Started together and before any load, so that no process boots during a measurement.
      const started = await Promise.allSettled(
        kinds.map((kind) => startServer(process.argv[1]!, kind, pinned)),
      );
      const running = new Map<Kind, ServerProcess>();
      started.forEach((result, i) => {
        if (result.status === 'fulfilled') running.set(kinds[i]!, result.value);
      });
      try {
        const failed = started.find((result) => result.status === 'rejected');
        if (failed) throw (failed as PromiseRejectedResult).reason;
        const order = round % 2 === 0 ? kinds : [...kinds].reverse();
        for (const kind of order) {
          const { child, port } = running.get(kind)!;
          results.get(kind)!.push(
            await runLoad({
              port,
              connections,
              warmMs,
              measureMs: seconds * 1000,
              serverCpu: () => cpuOf(child),
            }),
          );
        }
      } finally {
        await Promise.all([...running.values()].map(({ child }) => stop(child)));
      }
    }

    const pick = (field: 'messagesPerSecond' | 'p99') =>
      new Map([...results].map(([kind, runs]) => [kind, runs.map((run) => run[field])]));
    summarize(
      {
        title: `scaling: ${plural(connections)}, ${MESSAGE_BYTES} B messages echoed in one duplex exchange each (${rounds} rounds of ${seconds} s)`,
        unit: 'messages/s',
        contenders: kinds.map(contender),
        series: { name: 'scaling: messages/s', x: connections, xLabel: 'connections' },
      },
      pick('messagesPerSecond'),
    );
    summarize(
      {
        title: `scaling: ${plural(connections)}, p99 round trip of the same runs (lower is better; ratio < 1 means faster)`,
        unit: 'ms p99',
        better: 'lower',
        contenders: kinds.map(contender),
        series: { name: 'scaling: p99', x: connections, xLabel: 'connections' },
      },
      pick('p99'),
    );
    // Which side is the limit: a client near 100% of its core would be measuring itself.
    for (const [kind, runs] of results) {
      const sum = (field: 'wallMs' | 'clientCpuMs' | 'serverCpuMs') =>
        runs.reduce((total, run) => total + run[field], 0);
      const share = (cpu: number) => `${((100 * cpu) / sum('wallMs')).toFixed(0)}%`;
      const p50 = runs.map((run) => run.p50).sort((a, b) => a - b)[runs.length >> 1]!;
      const fewest = Math.min(...runs.map((run) => run.fewest));
      const most = Math.max(...runs.map((run) => run.most));
      console.log(
        `  ${kind}: p50 ${p50.toFixed(3)} ms; server ${share(sum('serverCpuMs'))} of its core, client ${share(sum('clientCpuMs'))} of its own; ${fewest}-${most} messages per connection in a window`,
      );
    }
  }
}

if (process.argv[2] === '--serve') await serve(process.argv[3] as Kind);
else await main();
