// The soak: 1,000 full-duplex exchanges kept in flight for a time budget against one server path
// (the standalone server, or enableHijack on node:http), each echoing checksummed data that the
// client verifies byte for byte; then the process's handles and memory are checked to be back
// where they started. Run by scripts/soak.mjs, which bundles this file; one path per process, so
// that one path's garbage does not weigh on the other's figures. Client and server share the
// process, so the handle and memory checks cover both. For a hunt: the path `node` (node:http's
// own echo, the h1kit client alone under test) and H1_SOAK_SNAPSHOT=file (a heap snapshot once
// the run is over) are there when run by hand.
//
// Usage: node --expose-gc soak.mjs <standalone|hijack|node> <seconds> <in-flight>
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import {
  Agent,
  createServer,
  type DuplexExchange,
  enableHijack,
  type H1Server,
  request,
} from '@h1kit/duplex';

type Path = 'standalone' | 'hijack' | 'node';
const path = process.argv[2] as Path;
const seconds = Number(process.argv[3] ?? 30);
const inFlight = Number(process.argv[4] ?? 1000);
if (!['standalone', 'hijack', 'node'].includes(path) || !(seconds > 0) || !(inFlight > 0)) {
  console.error('usage: node --expose-gc soak.mjs <standalone|hijack|node> <seconds> <in-flight>');
  process.exit(2);
}
const gc = (globalThis as { gc?: (options?: object) => void }).gc;
if (typeof gc !== 'function') {
  console.error('soak: run node with --expose-gc (scripts/soak.mjs does)');
  process.exit(2);
}

const KiB = 1024;
const MiB = 1 << 20;
/**
 * RSS before the load is printed, not bounded: having carried 1,000 exchanges at all leaves RSS
 * 70 to 130 MiB higher after every GC (more at higher rates), since V8 keeps its heap at the size
 * the load grew it to and the allocator keeps its arenas. A leak is growth with time under the
 * same load, which the warm-up mark below measures.
 */
/**
 * Memory is measured at the end of a warm-up (a fifth of the budget, under full load): the
 * heap and the allocator have grown to the load by then. After the run RSS may be at most
 * WARM_RSS_BOUND above that mark, and the live heap and the buffers outside it LIVE_BOUND.
 */
const WARM_RSS_BOUND = 64 * MiB;
const LIVE_BOUND = 16 * MiB;
/** An exchange silent this long (no response head, or no response byte) fails as stalled. */
const STALL_MS = 20_000;
/** Time for sockets and their timers to go once everything is closed. */
const SETTLE_MS = 5_000;
/** Time the agent, then the server, may take to close once the load is over. */
const CLOSE_MS = 15_000;

/** The handler under load: responds at once, then echoes each piece of the body as it arrives. */
async function echo(exchange: DuplexExchange): Promise<void> {
  const out = exchange.respond(200, { 'Content-Type': 'application/octet-stream' });
  for await (const chunk of exchange.body) {
    if (!out.write(chunk)) await drained(out);
  }
  out.end();
}

/** Resolves on 'drain'; rejects if the stream fails or closes first. */
function drained(stream: Writable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error): void => {
      stream.off('drain', onDrain);
      stream.off('error', done);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = (): void => done();
    const onClose = (): void => done(new Error('the stream closed while a write waited to drain'));
    stream.on('drain', onDrain);
    stream.on('error', done);
    stream.on('close', onClose);
  });
}

/** Resource counts by type, as process.getActiveResourcesInfo() lists them. */
function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) {
    counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return counts;
}

const show = (counts: Map<string, number>): string =>
  [...counts]
    .sort()
    .map(([type, n]) => `${type} ${n}`)
    .join(', ') || 'none';

function sameCounts(a: Map<string, number>, b: Map<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [type, n] of a) if (b.get(type) !== n) return false;
  return true;
}

interface Running {
  port: number;
  /** Connections the server accepted so far. */
  accepted: () => number;
  /** Connections open on the server side now. */
  open: () => number;
  close: () => Promise<void>;
}

/** What the servers reported (a handler that failed, a request refused), counted as errors. */
const serverErrors = { count: 0, first: [] as string[] };
const serverError =
  (where: string) =>
  (error: Error): void => {
    serverErrors.count++;
    if (serverErrors.first.length < 5) {
      serverErrors.first.push(`${where}: ${error.stack ?? error}`);
    }
  };

