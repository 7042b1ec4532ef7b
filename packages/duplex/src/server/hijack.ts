import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { H1Error } from '@h1kit/headers';
import { connectionClosed, DuplexErrorCode } from '../errors.js';
import { closeGracefully, ignore, refuse } from '../io/close.js';
import { checkHijackedRequest } from './hijack-checks.js';
import { type HijackControl, HijackedConnections } from './hijack-control.js';
import {
  HijackedRequest,
  type HijackHandler,
  type HijackOptions,
  reportToConsole,
} from './hijacked-request.js';
import { HeldResponse, neutralize } from './hijacked-response.js';
import {
  canHandBack,
  closeIdleHandedBack,
  continueSent,
  detachResponse,
  forgetHolds,
  handBack,
  holdListener,
  releaseListener,
  requestArrived,
  requestParserOf,
  STOP_AFTER_HEAD,
} from './node-http.js';

// Taking a request away from node:http at header time. node:http already hands a connection
// over for 'upgrade' and CONNECT: its parser stops right after the head, leaves the socket, the
// server's timers and connection list, and gives the bytes read past the head to the event. A
// hijack marks the request as an upgrade so that this path runs, and takes the event first.

interface Pending {
  res: ServerResponse | undefined;
  /** `res` left answerable until the connection is taken (`keepResponse`). */
  held: HeldResponse | undefined;
  /** llhttp's reading of the head: may the connection carry another request after this one? */
  keepAlive: boolean;
  resolve: (hijacked: HijackedRequest) => void;
  reject: (error: Error) => void;
}

const kPending = Symbol('h1kit.hijack.pending');
type MarkedRequest = IncomingMessage & { [kPending]?: Pending };

interface Installation {
  match: ((req: IncomingMessage) => boolean) | undefined;
  onHijack: HijackHandler | undefined;
  onError: (error: Error) => void;
  /** The request whose 'request' event is being emitted right now, if any. */
  dispatching: IncomingMessage | undefined;
  /** Responses not yet finished, per socket: a hijacked socket is handed over after them. */
  inflight: WeakMap<Socket, Set<ServerResponse>>;
  connections: HijackedConnections;
  /** Whether the hijack began closing: made once, given to every hijacked request. */
  closing: () => boolean;
  /** Runs `onHijack` for a request `match` selected: made once, not per request. */
  runMatched: (hijacked: HijackedRequest) => void;
  /** `disable()` was called: connections accepted before it take no more hijacks either. */
  disabled: boolean;
  undo: Array<() => void>;
}

const installations = new WeakMap<Server, Installation>();

function noop(): void {}

/**
 * Makes `server` hand the requests `match` selects to `onHijack`, at header time, before
 * node:http reads any byte of their body; requests pipelined before them are answered by
 * node:http first. With no `match`, only enables `hijack(req, res)` inside 'request' listeners.
 * Call before the server accepts connections.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { enableHijack } from '@h1kit/duplex';
 * const server = createServer((req, res) => res.end('ordinary\n'));
 * const control = enableHijack(server, (req) => req.url === '/echo', (hijacked) => {
 *   const exchange = hijacked.exchange();
 *   exchange.body.pipe(exchange.respond(200, { 'Content-Type': 'text/plain' }));
 * });
 * server.listen(8080);
 * // on shutdown: server.close(); await control.close();
 * ```
 */
