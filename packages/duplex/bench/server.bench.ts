// Small requests per second: h1kit's standalone server, h1kit taking every request through
// enableHijack on node:http, node:http itself, and three ceilings: a raw socket answering canned
// responses (this machine's loopback and load generator), the leanest standalone design on
// h1kit's parts, and the hijack's hand-back with no exchange (bench/ceilings.ts). Keep-alive and 16-deep pipelining, at
// 1, 64 and 256 connections, driven by wrk where it is installed (`apt-get install wrk`), by an
// in-process Node client otherwise.
//
// Every round starts each server afresh in a process of its own, pinned to the last core, with
// the load generator on the first, and measures them one after another in an order that flips
// each round: ratios are medians of per-round ratios (paired rounds).
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { picked, quick, summarize } from '../../../scripts/bench-kit.js';
import { handBackServer, leanServer } from './ceilings.js';
import {
  cpuOf,
  pin,
  type ServerProcess,
  serveH1kit,
  serving,
  startServer,
  stopServer,
} from './server-processes.js';

const NODE = 'node:http';
const RAW = 'raw socket, canned answers (ceiling)';
const LEAN = 'best standalone design: llhttp + serializer, no exchange (ceiling)';
const HAND_BACK = 'hijack hand-back, canned answers, no exchange (ceiling)';
const SERVERS = [
  RAW,
  LEAN,
  HAND_BACK,
  NODE,
  'h1kit standalone',
  'h1kit hijack on node:http',
] as const;
type Kind = (typeof SERVERS)[number];
const BODY = Buffer.from('hello world\n');
const FIELDS = { 'Content-Type': 'text/plain', 'Content-Length': BODY.length };

async function serve(kind: Kind): Promise<void> {
  const ready = serving;
  const port = (server: { address(): unknown }) => (server.address() as { port: number }).port;
  if (kind === RAW) {
    // Answers every request head in a read at once, with node:http's bytes for the same reply.
    const answer = Buffer.from(
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${BODY.length}\r\nDate: ${new Date().toUTCString()}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nhello world\n`,
    );
    const server = createNetServer({ noDelay: true }, (socket) => {
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => {
        let heads = 0;
        for (let at = chunk.indexOf('\r\n\r\n'); at !== -1; at = chunk.indexOf('\r\n\r\n', at + 4))
          heads++;
        socket.write(heads === 1 ? answer : Buffer.concat(Array(heads).fill(answer)));
      });
    });
    server.listen(0, '127.0.0.1', () => ready(port(server)));
  } else if (kind === LEAN) {
    ready(await leanServer());
  } else if (kind === HAND_BACK) {
    ready(await handBackServer());
  } else if (kind === NODE) {
    const server = createHttpServer((_req, res) => {
      res.writeHead(200, FIELDS);
      res.end(BODY);
    });
    server.listen(0, '127.0.0.1', () => ready(port(server)));
  } else {
    await serveH1kit(kind === 'h1kit standalone' ? 'standalone' : 'hijack', (exchange) => {
      exchange.respond(200, FIELDS).end(BODY);
    });
  }
}

function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // wrk prints its version and exits 1; only a missing binary is ENOENT.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

interface Load {
  connections: number;
  /** Requests in flight per connection: 1 is keep-alive, more is pipelining. */
  depth: number;
}

interface Result {
  rps: number;
  p99ms: number;
}

const PIPELINE_LUA = join(tmpdir(), `h1kit-pipeline-${process.pid}.lua`);

/** wrk against `port`, pinned to the first core; p99 is per response batch when pipelined. */
async function wrk(port: number, load: Load, seconds: number, pinned: boolean): Promise<Result> {
  const args = ['-t1', `-c${load.connections}`, `-d${seconds}s`, '--latency'];
  if (load.depth > 1) args.push('-s', PIPELINE_LUA);
  args.push(`http://127.0.0.1:${port}/`);
  const child = spawn(pinned ? 'taskset' : 'wrk', pinned ? ['-c', '0', 'wrk', ...args] : args);
  let out = '';
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (chunk: string) => {
    out += chunk;
  });
  await once(child, 'close');
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(out);
  if (!Number.isFinite(rps) || !p99) throw new Error(`wrk printed no figures:\n${out}`);
  const scale = { us: 0.001, ms: 1, s: 1000 }[p99[2] as 'us' | 'ms' | 's'];
  return { rps, p99ms: Number(p99[1]) * scale };
}

/** The in-process fallback: raw sockets keeping `depth` GETs in flight each. */
async function nodeClient(port: number, load: Load, seconds: number): Promise<Result> {
  const request = Buffer.from('GET / HTTP/1.1\r\nHost: bench\r\n\r\n'.repeat(load.depth));
  const latencies: number[] = [];
  let answered = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: load.connections }, async () => {
      const socket = connect({ port, host: '127.0.0.1', noDelay: true });
      await once(socket, 'connect');
      let pending = 0;
      let sent = 0;
      let tail = '';
      const fire = () => {
        sent = performance.now();
        pending = load.depth;
        socket.write(request);
      };
      const done = new Promise<void>((resolve) => {
        socket.on('data', (chunk: Buffer) => {
          const text = tail + chunk.toString('latin1');
          // Each response ends with the body; count bodies, keep a partial one.
          let at = text.indexOf('hello world\n');
          let last = 0;
          while (at !== -1) {
            pending--;
            answered++;
            last = at + 12;
            at = text.indexOf('hello world\n', last);
          }
          tail = text.slice(last);
          if (pending > 0) return;
          latencies.push(performance.now() - sent);
          if (performance.now() < until) fire();
          else resolve();
        });
      });
      fire();
      await done;
      socket.destroy();
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    rps: answered / seconds,
    p99ms: latencies[Math.floor(latencies.length * 0.99)] ?? Number.NaN,
  };
}