async function startServer(): Promise<Running> {
  let accepted = 0;
  const live = new Set<Socket>();
  const count = (socket: Socket): void => {
    accepted++;
    live.add(socket);
    socket.once('close', () => live.delete(socket));
  };
  const common = { accepted: () => accepted, open: () => live.size };
  const listen = { port: 0, host: '127.0.0.1', backlog: 2048 };
  if (path === 'standalone') {
    const server: H1Server = createServer(echo, {
      onError: serverError('server handler'),
      onClientError: serverError('server refused a request'),
    });
    server.on('connection', count);
    const address = await server.listen(listen);
    return { ...common, port: (address as { port: number }).port, close: () => server.close() };
  }
  if (path === 'node') {
    // A diagnostic path: node:http's own echo, so that the client alone is under test.
    const server = createHttpServer((req, res) => req.pipe(res));
    server.on('connection', count);
    server.on('clientError', (error, socket) => {
      serverError('node:http clientError')(error);
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(listen, resolve));
    return {
      ...common,
      port: (server.address() as { port: number }).port,
      close: async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  }
  // Every request is hijacked; a connection goes back to node:http after each exchange and is
  // hijacked again by its next request, so both halves of the hand-over are under load.
  const server: Server = createHttpServer((_req, res) => res.end('not hijacked\n'));
  server.on('connection', count);
  server.on('clientError', (error, socket) => {
    serverError('node:http clientError')(error);
    socket.destroy();
  });
  const control = enableHijack(
    server,
    () => true,
    (hijacked) => echo(hijacked.exchange()),
    { onError: serverError('hijack handler') },
  );
  await new Promise<void>((resolve) => server.listen(listen, resolve));
  return {
    ...common,
    port: (server.address() as { port: number }).port,
    close: async () => {
      await Promise.all([control.close(), new Promise((resolve) => server.close(resolve))]);
    },
  };
}

interface Tally {
  started: number;
  exchanges: number;
  up: number;
  down: number;
  errorCount: number;
  byCode: Map<string, number>;
  errors: string[];
}

/** Random piece sizes: 2 to 8 pieces of 1 B to 64 KiB (2 B to 512 KiB, 160 KiB on average). */
function pieceSizes(): number[] {
  const n = 2 + Math.floor(Math.random() * 7);
  return Array.from({ length: n }, () => 1 + Math.floor(Math.random() * 64 * KiB));
}

/**
 * One exchange on a pooled keep-alive connection: a chunked request body written in pieces, the
 * echo read and hashed as it comes. Full duplex is required, not merely allowed: the client
 * waits for the first piece to come back, response head included, before it writes the second,
 * so a server that held its response until the request body ended would stall every exchange
 * (and fail it after STALL_MS). The rest is streamed with backpressure both ways.
 */
async function exchangeOnce(url: string, agent: Agent, sizes: number[]): Promise<[number, number]> {
  const exchange = request(url, {
    method: 'POST',
    agent,
    headTimeout: STALL_MS,
    bodyTimeout: STALL_MS,
  });
  const body = exchange.body;
  // A write that fails also fails the exchange; the listener keeps it from being unhandled.
  let writeError: Error | undefined;
  body.on('error', (error) => {
    writeError ??= error;
  });
  const sent = createHash('sha256');
  let sentBytes = 0;
  const write = async (size: number): Promise<void> => {
    const piece = randomBytes(size);
    sent.update(piece);
    sentBytes += size;
    if (!body.write(piece)) await drained(body);
  };

  try {
    await write(sizes[0]!);
    const response = await exchange.response;
    if (response.status !== 200) throw new Error(`status ${response.status}`);
    const got = createHash('sha256');
    let gotBytes = 0;
    let waiting: { until: number; resolve: () => void } | undefined;
    const reading = new Promise<void>((resolve, reject) => {
      response.body.on('data', (chunk: Uint8Array) => {
        got.update(chunk);
        gotBytes += chunk.length;
        if (waiting && gotBytes >= waiting.until) waiting.resolve();
      });
      response.body.on('end', resolve);
      response.body.on('error', reject);
    });
    // Awaited below, or the exchange is destroyed first: either way, never unhandled.
    reading.catch(() => {});
    const echoed = new Promise<void>((resolve) => {
      waiting = { until: sentBytes, resolve };
    });
    await Promise.race([
      echoed,
      reading.then(() => {
        throw new Error(
          `the response ended after ${gotBytes} bytes, before the first piece's echo`,
        );
      }),
    ]);
    if (gotBytes > sentBytes) throw new Error(`${gotBytes} bytes echoed for ${sentBytes} sent`);
    // The first piece is back while the request body is still open: full duplex.
    waiting = undefined;
    for (const size of sizes.slice(1)) await write(size);
    body.end();
    await reading;
    if (writeError) throw writeError;
    if (gotBytes !== sentBytes) throw new Error(`sent ${sentBytes} bytes, ${gotBytes} came back`);
    if (got.digest('hex') !== sent.digest('hex')) {
      throw new Error(`the echo of ${sentBytes} bytes differs from what was sent (sha256)`);
    }
    return [sentBytes, gotBytes];
  } catch (error) {
    // The exchange is given up, its connection destroyed, so that nothing of it lingers.
    exchange.destroy(error as Error);
    throw error;
  }
}

/** Keeps `inFlight` exchanges going until `until`: each one ended starts the next. */
async function load(url: string, agent: Agent, tally: Tally, until: number): Promise<void> {
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async (_, worker) => {
      while (performance.now() < until) {
        const sizes = pieceSizes();
        const n = ++tally.started;
        try {
          const [up, down] = await exchangeOnce(url, agent, sizes);
          tally.exchanges++;
          tally.up += up;
          tally.down += down;
        } catch (error) {
          tally.errorCount++;
          const code = (error as { code?: string }).code ?? (error as Error).name ?? 'Error';
          tally.byCode.set(code, (tally.byCode.get(code) ?? 0) + 1);
          if (tally.errors.length < 5) {
            const at = ((performance.now() - t0) / 1000).toFixed(1);
            tally.errors.push(
              `exchange #${n} (worker ${worker}, at ${at} s, pieces ${sizes.join(' + ')} B): ${
                (error as Error).stack ?? error
              }`,
            );
          }
        }
      }
    }),
  );
}

