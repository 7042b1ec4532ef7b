// The soak: 1,000 full-duplex exchanges kept in flight for a time budget against one server path
// (the standalone server, or enableHijack on node:http), each echoing checksummed data that the
// client verifies byte for byte; then the process's handles and memory are checked to be back
// where they started. Run by scripts/soak.mjs, which bundles this file; one path per process, so
// that one path's garbage does not weigh on the other's figures. For a hunt: the path `node`
// (node:http's own echo, the h1kit client alone under test) and H1_SOAK_SNAPSHOT=file (a heap
// snapshot once the run is over) are there when run by hand.
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import {
  Agent,
  createServer,
  type DuplexExchange,
  enableHijack,
  type H1Server,
  request,
} from '@h1kit/duplex';

const path = process.argv[2] as 'standalone' | 'hijack';
const seconds = Number(process.argv[3] ?? 30);
const inFlight = Number(process.argv[4] ?? 1000);
const MiB = 1 << 20;
/**
 * Memory is measured from the end of a warm-up (a fifth of the budget, at full load): the heap
 * and the allocator have grown to the load by then and keep their pages. After the run and a GC,
 * RSS may be this much above that mark, and the live heap HEAP_SLACK above its own.
 */
const RSS_SLACK = 64 * MiB;
const HEAP_SLACK = 16 * MiB;

/** The handler under load: echoes each piece of the request body as it arrives. */
async function echo(exchange: DuplexExchange): Promise<void> {
  const out = exchange.respond(200, { 'Content-Type': 'application/octet-stream' });
  for await (const chunk of exchange.body) {
    if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve));
  }
  out.end();
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

async function startServer(): Promise<{ port: number; close: () => Promise<void> }> {
  if ((path as string) === 'node') {
    // A diagnostic path: node:http's own echo, so that the client alone is under test.
    const server = createHttpServer((req, res) => req.pipe(res));
    await new Promise<void>((resolve) =>
      server.listen({ port: 0, host: '127.0.0.1', backlog: 2048 }, resolve),
    );
    return {
      port: (server.address() as { port: number }).port,
      close: async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  }
  if (path === 'standalone') {
    const server: H1Server = createServer(echo);
    const address = await server.listen({ port: 0, host: '127.0.0.1', backlog: 2048 });
    return { port: (address as { port: number }).port, close: () => server.close() };
  }
  const server: Server = createHttpServer((_req, res) => res.end());
  const control = enableHijack(
    server,
    () => true,
    (hijacked) => echo(hijacked.exchange()),
  );
  await new Promise<void>((resolve) =>
    server.listen({ port: 0, host: '127.0.0.1', backlog: 2048 }, resolve),
  );
  const { port } = server.address() as { port: number };
  return {
    port,
    close: async () => {
      await Promise.all([control.close(), new Promise((resolve) => server.close(resolve))]);
    },
  };
}

interface Tally {
  exchanges: number;
  up: number;
  down: number;
  errors: string[];
  errorCount: number;
}

/** One exchange: a chunked body of 2 to 8 random pieces of 1 B to 64 KiB, verified on return. */
async function exchangeOnce(url: string, agent: Agent, tally: Tally): Promise<void> {
  const exchange = request(url, { method: 'POST', agent });
  const sent = createHash('sha256');
  let sentBytes = 0;
  const pieces = 2 + Math.floor(Math.random() * 7);
  const pumping = (async () => {
    for (let i = 0; i < pieces; i++) {
      const piece = randomBytes(1 + Math.floor(Math.random() * 65536));
      sent.update(piece);
      sentBytes += piece.length;
      if (!exchange.body.write(piece)) {
        await new Promise((resolve) => exchange.body.once('drain', resolve));
      }
    }
    exchange.body.end();
  })();
  const response = await exchange.response;
  const got = createHash('sha256');
  let gotBytes = 0;
  await new Promise<void>((resolve, reject) => {
    response.body.on('data', (chunk: Uint8Array) => {
      got.update(chunk);
      gotBytes += chunk.length;
    });
    response.body.on('end', resolve);
    response.body.on('error', reject);
  });
  await pumping;
  if (response.status !== 200) throw new Error(`status ${response.status}`);
  if (gotBytes !== sentBytes || got.digest('hex') !== sent.digest('hex')) {
    throw new Error(`echo differs: sent ${sentBytes} bytes, got ${gotBytes}`);
  }
  tally.exchanges++;
  tally.up += sentBytes;
  tally.down += gotBytes;
}

/** Keeps `inFlight` exchanges going until `until`, counting into `tally`. */
async function load(url: string, agent: Agent, tally: Tally, until: number): Promise<void> {
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < until) {
        try {
          await exchangeOnce(url, agent, tally);
        } catch (error) {
          tally.errorCount++;
          if (tally.errors.length < 5) tally.errors.push(String((error as Error).stack ?? error));
        }
      }
    }),
  );
}

