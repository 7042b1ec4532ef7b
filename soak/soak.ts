// The soak: 1,000 full-duplex exchanges kept in flight for a time budget against one server path
// (the standalone server, or enableHijack on node:http), each echoing checksummed data that the
// client verifies byte for byte; then each process's handles and memory are checked to be back
// where they started. This process is the client (h1kit's request() on a keep-alive Agent); the
// server runs in a process of its own (soak/server.ts says why), forked from here. Run by
// scripts/soak.mjs, which bundles both files; one path per run, so that one path's garbage does
// not weigh on the other's figures. For a hunt: the path `node` (node:http's own echo, the h1kit
// client alone under test) and H1_SOAK_SNAPSHOT=file (a heap snapshot of this process once the
// run is over) are there when run by hand.
//
// Usage: node --expose-gc soak.mjs <standalone|hijack|node> <seconds> <in-flight> <server.mjs>
import { fork } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request } from '@h1kit/duplex';
import { drained } from './drained.js';
import {
  handles,
  mib,
  openStdio,
  requireGc,
  settledMemory,
  sideFailures,
  sideReport,
  sideRows,
  warmMark,
  within,
} from './measure.js';
import type { FromServer, Path, ServerReport, ToServer } from './server.js';

const path = process.argv[2] as Path;
const seconds = Number(process.argv[3] ?? 30);
const inFlight = Number(process.argv[4] ?? 1000);
const serverScript = process.argv[5] ?? '';
if (
  !['standalone', 'hijack', 'node'].includes(path) ||
  !(seconds > 0) ||
  !(inFlight > 0) ||
  serverScript === ''
) {
  console.error(
    'usage: node --expose-gc soak.mjs <standalone|hijack|node> <seconds> <in-flight> <server.mjs>',
  );
  process.exit(2);
}
requireGc();

const KiB = 1024;
/** An exchange silent this long (no response head, or no response byte) fails as stalled. */
const STALL_MS = 20_000;
/** Time the agent may take to close once the load is over. */
const CLOSE_MS = 15_000;
/** Time the server process may take to report once told to close (its own close is bounded). */
const REPORT_MS = 30_000;

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

/** The server process, forked: its port once it listens, and a way to talk to it. */
interface ServerProcess {
  port: number;
  tell(message: ToServer): void;
  /** Tells it to close and resolves with its report. */
  close(): Promise<ServerReport>;
}

async function forkServer(): Promise<ServerProcess> {
  const child = fork(serverScript, [path], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) =>
      reject(
        new Error(`the server process exited (${signal ?? `exit ${code}`}) before it reported`),
      ),
    );
  });
  exited.catch(() => {});
  const next = <T extends FromServer['type']>(type: T): Promise<Extract<FromServer, { type: T }>> =>
    Promise.race([
      new Promise<Extract<FromServer, { type: T }>>((resolve) => {
        const on = (message: FromServer): void => {
          if (message.type !== type) return;
          child.off('message', on);
          resolve(message as Extract<FromServer, { type: T }>);
        };
        child.on('message', on);
      }),
      exited,
    ]);
  const { port } = await within(next('listening'), REPORT_MS, 'the server process starting');
  return {
    port,
    tell: (message) => child.send(message),
    close: async () => {
      child.send({ type: 'close' } satisfies ToServer);
      try {
        const { report } = await within(next('closed'), REPORT_MS, 'the server process reporting');
        return report;
      } catch (error) {
        child.kill('SIGKILL');
        throw error;
      }
    },
  };
}

async function main(): Promise<void> {
  const name = {
    standalone: 'standalone (createServer)',
    hijack: 'hijack (enableHijack on node:http)',
    node: 'node:http echo (diagnostic)',
  }[path];
  console.log(
    `== soak: ${name}, ${inFlight} exchanges in flight for ${seconds} s, h1kit client, keep-alive pool ==`,
  );
  await openStdio();
  const before = await settledMemory();
  const handlesBefore = handles();

  const server = await forkServer();
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
  let rssPeak = before.rss;
  let fewest = Number.POSITIVE_INFINITY;
  const sample = (): void => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    if (performance.now() < deadline) {
      fewest = Math.min(fewest, tally.started - tally.exchanges - tally.errorCount);
    }
  };
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const sampler = setInterval(sample, 250);
  let warm: NodeJS.MemoryUsage | undefined;
  const warmup = setTimeout(
    () => {
      warm = warmMark();
      server.tell({ type: 'warm' });
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
  // A teardown that hangs is a failure of its own, named, rather than a soak that never ends.
  const failures: string[] = [];
  try {
    await within(agent.close(), CLOSE_MS, 'the agent closing its connections');
  } catch (error) {
    failures.push((error as Error).message);
  }
  let served: ServerReport | undefined;
  try {
    served = await server.close();
  } catch (error) {
    failures.push((error as Error).message);
  }
  const client = await sideReport(before, handlesBefore, rssPeak, warm);
  if (process.env.H1_SOAK_SNAPSHOT)
    (await import('node:v8')).writeHeapSnapshot(process.env.H1_SOAK_SNAPSHOT);

  if (tally.errorCount > 0) {
    const codes = [...tally.byCode].map(([code, n]) => `${code} ${n}`).join(', ');
    failures.push(`${tally.errorCount} exchanges failed (${codes})`);
  }
  if (tally.exchanges === 0) failures.push('no exchange completed');
  failures.push(...sideFailures('client', client));
  if (served) {
    if (served.closeFailure) failures.push(served.closeFailure);
    if (served.errorCount > 0) failures.push(`the server reported ${served.errorCount} errors`);
    failures.push(...sideFailures('server', served));
    // A pool that works opens about one connection per exchange in flight (plus one per
    // connection the server or the idle timeout closed); many more means connections are thrown
    // away after their exchange, as they were before the agent's idle watch went first in line.
    if (served.accepted > inFlight * 1.1 + 10) {
      failures.push(
        `${served.accepted} connections for ${tally.started} exchanges with ${inFlight} in flight: the pool threw connections away`,
      );
    }
  }

  const rows: [string, string][] = [
    [
      'exchanges',
      `${tally.exchanges} completed and verified (${(tally.exchanges / took).toFixed(0)}/s)`,
    ],
    ['in flight', `${inFlight}, at least ${fewest} at every 250 ms sample of the budget`],
    [
      'connections',
      served
        ? `${served.accepted} opened (keep-alive), at most ${served.peakOpen} open at once`
        : 'unknown (no server report)',
    ],
    ['bytes up', `${tally.up} (${mib(tally.up)})`],
    ['bytes down', `${tally.down} (${mib(tally.down)}), sha256 and length match per exchange`],
    ['errors', `${tally.errorCount} (client), ${served ? served.errorCount : '?'} (server)`],
    ...sideRows('client', client),
    ...(served ? sideRows('server', served) : []),
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
    const first = [...tally.errors, ...(served?.errors ?? [])];
    if (first.length > 0) {
      console.log(`  first failures:`);
      for (const error of first) console.log(`  ${error.replaceAll('\n', '\n    ')}`);
    }
    process.exit(1);
  }
}

await main();