/** `promise`, or a rejection naming `what` once `ms` have passed; the timer goes either way. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

/**
 * Collects until the buffers outside the heap stop falling (their stores go a GC late), then
 * once more in V8's "last resort" flavour, which also compacts and hands free pages back (as
 * under memory pressure): a plain gc() leaves the heap at the size the load grew it to.
 */
async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  let end = process.memoryUsage();
  for (let i = 0; i < 10; i++) {
    gc!();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = process.memoryUsage();
    const settled = i > 0 && now.arrayBuffers >= end.arrayBuffers;
    end = now;
    if (settled) break;
  }
  gc!({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  await new Promise((resolve) => setTimeout(resolve, 20));
  return process.memoryUsage();
}

async function main(): Promise<void> {
  const name = {
    standalone: 'standalone (createServer)',
    hijack: 'hijack (enableHijack on node:http)',
    node: 'node:http echo (diagnostic)',
  }[path];
  // stdout's own handle is made by the first write: made here, it counts on both sides.
  console.log(
    `== soak: ${name}, ${inFlight} exchanges in flight for ${seconds} s, h1kit client, keep-alive pool ==`,
  );
  // ... and the write's own request is gone a turn later.
  await new Promise((resolve) => setImmediate(resolve));
  const before = await settledMemory();
  const handlesBefore = resources();

  const server = await startServer();
  const url = `http://127.0.0.1:${server.port}/echo`;
  // One pooled connection per exchange in flight, each reused by the exchanges that follow.
  const agent = new Agent({ maxConnectionsPerOrigin: inFlight });
  const tally: Tally = {
    started: 0,
    exchanges: 0,
    up: 0,
    down: 0,
    errorCount: 0,
    byCode: new Map(),
    errors: [],
  };
  let peakRss = before.rss;
  let peakOpen = 0;
  let fewest = Number.POSITIVE_INFINITY;
  const sample = (): void => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    peakOpen = Math.max(peakOpen, server.open());
    if (performance.now() < deadline) {
      fewest = Math.min(fewest, tally.started - tally.exchanges - tally.errorCount);
    }
  };
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const sampler = setInterval(sample, 250);
  // The warm-up mark is taken under load, without letting the exchanges in flight run down.
  let warm: NodeJS.MemoryUsage | undefined;
  const warmup = setTimeout(
    () => {
      gc!();
      warm = process.memoryUsage();
    },
    (seconds * 1000) / 5,
  );
  // A soak that hangs says so: past the budget and the stall timeout, what is still in flight
  // has stalled beyond what the client's own timeouts catch.
  const watchdog = setTimeout(
    () => {
      const stuck = tally.started - tally.exchanges - tally.errorCount;
      console.log(
        `  FAILED: ${stuck} exchanges still in flight ${STALL_MS * 2} ms past the budget`,
      );
      for (const error of tally.errors) console.log(`  ${error}`);
      process.exit(1);
    },
    seconds * 1000 + STALL_MS * 2,
  );
  await load(url, agent, tally, deadline);
  const took = (performance.now() - started) / 1000;
  const tail = took - seconds;
  clearTimeout(watchdog);
  clearTimeout(warmup);
  clearInterval(sampler);
  sample();
  const accepted = server.accepted();
  warm ??= process.memoryUsage();
  // A teardown that hangs is a failure of its own, named, rather than a soak that never ends.
  const failures: string[] = [];
  try {
    await within(agent.close(), CLOSE_MS, 'the agent closing its connections');
    await within(server.close(), CLOSE_MS, 'the server closing');
  } catch (error) {
    failures.push((error as Error).message);
  }
  // Sockets and their timers go on the next turns of the event loop: wait for the counts to come
  // back, up to a bound, rather than read them too early.
  let handlesAfter = resources();
  for (let waited = 0; !sameCounts(handlesBefore, handlesAfter) && waited < SETTLE_MS; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    waited += 50;
    handlesAfter = resources();
  }
  const end = await settledMemory();
  if (process.env.H1_SOAK_SNAPSHOT)
    (await import('node:v8')).writeHeapSnapshot(process.env.H1_SOAK_SNAPSHOT);

  if (tally.errorCount > 0) {
    const codes = [...tally.byCode].map(([code, n]) => `${code} ${n}`).join(', ');
    failures.push(`${tally.errorCount} exchanges failed (${codes})`);
  }
  if (serverErrors.count > 0) failures.push(`the servers reported ${serverErrors.count} errors`);
  if (tally.exchanges === 0) failures.push('no exchange completed');
  if (!sameCounts(handlesBefore, handlesAfter)) {
    failures.push(`handles not back where they started after ${SETTLE_MS} ms`);
  }
  if (end.rss > warm.rss + WARM_RSS_BOUND)
    failures.push(`RSS after is over warm-up + ${mib(WARM_RSS_BOUND)}`);
  if (end.heapUsed > warm.heapUsed + LIVE_BOUND) {
    failures.push(`the live heap after is over warm-up + ${mib(LIVE_BOUND)}`);
  }
  if (end.arrayBuffers > warm.arrayBuffers + LIVE_BOUND) {
    failures.push(`buffers outside the heap after are over warm-up + ${mib(LIVE_BOUND)}`);
  }

  // A pool that works opens about one connection per exchange in flight (plus one per connection
  // the server or the idle timeout closed); many more means connections are thrown away after
  // their exchange, as they were before the agent's idle watch went first in line.
  if (accepted > inFlight * 1.1 + 10) {
    failures.push(
      `${accepted} connections for ${tally.started} exchanges with ${inFlight} in flight: the pool threw connections away`,
    );
  }

  const rows: [string, string][] = [
    [
      'exchanges',
      `${tally.exchanges} completed and verified (${(tally.exchanges / took).toFixed(0)}/s)`,
    ],
    ['in flight', `${inFlight}, at least ${fewest} at every 250 ms sample of the budget`],
    ['connections', `${accepted} opened (keep-alive), at most ${peakOpen} open at once`],
    ['bytes up', `${tally.up} (${mib(tally.up)})`],
    ['bytes down', `${tally.down} (${mib(tally.down)}), sha256 and length match per exchange`],
    ['errors', `${tally.errorCount} (client), ${serverErrors.count} (server)`],
    ['RSS before', mib(before.rss)],
    ['RSS peak', `${mib(peakRss)} (sampled every 250 ms)`],
    ['RSS after GC', `${mib(end.rss)} (bound: warm-up ${mib(warm.rss)} + ${mib(WARM_RSS_BOUND)})`],
    [
      'heap live',
      `${mib(warm.heapUsed)} warm-up, ${mib(end.heapUsed)} after (bound: +${mib(LIVE_BOUND)})`,
    ],
    [
      'buffers',
      `${mib(warm.arrayBuffers)} warm-up, ${mib(end.arrayBuffers)} after (bound: +${mib(LIVE_BOUND)})`,
    ],
    ['handles before', show(handlesBefore)],
    ['handles after', show(handlesAfter)],
    [
      'duration',
      `${took.toFixed(1)} s (${seconds} s budget, then ${tail.toFixed(1)} s for those in flight to end)`,
    ],
    ['result', failures.length === 0 ? 'passed' : 'FAILED'],
  ];
  const width = Math.max(...rows.map(([key]) => key.length));
  const values = Math.max(...rows.map(([, value]) => value.length));
  const line = `  +-${'-'.repeat(width)}-+-${'-'.repeat(values)}-+`;
  console.log(line);
  for (const [key, value] of rows) {
    console.log(`  | ${key.padEnd(width)} | ${value.padEnd(values)} |`);
  }
  console.log(line);
  if (failures.length > 0) {
    for (const failure of failures) console.log(`  FAILED: ${failure}`);
    const first = [...tally.errors, ...serverErrors.first];
    if (first.length > 0) {
      console.log(`  first failures:`);
      for (const error of first) console.log(`  ${error.replaceAll('\n', '\n    ')}`);
    }
    process.exit(1);
  }
}

await main();