/** One load's figures for every server, one entry per round. */
interface Runs {
  rps: Map<string, number[]>;
  p99: Map<string, number[]>;
  cpu: Map<string, number[]>;
}

async function main(): Promise<void> {
  const pinned = pin(process.pid, 0);
  const useWrk = hasWrk();
  // --quick: one round, each server process serving every load in turn after one warm-up, and
  // without the two design ceilings; 4 servers x 6 loads x 1 s is most of a quick run's budget.
  const rounds = quick ? 1 : Number(process.env.H1_BENCH_ROUNDS ?? 5);
  const seconds = Number(process.env.H1_BENCH_SECONDS ?? 3);
  const kinds = process.env.H1_BENCH_ONLY
    ? picked(SERVERS)
    : SERVERS.filter((kind) => !quick || (kind !== LEAN && kind !== HAND_BACK));
  writeFileSync(
    PIPELINE_LUA,
    'init = function(args)\n  local r = {}\n  for i = 1, 16 do r[i] = wrk.format(nil, "/") end\n  req = table.concat(r)\nend\nrequest = function() return req end\n',
  );
  console.log(
    useWrk
      ? `load from wrk${pinned ? ' on cpu 0, servers on the last cpu' : ''}; ${rounds} paired round${rounds > 1 ? 's' : ''} of ${seconds} s, ${quick ? 'one server process per round for every load (--quick; the two design ceilings left out)' : 'fresh server processes each round'}`
      : 'wrk is not installed (apt-get install wrk): load from an in-process Node client, which is slower than wrk and caps every figure lower',
  );
  // H1_BENCH_LOADS=64x1,1x16 runs only those loads (connections x depth).
  const onlyLoads = process.env.H1_BENCH_LOADS?.split(',');
  const loads: Load[] = [];
  for (const connections of [1, 64, 256]) {
    for (const depth of [1, 16]) {
      if (!onlyLoads || onlyLoads.includes(`${connections}x${depth}`))
        loads.push({ connections, depth });
    }
  }
  const runs = new Map<Load, Runs>(
    loads.map((load) => [
      load,
      {
        rps: new Map(kinds.map((k) => [k, []])),
        p99: new Map(kinds.map((k) => [k, []])),
        cpu: new Map(kinds.map((k) => [k, []])),
      },
    ]),
  );
  /** One timed load on a running server, after a short warm-up when `warm`. */
  const measure = async (
    kind: Kind,
    port: number,
    child: ServerProcess['child'],
    load: Load,
    warm: boolean,
  ) => {
    // A short warm-up on the same process, so that the JIT's first choices are not timed.
    // Under --quick a third of a second from the in-process client: wrk cannot run under 1 s.
    if (warm) {
      if (quick) await nodeClient(port, load, 0.3);
      else if (useWrk) await wrk(port, load, 1, pinned);
      else await nodeClient(port, load, 1);
    }
    const before = await cpuOf(child);
    const result = useWrk
      ? await wrk(port, load, seconds, pinned)
      : await nodeClient(port, load, seconds);
    const used = (await cpuOf(child)) - before;
    const into = runs.get(load)!;
    into.rps.get(kind)!.push(result.rps);
    into.p99.get(kind)!.push(result.p99ms);
    into.cpu.get(kind)!.push((used * 1000) / (result.rps * seconds));
  };
  const withServer = async (kind: Kind, use: (server: ServerProcess) => Promise<void>) => {
    const server = await startServer(process.argv[1]!, kind, pinned);
    try {
      await use(server);
    } finally {
      await stopServer(server.child);
    }
  };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? kinds : [...kinds].reverse();
    if (quick) {
      for (const kind of order) {
        await withServer(kind, async ({ child, port }) => {
          for (const [i, load] of loads.entries()) await measure(kind, port, child, load, i === 0);
        });
      }
      continue;
    }
    for (const load of loads) {
      for (const kind of order) {
        await withServer(kind, ({ child, port }) => measure(kind, port, child, load, true));
      }
    }
  }
  for (const load of loads) report(load, kinds, runs.get(load)!, useWrk);
}