export function enableHijack(
  server: Server,
  match?: (req: IncomingMessage) => boolean,
  onHijack?: HijackHandler,
  options: HijackOptions = {},
): HijackControl {
  if (installations.has(server)) {
    throw new H1Error(
      DuplexErrorCode.INVALID_OPTION,
      'enableHijack: already enabled on this server',
    );
  }
  if (match && !onHijack) {
    throw new H1Error(
      DuplexErrorCode.INVALID_OPTION,
      'enableHijack: a match needs an onHijack handler',
    );
  }
  const connections = new HijackedConnections();
  const onError = options.onError ?? reportToConsole;
  const installation: Installation = {
    match,
    onHijack,
    onError,
    dispatching: undefined,
    inflight: new WeakMap(),
    connections,
    closing: () => connections.isClosing,
    runMatched: (hijacked) => hijacked.run(onHijack!, onError),
    disabled: false,
    undo: [],
  };
  installations.set(server, installation);

  const connectionEvent = server instanceof HttpsServer ? 'secureConnection' : 'connection';
  const onConnection = (socket: Socket): void => {
    try {
      wrapParser(installation, socket);
    } catch (error) {
      // A line without the parser hook: no request on it could be hijacked, so none is served.
      socket.destroy(error as Error);
      server.emit('error', error);
    }
  };
  server.on(connectionEvent, onConnection);
  installation.undo.push(() => server.off(connectionEvent, onConnection));

  const track = (req: IncomingMessage, res: ServerResponse): void => {
    const socket = req.socket;
    let set = installation.inflight.get(socket);
    if (!set) {
      set = new Set();
      installation.inflight.set(socket, set);
    }
    set.add(res);
    res.once('close', () => set.delete(res));
  };
  const emit = server.emit;
  const closeIdle = server.closeIdleConnections;
  server.closeIdleConnections = function closeIdleWithHandedBack(this: Server): void {
    closeIdle.call(this);
    closeIdleHandedBack(this);
  };
  server.emit = function hijackingEmit(
    this: Server,
    event: string | symbol,
    ...args: unknown[]
  ): boolean {
    const req = args[0] as MarkedRequest | undefined;
    if ((event === 'upgrade' || event === 'connect') && req?.[kPending]) {
      releaseListener(this, event);
      takeOver(installation, req, args[1] as Socket, args[2] as Buffer);
      return true;
    }
    // Seen here rather than through listeners: a 'checkContinue' or 'checkExpectation' listener
    // of ours would change how node:http answers Expect.
    if (event === 'request' || event === 'checkContinue' || event === 'checkExpectation') {
      track(req as IncomingMessage, args[1] as ServerResponse);
    }
    return Reflect.apply(emit, this, [event, ...args]) as boolean;
  } as Server['emit'];
  installation.undo.push(() => {
    server.emit = emit;
    server.closeIdleConnections = closeIdle;
    forgetHolds(server);
  });

  return {
    connections: installation.connections.open,
    destroyAll: () => installation.connections.destroyAll(),
    close: (options) => installation.connections.close(options?.force === true),
    disable() {
      installation.disabled = true;
      for (const undo of installation.undo.splice(0)) undo();
      installations.delete(server);
    },
  };
}

/**
 * Go's `Hijacker.Hijack()` for node:http: takes this request's connection away from the server.
 * Must be called synchronously inside the 'request' listener (before any await) on a server
 * with `enableHijack(server)`: then node:http has read no byte of the body and the returned
 * promise resolves with the socket and every unprocessed byte. Called later, node:http has gone
 * on parsing the connection and the bytes it consumed cannot be given back exactly, so it throws
 * `H1Error` (`ERR_H1_HIJACK_UNSAFE`) instead of losing or duplicating any. Afterwards `res`
 * refuses every write (`ERR_H1_HIJACKED`), unless `options.keepResponse` keeps it answerable
 * until the connection is taken (for a framework whose hooks run after the hijack).
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { enableHijack, hijack } from '@h1kit/duplex';
 * const server = createServer((req, res) => {
 *   if (req.url !== '/raw') return res.end('ordinary\n');
 *   hijack(req, res).then(async ({ readWriter }) => {
 *     const first = await readWriter.reader.readLine(); // body bytes: node:http read none
 *     await readWriter.writer.write(Buffer.from('HTTP/1.1 204 No Content\r\n\r\n'));
 *     await readWriter.writer.flush();
 *   });
 * });
 * enableHijack(server);
 * ```
 */
