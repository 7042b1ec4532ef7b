// The soak's server process: one server path under load from the driver (soak/soak.ts), which
// forks it. It is a process of its own because a server is loaded from outside in real life, and
// because sharing one event loop starves the server's accepts: since libuv 1.45 (Node 20) a
// listening socket accepts one connection per turn of the loop, and a loop that also runs 1,000
// clients at full speed turns slowly enough to leave new connections in the accept queue for
// many seconds (measured: 799 of 1,000 first requests waited over 5 s, node:http's echo alike).
//
// Over IPC: it sends { port } once listening; on 'warm' it takes its warm-up mark; on 'close' it
// closes the server, waits for its handles and memory to settle, and sends its ServerReport.
// Usage: node --expose-gc server.mjs <standalone|hijack|node>
import { createServer as createHttpServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { createServer, type DuplexExchange, enableHijack, type H1Server } from '@h1kit/duplex';
import { drained } from './drained.js';
import {
  handles,
  openStdio,
  requireGc,
  type SideReport,
  settledMemory,
  sideReport,
  warmMark,
  within,
} from './measure.js';

export type Path = 'standalone' | 'hijack' | 'node';

export type ToServer = { type: 'warm' } | { type: 'close' };
export type FromServer =
  | { type: 'listening'; port: number }
  | { type: 'closed'; report: ServerReport };

export interface ServerReport extends SideReport {
  /** Connections the server accepted in all. */
  accepted: number;
  /** The most connections open at once. */
  peakOpen: number;
  /** Failures the server reported (a handler that failed, a request refused): the first few. */
  errors: string[];
  errorCount: number;
  /** Set when closing the server took longer than its bound. */
  closeFailure?: string;
}

/** Time the server may take to close once the driver's agent has closed. */
const CLOSE_MS = 15_000;

/** The handler under load: responds at once, then echoes each piece of the body as it arrives. */
async function echo(exchange: DuplexExchange): Promise<void> {
  const out = exchange.respond(200, { 'Content-Type': 'application/octet-stream' });
  for await (const chunk of exchange.body) {
    if (!out.write(chunk)) await drained(out);
  }
  out.end();
}

const errors: string[] = [];
let errorCount = 0;
const serverError =
  (where: string) =>
  (error: Error): void => {
    errorCount++;
    if (errors.length < 5) errors.push(`${where}: ${error.stack ?? error}`);
  };

interface Running {
  port: number;
  close: () => Promise<void>;
}

async function start(path: Path, count: (socket: Socket) => void): Promise<Running> {
  const listen = { port: 0, host: '127.0.0.1', backlog: 2048 };
  if (path === 'standalone') {
    const server: H1Server = createServer(echo, {
      onError: serverError('server handler'),
      onClientError: serverError('server refused a request'),
    });
    server.on('connection', count);
    const address = await server.listen(listen);
    return { port: (address as { port: number }).port, close: () => server.close() };
  }
  const onClientError = (error: Error, socket: Socket): void => {
    serverError('node:http clientError')(error);
    socket.destroy();
  };
  if (path === 'node') {
    // A diagnostic path: node:http's own echo, so that the client alone is under test.
    const server = createHttpServer((req, res) => req.pipe(res));
    server.on('connection', count);
    server.on('clientError', onClientError);
    await new Promise<void>((resolve) => server.listen(listen, resolve));
    return {
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
  server.on('clientError', onClientError);
  const control = enableHijack(
    server,
    () => true,
    (hijacked) => echo(hijacked.exchange()),
    { onError: serverError('hijack handler') },
  );
  await new Promise<void>((resolve) => server.listen(listen, resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      await Promise.all([control.close(), new Promise((resolve) => server.close(resolve))]);
    },
  };
}

async function main(): Promise<void> {
  const path = process.argv[2] as Path;
  const send = process.send?.bind(process);
  if (!['standalone', 'hijack', 'node'].includes(path) || !send) {
    console.error(
      'usage: forked by soak.ts with an IPC channel: server.mjs <standalone|hijack|node>',
    );
    process.exit(2);
  }
  requireGc();
  // Listened to from the start, so that the IPC channel counts in the handles before and after.
  let onMessage: (message: ToServer) => void = () => {};
  process.on('message', (message: ToServer) => onMessage(message));
  await openStdio();
  const before = await settledMemory();
  const handlesBefore = handles();

  let accepted = 0;
  const live = new Set<Socket>();
  const count = (socket: Socket): void => {
    accepted++;
    live.add(socket);
    socket.once('close', () => live.delete(socket));
  };
  let rssPeak = before.rss;
  let peakOpen = 0;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    peakOpen = Math.max(peakOpen, live.size);
  }, 250);
  const server = await start(path, count);
  let warm: NodeJS.MemoryUsage | undefined;
  onMessage = async (message) => {
    if (message.type === 'warm') {
      warm = warmMark();
      return;
    }
    clearInterval(sampler);
    let closeFailure: string | undefined;
    try {
      await within(server.close(), CLOSE_MS, 'the server closing');
    } catch (error) {
      closeFailure = (error as Error).message;
    }
    const report: ServerReport = {
      accepted,
      peakOpen,
      errors,
      errorCount,
      closeFailure,
      ...(await sideReport(before, handlesBefore, rssPeak, warm)),
    };
    send({ type: 'closed', report } satisfies FromServer, () => process.disconnect());
  };
  send({ type: 'listening', port: server.port } satisfies FromServer);
}

await main();