function report(load: Load, kinds: Kind[], runs: Runs, useWrk: boolean): void {
  const what = `${load.connections} connection${load.connections > 1 ? 's' : ''}, ${load.depth > 1 ? `${load.depth}-deep pipelining` : 'keep-alive'}`;
  const contenders = kinds.map((name) => ({
    name,
    role: name.startsWith('h1kit')
      ? ('ours' as const)
      : name === NODE
        ? ('peer' as const)
        : ('ceiling' as const),
  }));
  // The targets of the server-speed issue: standalone 1.5x node:http keep-alive and 2x
  // pipelined; every request through the hijack at 0.8x node:http's keep-alive rate.
  const targets =
    load.depth > 1
      ? [{ ratio: 2, peer: NODE, ours: 'h1kit standalone' }]
      : [
          { ratio: 1.5, peer: NODE, ours: 'h1kit standalone' },
          { ratio: 0.8, peer: NODE, ours: 'h1kit hijack on node:http' },
        ];
  summarize({ title: `hello world, ${what}`, unit: 'req/s', contenders, targets }, runs.rps);
  // wrk does not time the responses of a pipelined batch (it prints 0): no p99 for those.
  if (load.depth === 1 || !useWrk) {
    summarize(
      {
        title: `the same runs: p99 latency${load.depth > 1 ? ' of a pipelined batch' : ''} (lower is better; ratio < 1 means faster)`,
        unit: 'ms p99',
        better: 'lower',
        // The server-speed issue: p99 no worse than node:http's.
        targets: [{ ratio: 1, peer: NODE, ours: 'h1kit standalone' }],
        contenders,
      },
      runs.p99,
    );
  }
  summarize(
    {
      title: 'the same runs: server CPU per request (lower is better; ratio < 1 means cheaper)',
      unit: 'µs',
      better: 'lower',
      // The server-speed issue: CPU per request lower than node:http's.
      targets: [{ ratio: 1, peer: NODE, ours: 'h1kit standalone' }],
      contenders,
    },
    runs.cpu,
  );
}

if (process.argv[2] === '--serve') await serve(process.argv[3] as Kind);
else await main();
