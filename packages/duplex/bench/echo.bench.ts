// Full-duplex echo, one connection, 256 MiB each way in 64 KiB writes, chunked both ways, the
// same raw-socket client against every server; and 256 connections exchanging 1 KiB messages.
//
// Each server runs in a child process of its own (this file, started with --serve) and every
// round starts them afresh: on this kind of shared machine one process can run 20% slower than
// its twin for its whole life, so a ratio measured between two long-lived processes says more
// about their luck than about the code. Where `taskset` exists and there are two or more cores,
// the client is pinned to the first core and the servers to the last, as on two machines.
//
// Beside them runs a Go peer (go/echo.go, net/http with Hijack, standard library only), built here
// with Debian's golang-go into .bench-out and left out, with a note, where Go is not installed.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ChunkedDecoder, encodeChunk } from '@h1kit/chunked';
import { compare, picked, quick, summarize } from '../../../scripts/bench-kit.js';
import {
  cores,
  cpuOf,
  pin,
  serveH1kit,
  serving,
  startServer,
  stopServer,
} from './server-processes.js';

const MiB = 1 << 20;
/** Each way per echo; --quick sends 64 MiB. */
const TOTAL = (quick ? 64 : 256) * MiB;
const TOTAL_NAME = `${TOTAL / MiB} MiB`;
const WRITE = 64 * 1024;
const RAW = 'raw net echo';
/** The same echo writing each read in two halves: no write crosses a TCP segment by a runt. */
const RAW_HALVES = 'raw net echo, each read in two writes';
const NODE = 'node:http req.pipe(res)';
const OURS = ['h1kit standalone', 'h1kit hijack on node:http'] as const;
/** go/echo.go: not a --serve kind of this file but a binary of its own (see `startGo`). */
const GO = 'Go net/http Hijack';
/**
 * `pnpm bench duplex --baseline <rev>` sets this to the same bench bundled at another commit:
 * its servers then run beside ours, as peers, in the same rounds (old commit against new).
 */
const BASELINE = process.env.H1_BENCH_BASELINE;
const AT_BASELINE = ' @ baseline';
const SERVERS = [
  RAW,
  RAW_HALVES,
  NODE,
  GO,
  ...OURS,
  ...(BASELINE ? OURS.map((kind) => `${kind}${AT_BASELINE}` as const) : []),
] as const;
type Kind = (typeof SERVERS)[number];

async function serve(kind: Kind): Promise<void> {
  const ready = serving;
  const address = (server: { address(): unknown }) => (server.address() as { port: number }).port;
  if (kind === RAW) {
    // The ceiling: the socket options the HTTP servers use (no Nagle), nothing else.
    const server = createNetServer({ noDelay: true }, (socket) => {
      socket.on('error', () => {});
      socket.pipe(socket);
    });
    server.listen(0, '127.0.0.1', () => ready(address(server)));
  } else if (kind === RAW_HALVES) {
    // A 64 KiB read written whole is a full segment and a runt on loopback; in halves it is two
    // segments. What the HTTP servers write is framed views of about that size, so this is the
    // ceiling they are held to in fact.
    const server = createNetServer({ noDelay: true }, (socket) => {
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => {
        const half = chunk.length >> 1;
        socket.write(chunk.subarray(0, half));
        if (socket.write(chunk.subarray(half))) return;
        socket.pause();
        socket.once('drain', () => socket.resume());
      });
      socket.on('end', () => socket.end());
    });
    server.listen(0, '127.0.0.1', () => ready(address(server)));
  } else if (kind === NODE) {
    const server = createHttpServer((req, res) => req.pipe(res));
    server.listen(0, '127.0.0.1', () => ready(address(server)));
  } else if (kind === GO) {
    throw new Error(`${GO} is a binary of its own (go/echo.go), not a --serve kind`);
  } else {
    await serveH1kit(kind === 'h1kit standalone' ? 'standalone' : 'hijack', (exchange) => {
      exchange.body.pipe(exchange.respond(200));
    });
  }
}

/** A server process as the Fleet needs it, whatever started it. */
interface Running {
  port: number;
  /** CPU time the process has used so far, in ms. */
  cpu(): Promise<number>;
  stop(): Promise<void>;
}