async function main(): Promise<void> {
  // stdout's own handle is made by the first write: made here, it counts on both sides.
  console.log(`== soak: ${path}, ${inFlight} exchanges in flight, ${seconds} s ==`);
  // ... and the write's own request is gone a turn later.
  await new Promise((resolve) => setImmediate(resolve));
  globalThis.gc?.();
  const before = resources();
  const server = await startServer();
  const url = `http://127.0.0.1:${server.port}/echo`;
  const agent = new Agent({ maxConnectionsPerOrigin: inFlight });
  const tally: Tally = { exchanges: 0, up: 0, down: 0, errors: [], errorCount: 0 };
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 250);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await load(url, agent, tally, started + seconds * 200);
  globalThis.gc?.();
  const warm = process.memoryUsage();
  await load(url, agent, tally, deadline);
  const took = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  await agent.close();
  await server.close();
  // Sockets and their timers go on the next turns of the event loop: wait for the counts to come
  // back, up to a bound, rather than read them too early.
  let after = resources();
  for (let waited = 0; !sameCounts(before, after) && waited < 5000; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    after = resources();
  }
  // Backing stores of buffers are freed after the collection that finds their wrappers dead,
  // some of them on a later one: collect until the count stops falling.
  let end = process.memoryUsage();
  for (let i = 0; i < 10; i++) {
    globalThis.gc?.();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = process.memoryUsage();
    const settled = now.arrayBuffers >= end.arrayBuffers && i > 0;
    end = now;
    if (settled) break;
  }
  if (process.env.H1_SOAK_SNAPSHOT)
    (await import('node:v8')).writeHeapSnapshot(process.env.H1_SOAK_SNAPSHOT);
  const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
  console.log(`  exchanges  ${tally.exchanges} (${(tally.exchanges / took).toFixed(0)}/s)`);
  console.log(`  bytes      ${mib(tally.up)} up, ${mib(tally.down)} down, every byte verified`);
  console.log(`  errors     ${tally.errorCount}`);
  console.log(
    `  RSS        ${mib(warm.rss)} after warm-up, ${mib(peakRss)} peak, ${mib(end.rss)} at the end (bound +${mib(RSS_SLACK)})`,
  );
  console.log(
    `  heap       ${mib(warm.heapUsed)} live after warm-up, ${mib(end.heapUsed)} at the end (bound +${mib(HEAP_SLACK)})`,
  );
  console.log(
    `  buffers    ${mib(warm.arrayBuffers)} after warm-up, ${mib(end.arrayBuffers)} at the end (bound +${mib(HEAP_SLACK)})`,
  );
  console.log(`  handles    before: ${show(before)}`);
  console.log(`             after:  ${show(after)}`);
  console.log(`  duration   ${took.toFixed(1)} s`);
  const failures: string[] = [];
  if (tally.errorCount > 0) {
    failures.push(`${tally.errorCount} errors, first:\n${tally.errors.join('\n')}`);
  }
  if (tally.exchanges === 0) failures.push('no exchange completed');
  if (!sameCounts(before, after)) failures.push('handles are not back where they started');
  if (end.rss > warm.rss + RSS_SLACK) failures.push('RSS grew past its bound');
  if (end.heapUsed > warm.heapUsed + HEAP_SLACK) failures.push('the live heap grew past its bound');
  if (end.arrayBuffers > warm.arrayBuffers + HEAP_SLACK) {
    failures.push('buffers outside the heap grew past their bound');
  }
  if (failures.length > 0) {
    console.log(`  FAILED: ${failures.join('; ')}`);
    process.exit(1);
  }
  console.log('  passed');
}

await main();
