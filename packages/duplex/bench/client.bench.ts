// The client against the clients a user would pick instead, all talking to the same node:http
// server in a process of its own (this file with --serve, pinned to the last core, the clients
// to the first): small sequential requests on one keep-alive connection and with 16 in flight,
// against undici 7's `request` and `Pool` and node:http's `http.request` with a keep-alive agent;
// and a one-connection streaming echo against `http.request`, `fetch` and a raw socket that
// writes pre-encoded chunks and parses nothing (the ceiling this server allows any client).
import {
  createServer as createHttpServer,
  Agent as HttpAgent,
  request as httpRequest,
} from 'node:http';
import { connect } from 'node:net';
import { Agent, request } from '@h1kit/duplex';
import { Pool, Agent as UndiciAgent, request as undiciRequest } from 'undici';
import { compare, quick } from '../../../scripts/bench-kit.js';
import {
  cores,
  pin,
  type ServerProcess,
  serving,
  startServer,
  stopServer,
} from './server-processes.js';

const BATCH = 200;
const IN_FLIGHT = 16;
const MiB = 1 << 20;
const ECHO_TOTAL = 32 * MiB;
const ECHO_WRITE = 64 * 1024;

type Get = (origin: string) => Promise<void>;

/** One GET per client, its body read to the end; each built once, with its own pool. */
function clients(): Record<string, { role: 'peer' | 'ours'; get: Get; close: () => unknown }> {
  const ours = new Agent();
  const undiciAgent = new UndiciAgent();
  const pools = new Map<string, Pool>();
  const nodeAgent = new HttpAgent({ keepAlive: true, maxSockets: IN_FLIGHT });
  return {
    'h1kit request (Agent)': {
      role: 'ours',
      get: async (origin) => {
        const response = await request(`${origin}/`, { agent: ours }).response;
        // Read to its end without an async iterator, as the peers' dump() and resume() do.
        await new Promise<void>((resolve, reject) => {
          response.body.on('end', resolve);
          response.body.on('error', reject);
          response.body.resume();
        });
      },
      close: () => ours.destroy(),
    },
    'undici request': {
      role: 'peer',
      get: async (origin) => {
        const response = await undiciRequest(`${origin}/`, { dispatcher: undiciAgent });
        await response.body.dump();
      },
      close: () => undiciAgent.close(),
    },
    'undici Pool': {
      role: 'peer',
      get: async (origin) => {
        let pool = pools.get(origin);
        if (!pool) {
          pool = new Pool(origin, { connections: IN_FLIGHT });
          pools.set(origin, pool);
        }
        const response = await pool.request({ path: '/', method: 'GET' });
        await response.body.dump();
      },
      close: () => Promise.all([...pools.values()].map((pool) => pool.close())),
    },
    'node:http request (keep-alive agent)': {
      role: 'peer',
      get: (origin) =>
        new Promise<void>((resolve, reject) => {
          const req = httpRequest(`${origin}/`, { agent: nodeAgent }, (res) => {
            res.on('end', resolve);
            res.on('error', reject);
            res.resume();
          });
          req.on('error', reject);
          req.end();
        }),
      close: () => nodeAgent.destroy(),
    },
  };
}

/** `total` GETs, `inFlight` at a time. */
async function gets(get: Get, origin: string, total: number, inFlight: number): Promise<void> {
  let started = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (started < total) {
        started++;
        await get(origin);
      }
    }),
  );
}

/** Streams ECHO_TOTAL bytes up in 64 KiB writes while reading the echo back. */
type Echo = (origin: string) => Promise<void>;
const CHUNK = Buffer.alloc(ECHO_WRITE, 0x61);

const echoes: Record<string, { role: 'peer' | 'ours'; echo: Echo }> = {
  'h1kit request': {
    role: 'ours',
    echo: async (origin) => {
      const exchange = request(`${origin}/echo`, { method: 'POST', agent: false });
      const pumped = (async () => {
        for (let sent = 0; sent < ECHO_TOTAL; sent += ECHO_WRITE) {
          if (!exchange.body.write(CHUNK)) await new Promise((r) => exchange.body.once('drain', r));
        }
        exchange.body.end();
      })();
      const response = await exchange.response;
      let got = 0;
      await new Promise<void>((resolve, reject) => {
        response.body.on('data', (chunk: Uint8Array) => {
          got += chunk.length;
        });
        response.body.on('end', resolve);
        response.body.on('error', reject);
      });
      await pumped;
      if (got !== ECHO_TOTAL) throw new Error(`h1kit echo: ${got} of ${ECHO_TOTAL} bytes`);
    },
  },
  'node:http request': {
    role: 'peer',
    echo: (origin) =>
      new Promise<void>((resolve, reject) => {
        const req = httpRequest(`${origin}/echo`, { method: 'POST', agent: false }, (res) => {
          let got = 0;
          res.on('data', (chunk: Buffer) => {
            got += chunk.length;
          });
          res.on('end', () =>
            got === ECHO_TOTAL ? resolve() : reject(new Error(`node echo: ${got} bytes`)),
          );
        });
        req.on('error', reject);
        (async () => {
          for (let sent = 0; sent < ECHO_TOTAL; sent += ECHO_WRITE) {
            if (!req.write(CHUNK)) await new Promise((r) => req.once('drain', r));
          }
          req.end();
        })();
      }),
  },
  'raw net client, chunked by hand (ceiling)': {
    role: 'peer',
    echo: (origin) => rawEcho(origin),
  },
  fetch: {
    role: 'peer',
    echo: async (origin) => {
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= ECHO_TOTAL) {
            controller.close();
            return;
          }
          sent += ECHO_WRITE;
          controller.enqueue(CHUNK);
        },
      });
      const response = await fetch(`${origin}/echo`, {
        method: 'POST',
        body,
        duplex: 'half',
      } as RequestInit);
      let got = 0;
      for await (const chunk of response.body!) got += chunk.length;
      if (got !== ECHO_TOTAL) throw new Error(`fetch echo: ${got} bytes`);
    },
  },
};