/** The repository root: the bench runs bundled into .bench-out, or from source under packages/. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

/** The first Go toolchain that answers: on PATH, or where Debian's golang-go puts it. */
function findGo(): string | undefined {
  for (const go of ['go', '/usr/lib/go/bin/go']) {
    try {
      execFileSync(go, ['version'], { stdio: 'ignore' });
      return go;
    } catch {}
  }
  return undefined;
}

/**
 * Builds go/echo.go into .bench-out/go-echo unless the binary is newer than the source, with
 * Go's build cache and module path under .bench-out so that nothing is written outside the
 * tree's scratch folder. Undefined, after a note, where there is no Go (or no /proc to read the
 * Go server's CPU time from).
 */
function buildGo(): string | undefined {
  const go = findGo();
  if (go === undefined) {
    console.log('Go is not installed (apt-get install golang-go): the Go net/http row is left out');
    return undefined;
  }
  if (!existsSync('/proc/self/stat')) {
    console.log("no /proc to read the Go server's CPU time from: the Go net/http row is left out");
    return undefined;
  }
  const root = repoRoot();
  const out = join(root, '.bench-out');
  const source = join(root, 'packages/duplex/bench/go/echo.go');
  const binary = join(out, 'go-echo');
  if (existsSync(binary) && statSync(binary).mtimeMs >= statSync(source).mtimeMs) return binary;
  mkdirSync(out, { recursive: true });
  execFileSync(go, ['build', '-o', binary, source], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, GOCACHE: join(out, 'go-cache'), GOPATH: join(out, 'go-path') },
  });
  return binary;
}

let clockTicks: number | undefined;

/**
 * CPU time of every thread of `pid` so far, in ms, from /proc/<pid>/stat: utime and stime, in
 * clock ticks (10 ms where CLK_TCK is 100). Read by the parent, so a server that does not speak
 * this benchmark's IPC (Go) is measured all the same.
 */