export function hijack(
  req: IncomingMessage,
  res: ServerResponse,
  options: HijackCallOptions = {},
): Promise<HijackedRequest> {
  const server = (req.socket as Socket & { server?: Server }).server;
  const installation = server ? installations.get(server) : undefined;
  if (!installation) {
    throw new H1Error(
      DuplexErrorCode.HIJACK_UNSAFE,
      'hijack() needs enableHijack(server) before the server accepts connections',
    );
  }
  if (installation.dispatching !== req) {
    throw new H1Error(
      DuplexErrorCode.HIJACK_UNSAFE,
      "hijack() was called after the 'request' listener returned: node:http has gone on reading the connection (body or next request) and those bytes cannot be recovered exactly; call it synchronously in the listener, or select the request with enableHijack(server, match)",
    );
  }
  if ((req as MarkedRequest)[kPending]) {
    throw new H1Error(DuplexErrorCode.HIJACK_UNSAFE, 'this request is already hijacked');
  }
  if (options.keepResponse && res.headersSent) {
    throw new H1Error(
      DuplexErrorCode.HIJACK_UNSAFE,
      'hijack() with keepResponse after the response began: the connection already carries it',
    );
  }
  const held = options.keepResponse ? new HeldResponse(res, req.socket) : undefined;
  if (!held) neutralize(res);
  return new Promise((resolve, reject) => {
    (req as MarkedRequest)[kPending] = { res, held, keepAlive: false, resolve, reject };
  });
}

/**
 * Options of `hijack(req, res, options)`.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { enableHijack, hijack } from '@h1kit/duplex';
 * const server = createServer((req, res) => {
 *   hijack(req, res, { keepResponse: true }).then((hijacked) => {
 *     if (hijacked.answered) return; // refused through `res`: the connection closes after it
 *     const exchange = hijacked.exchange();
 *     exchange.body.pipe(exchange.respond(200));
 *   });
 *   // a hook that runs after the hijack may still answer through `res`:
 *   if (req.headers.authorization === undefined) res.writeHead(401, { 'Content-Length': 0 }).end();
 * });
 * enableHijack(server);
 * ```
 */
export interface HijackCallOptions {
  /**
   * Leave `res` answerable until the connection is taken through `exchange()`, `readWriter` or
   * `socket`, as a framework needs whose hooks run after the hijack and may refuse the request
   * (a 401, say). node:http reads nothing more of the connection, so such an answer says
   * `Connection: close` and the connection closes gracefully after it; taking the connection
   * afterwards throws `ERR_H1_HIJACKED` (`hijacked.answered` tells). Default false: `res` refuses
   * every write at once.
   */
  keepResponse?: boolean;
}

function wrapParser(installation: Installation, socket: Socket): void {
  const parser = requestParserOf(socket);
  const original = parser.onIncoming;
  parser.onIncoming = (req: MarkedRequest, keepAlive: boolean): number => {
    requestArrived((socket as Socket & { server: Server }).server, socket);
    if (installation.disabled) return original(req, keepAlive);
    if (installation.match?.(req)) {
      // A request the hand-over check refuses is answered there and never reaches the handler.
      req[kPending] = {
        res: undefined,
        held: undefined,
        keepAlive,
        resolve: installation.runMatched,
        reject: noop,
      };
      return stopAfterHead(req, socket);
    }
    installation.dispatching = req;
    let verdict: number;
    try {
      verdict = original(req, keepAlive);
    } finally {
      installation.dispatching = undefined;
    }
    const pending = req[kPending];
    if (!pending) return verdict;
    pending.keepAlive = keepAlive;
    return stopAfterHead(req, socket);
  };
}

/** Makes node:http's parser stop after this head and hand the request over as an upgrade. */
function stopAfterHead(req: IncomingMessage, socket: Socket): number {
  (req as IncomingMessage & { upgrade: boolean }).upgrade = true;
  holdListener(
    (socket as Socket & { server: Server }).server,
    req.method === 'CONNECT' ? 'connect' : 'upgrade',
  );
  return STOP_AFTER_HEAD;
}

const kWatched = Symbol('h1kit.hijack.watched');
interface Watch {
  installation: Installation;
  giveBack: (rest: Uint8Array) => void;
}
type Watched = Socket & { [kWatched]?: Watch };

/**
 * What a connection gets the first time it is hijacked, kept for its life however often it is
 * handed back (made on every request, these were a cost of every hijack): a close listener that
 * forgets it, and the function that gives it back to node:http after a clean exchange. Returns
 * that function. Every hijack also adds an error listener, so that an error never goes unhandled
 * while a handler has set none of its own; the give-back removes it, so that a later upgrade
 * node:http hands to an 'upgrade' listener reaches it without one of ours.
 */
