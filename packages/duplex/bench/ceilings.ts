// The two servers the server benchmark measures h1kit's designs against, beside the raw socket:
// each does the least its design must, so a target above them cannot be met by any design of
// that kind on this machine. They reach h1kit internals (the head parser, node:http's
// hand-over) on purpose, and answer only the benchmark's hello-world request.
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { serializeResponseHead } from '@h1kit/headers';
import { HeadParser } from '../src/io/llhttp.js';
import { httpDate } from '../src/server/date.js';
import {
  handBack,
  holdListener,
  releaseListener,
  requestArrived,
  requestParserOf,
  STOP_AFTER_HEAD,
} from '../src/server/node-http.js';

const BODY = Buffer.from('hello world\n');
const FIELDS = { 'Content-Type': 'text/plain', 'Content-Length': BODY.length };

/**
 * The best design for a standalone server: llhttp reads each head, a validated head is
 * serialized for each response, and what one read asks for is answered in one write. No
 * exchange, no streams, no timers: what h1kit's server adds on top is the price of its
 * guarantees (bodies both ways, backpressure, deadlines, errors).
 */
export function leanServer(): Promise<number> {
  const server = createNetServer({ noDelay: true }, (socket) => {
    const parser = new HeadParser('request', { maxHeadBytes: 16384, maxFields: 128 });
    socket.on('error', () => {});
    socket.on('close', () => parser.close());
    socket.on('data', (chunk: Buffer) => {
      const answers: Uint8Array[] = [];
      for (let at = 0; at < chunk.length; ) {
        const used = parser.execute(at === 0 ? chunk : chunk.subarray(at));
        if (used === -1) break;
        at += used;
        parser.reset();
        answers.push(serializeResponseHead(200, { ...FIELDS, Date: httpDate() }), BODY);
      }
      socket.cork();
      for (const answer of answers) socket.write(answer);
      socket.uncork();
    });
  });
  return listening(server);
}

/**
 * The ceiling of hijacking every request and handing the connection back: node:http parses the
 * head and stops after it as for an upgrade, a canned answer is written, and the connection goes
 * back to node:http for its next request. What enableHijack adds on top is the exchange.
 */
export function handBackServer(): Promise<number> {
  const answer = Buffer.concat([serializeResponseHead(200, { ...FIELDS, Date: httpDate() }), BODY]);
  const server: Server = createHttpServer((_req, res) => res.end());
  const take = (socket: Socket): void => {
    const parser = requestParserOf(socket);
    parser.onIncoming = (req: IncomingMessage) => {
      requestArrived(server, socket);
      (req as IncomingMessage & { upgrade: boolean }).upgrade = true;
      holdListener(server, 'upgrade');
      return STOP_AFTER_HEAD;
    };
  };
  server.on('connection', take);
  const emit = server.emit;
  server.emit = function handingBack(this: Server, event: string | symbol, ...args: unknown[]) {
    if (event !== 'upgrade') return Reflect.apply(emit, this, [event, ...args]) as boolean;
    releaseListener(this, 'upgrade');
    const socket = args[1] as Socket;
    socket.write(answer);
    handBack(this, socket, args[2] as Buffer);
    take(socket);
    return true;
  } as Server['emit'];
  return listening(server);
}

function listening(server: NetServer): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}