function procCpu(pid: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count from after it, where
  // the state (field 3) comes first, so utime and stime (fields 14 and 15) are at 11 and 12.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}

/**
 * Starts the Go echo on a free port, one core's worth of Go (GOMAXPROCS=1) as each Node server
 * is one event loop, and takes the port from the one line it prints.
 */
async function startGo(binary: string, pinned: boolean): Promise<Running> {
  const child = spawn(binary, ['-port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, GOMAXPROCS: '1' },
  });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    lines.once('line', (line) => resolve(Number(line)));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${binary} exited (${code}) before its port`)));
  });
  lines.close();
  // Nothing more is expected on stdout, but a full pipe would stall the server: keep draining.
  child.stdout!.resume();
  if (!Number.isInteger(port) || port <= 0) throw new Error(`${binary} printed no port`);
  // taskset -a pins the threads the Go runtime has started; those it starts later inherit it.
  if (pinned) pin(child.pid!, cores - 1);
  const pid = child.pid!;
  return { port, cpu: async () => procCpu(pid), stop: () => stopServer(child) };
}

/** One fresh process per server kind, pinned to the last core when the client is pinned. */
class Fleet {
  private readonly running = new Map<Kind, Running>();

  constructor(
    private readonly pinned: boolean,
    private readonly goBinary: string | undefined,
  ) {}

  async start(kinds: readonly Kind[]): Promise<void> {
    for (const kind of kinds) this.running.set(kind, await this.startOne(kind));
  }

  private async startOne(kind: Kind): Promise<Running> {
    if (kind === GO) return startGo(this.goBinary!, this.pinned);
    const { child, port } = kind.endsWith(AT_BASELINE)
      ? await startServer(BASELINE!, kind.slice(0, -AT_BASELINE.length), this.pinned)
      : await startServer(process.argv[1]!, kind, this.pinned);
    return { port, cpu: () => cpuOf(child), stop: () => stopServer(child) };
  }

  port(kind: Kind): number {
    return this.running.get(kind)!.port;
  }

  /** CPU time the server process has used so far, in ms. */
  cpu(kind: Kind): Promise<number> {
    return this.running.get(kind)!.cpu();
  }

  async stop(): Promise<void> {
    const stops = [...this.running.values()].map((server) => server.stop());
    this.running.clear();
    await Promise.all(stops);
  }
}

const HEAD = Buffer.from(
  'POST /echo HTTP/1.1\r\nHost: bench\r\nTransfer-Encoding: chunked\r\n\r\n',
);
/** One 64 KiB chunk, encoded once: every write sends it. */
const MESSAGE = Buffer.concat(encodeChunk(Buffer.alloc(WRITE, 0x61)));
const LAST = Buffer.from('0\r\n\r\n');
const END = Buffer.from('\r\n0\r\n\r\n');

/**
 * The echo client's reads land in this one buffer, reused (Node's `onread`): a client that takes
 * a fresh 64 KiB allocation per read, as a plain 'data' listener does, spent 90% of its core on
 * this machine and measured itself rather than the servers.
 */
const READ = Buffer.allocUnsafeSlow(1 << 20);

/**
 * Per server, in ms: the wall time of every echo run, the client's CPU time over them, and the
 * server's CPU time over its echo rounds (from each start to each stop).
 */
const load = new Map<Kind, { wall: number; client: number; server: number }>(
  SERVERS.map((kind) => [kind, { wall: 0, client: 0, server: 0 }]),
);

/** Sends the request and reads the echo at once; resolves when the last-chunk has come back. */
function echoOnce(kind: Kind, port: number): Promise<void> {
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  return new Promise<void>((resolve, reject) => {
    // The last END.length bytes received, to see the last-chunk however the reads fall.
    const tail = Buffer.alloc(END.length);
    const socket = connect({
      port,
      host: '127.0.0.1',
      noDelay: true,
      onread: {
        buffer: READ,
        callback: (size: number, buffer: Uint8Array) => {
          if (size >= tail.length) {
            tail.set(buffer.subarray(size - tail.length, size));
          } else {
            tail.copyWithin(0, size);
            tail.set(buffer.subarray(0, size), tail.length - size);
          }
          if (tail.equals(END)) {
            socket.destroy();
            resolve();
          }
          return true;
        },
      },
    });
    socket.on('error', reject);
    let sent = 0;
    const pump = (): void => {
      while (sent < TOTAL) {
        sent += WRITE;
        if (!socket.write(MESSAGE)) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.write(LAST);
    };
    socket.write(HEAD);
    pump();
  }).finally(() => {
    const cpu = process.cpuUsage(cpuBefore);
    const echo = load.get(kind)!;
    echo.client += (cpu.user + cpu.system) / 1000;
    echo.wall += performance.now() - wallBefore;
  });
}

/**
 * One connection, `count` 64 KiB chunks each sent only once the echo of the one before is back:
 * every server then does the same reads and writes per message whatever its speed, so its CPU
 * time per message compares what each costs.
 */
function lockstep(port: number, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    let received = 0;
    let expected = WRITE;
    let left = count;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received < expected) return;
      if (--left === 0) {
        socket.destroy();
        resolve();
        return;
      }
      expected += WRITE;
      socket.write(MESSAGE);
    });
    socket.on('error', reject);
    socket.write(HEAD);
    socket.write(MESSAGE);
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

const contender = (name: Kind) => ({
  name,
  // The raw echoes are what no HTTP server can beat on loopback: ceilings, not peers.
  role:
    name === RAW || name === RAW_HALVES
      ? ('ceiling' as const)
      : name.startsWith('h1kit') && !name.endsWith(AT_BASELINE)
        ? ('ours' as const)
        : ('peer' as const),
});

/**
 * `rounds` rounds, each on fresh server processes: every kind warmed up, then measured once, in
 * an order that alternates from round to round. Returns each kind's results, one per round.
 */
async function inFreshRounds<T>(
  fleet: Fleet,
  kinds: Kind[],
  rounds: number,
  warm: (port: number) => Promise<unknown>,
  measure: (kind: Kind, port: number) => Promise<T>,
): Promise<Map<Kind, T[]>> {
  const results = new Map<Kind, T[]>(kinds.map((kind) => [kind, []]));
  for (let round = 0; round < rounds; round++) {
    await fleet.start(kinds);
    const order = round % 2 === 0 ? kinds : [...kinds].reverse();
    for (const kind of order) await warm(fleet.port(kind));
    for (const kind of order) results.get(kind)!.push(await measure(kind, fleet.port(kind)));
    await fleet.stop();
  }
  return results;
}

async function main(): Promise<void> {
  const pinned = pin(process.pid, 0);
  console.log(
    pinned
      ? `client pinned to cpu 0, servers to cpu ${cores - 1}; fresh server processes every round`
      : 'not pinned (taskset missing or one core); fresh server processes every round',
  );
  const wanted = picked(SERVERS);
  const goBinary = wanted.includes(GO) ? buildGo() : undefined;
  const kinds = wanted.filter((kind) => kind !== GO || goBinary !== undefined);
  const fleet = new Fleet(pinned, goBinary);
  try {
    await compare({
      title: `full-duplex echo, one connection, ${TOTAL_NAME} each way, 64 KiB writes, chunked both ways`,
      unit: 'MB/s each way',
      perOp: TOTAL / 1e6,
      time: 0,
      rounds: Number(process.env.H1_BENCH_ROUNDS ?? 15),
      iterations: quick ? 1 : 3,
      warmup: true,
      warmupEveryRound: true,
      warmupIterations: 2,
      // node:http's own pipe runs at 0.94-0.98x the raw echo in halves, the loopback ceiling, so the
      // target is that ceiling rather than a multiple of node:http.
      targets: [{ ratio: 0.95, peer: RAW_HALVES }],
      beforeRound: async () => {
        await fleet.start(kinds);
        for (const kind of kinds) load.get(kind)!.server -= await fleet.cpu(kind);
      },
      afterRound: async () => {
        for (const kind of kinds) load.get(kind)!.server += await fleet.cpu(kind);
        await fleet.stop();
      },
      contenders: kinds.map((kind) => ({
        ...contender(kind),
        fn: () => echoOnce(kind, fleet.port(kind)),
      })),
    });

    // Which side is the limit: a client near 100% of its core would be measuring itself.
    for (const kind of kinds) {
      const { wall, client, server } = load.get(kind)!;
      const share = (cpu: number) => `${((100 * cpu) / wall).toFixed(0)}%`;
      console.log(
        `  ${kind}: server ${share(server)} of its core, client ${share(client)} of its own`,
      );
    }

    // Under `pnpm bench --quick` (one round, 1 s loads, 0.15 of the time) the CPU and ping-pong
    // loads are cut too, so that a quick look at this bench takes seconds, not minutes.
    const fewer = quick ? 1 : Math.min(5, Number(process.env.H1_BENCH_ROUNDS ?? 5));
    const scale = Number(process.env.H1_BENCH_TIME_SCALE ?? 1);
    const cpuRounds = Number(process.env.H1_BENCH_CPU_ROUNDS ?? fewer);
    const MESSAGES = Math.max(500, Math.round(5000 * scale));
    const perMessage = await inFreshRounds(
      fleet,
      kinds,
      cpuRounds,
      (port) => lockstep(port, MESSAGES / 5),
      async (kind, port) => {
        const before = await fleet.cpu(kind);
        await lockstep(port, MESSAGES);
        return ((await fleet.cpu(kind)) - before) * (1000 / MESSAGES);
      },
    );
    summarize(
      {
        title: `server CPU per 64 KiB message, echoed in lockstep on one connection (${cpuRounds} rounds of ${MESSAGES}; lower is better, ratio < 1 means cheaper)`,
        unit: 'µs',
        better: 'lower',
        targets: [{ ratio: 0.8, peer: NODE }],
        contenders: kinds.map(contender),
      },
      perMessage,
    );

    const pingKinds = kinds.filter((kind) => kind !== RAW && kind !== RAW_HALVES);
    const pingRounds = Number(process.env.H1_BENCH_PING_ROUNDS ?? fewer);
    const pingSeconds = Number(process.env.H1_BENCH_SECONDS ?? 2);
    const latencies = await inFreshRounds(
      fleet,
      pingKinds,
      pingRounds,
      (port) => pingPong(port, 300),
      (_kind, port) => pingPong(port, pingSeconds * 1000),
    );
    const pick = (field: keyof Latency) =>
      new Map([...latencies].map(([kind, runs]) => [kind, runs.map((run) => run[field])]));
    summarize(
      {
        title: `256 connections, 1 KiB ping-pong messages in one duplex exchange each (${pingRounds} rounds of ${pingSeconds} s)`,
        unit: 'messages/s',
        contenders: pingKinds.map(contender),
      },
      pick('messages'),
    );
    summarize(
      {
        title: 'the same runs: p99 round-trip latency (lower is better; ratio < 1 means faster)',
        unit: 'ms p99',
        better: 'lower',
        contenders: pingKinds.map(contender),
      },
      pick('p99'),
    );
  } finally {
    await fleet.stop();
  }
}

if (process.argv[2] === '--serve') await serve(process.argv[3] as Kind);
else await main();