function watch(installation: Installation, socket: Watched): (rest: Uint8Array) => void {
  socket.on('error', ignore);
  const known = socket[kWatched];
  if (known?.installation === installation) return known.giveBack;
  socket.once('close', () => installation.connections.delete(socket));
  const server = (socket as Socket & { server: Server }).server;
  const giveBack = (rest: Uint8Array): void => {
    // Closing (the hijack's control, or the server no longer listening): this exchange ends the
    // connection ('close' forgets it). A request pipelined behind a response that promised
    // keep-alive before the close began hears it was not served.
    if (installation.connections.isClosing || !server.listening) {
      if (rest.length > 0) refuse(socket, 503);
      else closeGracefully(socket);
      return;
    }
    installation.connections.delete(socket);
    socket.off('error', ignore);
    handBack(server, socket, rest);
    if (!installation.disabled) wrapParser(installation, socket);
  };
  socket[kWatched] = { installation, giveBack };
  return giveBack;
}

function takeOver(
  installation: Installation,
  req: MarkedRequest,
  socket: Socket,
  head: Buffer,
): void {
  const pending = req[kPending]!;
  req[kPending] = undefined;
  const { res, held } = pending;
  if (res) {
    installation.inflight.get(socket)?.delete(res);
    if (!held) detachResponse(res, socket);
  }
  installation.connections.add(socket);
  const giveBack = watch(installation, socket);
  socket.setTimeout(0);
  const earlier = installation.inflight.get(socket);
  if (!earlier || earlier.size === 0) {
    handOver(installation, req, socket, head, pending, giveBack);
    return;
  }
  // Pipelined requests before this one are still being answered by node:http: the connection
  // is ours to write once the last of those responses is done.
  let left = earlier.size;
  // Responses node:http still queues never emit 'close' if the connection dies first.
  const onSocketClose = (): void => {
    left = -1;
    pending.reject(connectionClosed('connection closed before it could be handed over'));
  };
  socket.once('close', onSocketClose);
  for (const response of earlier) {
    response.once('close', () => {
      if (--left !== 0) return;
      socket.off('close', onSocketClose);
      // node:http may have ended the connection after one of them (Connection: close, or a
      // final status to a client that expected 100 Continue): then there is nothing to hand over.
      if (socket.destroyed || !socket.writable) {
        socket.destroy();
        pending.reject(
          connectionClosed(
            'node:http closed the connection after an earlier response; the request cannot be served',
          ),
        );
      } else {
        handOver(installation, req, socket, head, pending, giveBack);
      }
    });
  }
}

/** Gives the handler the request, once the connection is the hijack's to write. */
function handOver(
  installation: Installation,
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  pending: Pending,
  giveBack: (rest: Uint8Array) => void,
): void {
  socket.setTimeout(0);
  if (installation.connections.isClosing) {
    refuseWith(
      socket,
      pending,
      503,
      new H1Error(DuplexErrorCode.SERVER_CLOSING, 'the hijack is closing'),
    );
    return;
  }
  const server = (socket as Socket & { server: Server }).server;
  const checked = checkHijackedRequest(req, server);
  if ('status' in checked) {
    refuseWith(socket, pending, checked.status, checked.error);
    return;
  }
  const reusable = pending.keepAlive && canHandBack(server);
  pending.resolve(
    new HijackedRequest(req, socket, head, checked, {
      giveBack: reusable ? giveBack : undefined,
      closing: installation.closing,
      held: pending.held,
      continued: pending.res !== undefined && continueSent(pending.res),
    }),
  );
}

/**
 * A request that cannot be served is refused on the wire, unless a held response already
 * answered it: the connection then closes after that answer.
 */
function refuseWith(socket: Socket, pending: Pending, status: number, error: H1Error): void {
  const held = pending.held;
  if (held?.answered) {
    pending.reject(error);
    return;
  }
  held?.release();
  refuse(socket, status);
  pending.reject(error);
}