/** The last-chunk and the end of an empty trailer section, which end the echoed body. */
const CHUNKED_END = Buffer.from('\r\n0\r\n\r\n');
/** One pre-encoded chunk of ECHO_WRITE bytes: its size line, the data, its CRLF. */
const RAW_CHUNK = Buffer.concat([
  Buffer.from(`${ECHO_WRITE.toString(16)}\r\n`),
  CHUNK,
  Buffer.from('\r\n'),
]);

/**
 * The ceiling of any HTTP client against this server: a raw socket writing pre-encoded chunks
 * with backpressure and reading the echo into nothing until its last-chunk, with no parsing.
 */
function rawEcho(origin: string): Promise<void> {
  const { hostname, port } = new URL(origin);
  return new Promise<void>((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), noDelay: true });
    socket.on('error', reject);
    let tail = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      // Only the last few bytes matter: the end of the body is the end of what was read.
      tail = Buffer.concat([tail, chunk.subarray(Math.max(0, chunk.length - CHUNKED_END.length))]);
      tail = tail.subarray(Math.max(0, tail.length - CHUNKED_END.length));
      if (tail.equals(CHUNKED_END)) {
        socket.end();
        resolve();
      }
    });
    socket.write(
      `POST /echo HTTP/1.1\r\nHost: ${hostname}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
    );
    (async () => {
      for (let sent = 0; sent < ECHO_TOTAL; sent += ECHO_WRITE) {
        if (!socket.write(RAW_CHUNK)) await new Promise((r) => socket.once('drain', r));
      }
      socket.write('0\r\n\r\n');
    })();
  });
}

async function main(): Promise<void> {
  const pinned = pin(process.pid, 0);
  console.log(
    pinned
      ? `clients pinned to cpu 0, the node:http server to cpu ${cores - 1}`
      : 'not pinned (taskset missing or one core)',
  );
  const rounds = Number(process.env.H1_BENCH_ROUNDS ?? 7);
  let server: ServerProcess | undefined;
  const made = clients();
  const origin = () => `http://127.0.0.1:${server!.port}`;
  const fresh = {
    beforeRound: async () => {
      server = await startServer(process.argv[1]!, 'node', pinned);
    },
    afterRound: async () => {
      await stopServer(server!.child);
    },
  };
  const undiciTarget = [
    { ratio: 1, peer: 'undici request' },
    { ratio: 1, peer: 'undici Pool' },
  ];
  try {
    for (const inFlight of [1, IN_FLIGHT]) {
      await compare({
        title: `small GETs to node:http, ${inFlight === 1 ? 'one at a time on one keep-alive connection' : `${inFlight} in flight`}`,
        unit: 'req/s',
        perOp: BATCH,
        rounds,
        time: 2000,
        iterations: 3,
        warmupEveryRound: true,
        warmupIterations: 2,
        targets: undiciTarget,
        ...fresh,
        contenders: Object.entries(made).map(([name, client]) => ({
          name,
          role: client.role,
          fn: () => gets(client.get, origin(), BATCH, inFlight),
        })),
      });
    }
    await compare({
      title: `one-connection echo through node:http, ${ECHO_TOTAL / MiB} MiB each way, 64 KiB writes`,
      unit: 'MB/s each way',
      perOp: ECHO_TOTAL / 1e6,
      rounds,
      time: 0,
      iterations: quick ? 1 : 2,
      warmupEveryRound: true,
      warmupIterations: 1,
      targets: [{ ratio: 1.2, peer: 'node:http request' }],
      ...fresh,
      contenders: Object.entries(echoes).map(([name, client]) => ({
        name,
        role: client.role,
        fn: () => client.echo(origin()),
      })),
    });
  } finally {
    await Promise.all(Object.values(made).map((client) => client.close()));
  }
}

// Last, so that every constant above is initialized before main() runs.
if (process.argv[2] === '--serve') {
  const server = createHttpServer((req, res) => {
    if (req.method === 'POST') {
      req.pipe(res);
      return;
    }
    res.end('hello world\n');
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => serving((server.address() as { port: number }).port));
} else {
  await main();
}
