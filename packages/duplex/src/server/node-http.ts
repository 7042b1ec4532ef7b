// The one module of h1kit that reaches node:http's server internals: the per-connection parser
// whose head callback decides where a request goes, and the listener counts node:http consults
// before it hands a connection over. Everything here is detected, never assumed from
// process.version; where a line lacks what the hijack needs, it fails naming that line.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { H1Error } from '@h1kit/headers';
import { DuplexErrorCode } from '../errors.js';

/**
 * node:http's answer for a head, as llhttp's head callback takes it: 0 parse a body, 1 no body,
 * 2 stop after the head as for an upgrade (the caller then owns every later byte).
 */
export const STOP_AFTER_HEAD = 2;

/** The parser node:http attaches to each connection; `onIncoming` receives every request head. */
export interface RequestParser {
  onIncoming: (req: IncomingMessage, keepAlive: boolean) => number;
}

/**
 * How this line routes a request that llhttp flags as an upgrade (`Upgrade` with
 * `Connection: upgrade`): through the public `server.shouldUpgradeCallback(req)` (late 22.x,
 * 24.9 and later, whose default asks whether an 'upgrade' listener exists), or by counting
 * 'upgrade' listeners itself (20 and early 22.x). Only such requests are ever put to the
 * callback, which is why the hijack of an ordinary request cannot go through it.
 */
export function upgradeRouting(server: Server): 'shouldUpgradeCallback' | 'listenerCount' {
  return typeof (server as { shouldUpgradeCallback?: unknown }).shouldUpgradeCallback === 'function'
    ? 'shouldUpgradeCallback'
    : 'listenerCount';
}

/**
 * The parser of a connection node:http just accepted. Called from a 'connection' listener added
 * after node:http's own, which attaches it synchronously. Throws `H1Error`
 * (`ERR_H1_UNSUPPORTED_RUNTIME`) naming the Node version when it is not there.
 */
export function requestParserOf(socket: Socket): RequestParser {
  const parser = (socket as Socket & { parser?: Partial<RequestParser> | null }).parser;
  if (!parser || typeof parser.onIncoming !== 'function') {
    throw new H1Error(
      DuplexErrorCode.UNSUPPORTED_RUNTIME,
      `enableHijack needs node:http's per-connection parser (socket.parser.onIncoming), which Node ${process.version} does not attach`,
    );
  }
  return parser as RequestParser;
}

/** Which hand-overs are held on a server right now, and the function that lets them all go. */
interface Hold {
  upgrade: boolean;
  connect: boolean;
  releasing: boolean;
  release: () => void;
  /** The server's `listenerCount` before ours, and whether it was the server's own property. */
  own: Server['listenerCount'];
  ownProperty: boolean;
  wrapper: Server['listenerCount'];
}

const kHold = Symbol('h1kit.hold');
type Holding = Server & { [kHold]?: Hold };

/**
 * node:http destroys the connection of an upgrade or CONNECT nobody listens for (for 'upgrade'
 * since late 22.x and 24.9; for CONNECT on every line), and the hijack's own emit hook is not a
 * listener. node:http asks `server.listenerCount(event)` for it between the head and the event,
 * in the same parser execution: in between no other head is parsed (so no
 * `shouldUpgradeCallback`, whose default counts 'upgrade' listeners) and no user code runs. So
 * from the head until that event the server's `listenerCount` counts one listener for the event
 * where there is none. Nothing is added to the listener list: a real placeholder, added and
 * removed on every hijacked request, emitted 'newListener' and 'removeListener' each time and
 * cost about a microsecond a request.
 */
export function holdListener(server: Server, event: 'upgrade' | 'connect'): void {
  const hold = (server as Holding)[kHold] ?? countHeld(server as Holding);
  hold[event] = true;
  // Should node:http not emit after all, the hold still ends before any other I/O runs.
  if (!hold.releasing) {
    hold.releasing = true;
    process.nextTick(hold.release);
  }
}

/** Ends the hold `holdListener` made for `event`, if there is one. */
export function releaseListener(server: Server, event: 'upgrade' | 'connect'): void {
  const hold = (server as Holding)[kHold];
  if (hold) hold[event] = false;
}

/** Gives the server its own `listenerCount` back (what `enableHijack`'s `disable()` undoes). */
export function forgetHolds(server: Server): void {
  const hold = (server as Holding)[kHold];
  if (!hold) return;
  delete (server as Holding)[kHold];
  // Wrapped again since (by the user, say): theirs stays, and ours goes with it when they unwrap.
  if (server.listenerCount !== hold.wrapper) return;
  if (hold.ownProperty) server.listenerCount = hold.own;
  else delete (server as { listenerCount?: unknown }).listenerCount;
}

function countHeld(server: Holding): Hold {
  const own = server.listenerCount;
  const wrapper = function listenerCountWithHeld(
    this: Server,
    event: string | symbol,
    listener?: (...args: unknown[]) => unknown,
  ): number {
    const count = Reflect.apply(own, this, listener === undefined ? [event] : [event, listener]);
    if (count > 0 || listener !== undefined) return count as number;
    return (event === 'upgrade' && hold.upgrade) || (event === 'connect' && hold.connect) ? 1 : 0;
  } as Server['listenerCount'];
  const hold: Hold = {
    upgrade: false,
    connect: false,
    releasing: false,
    release: () => {
      hold.upgrade = false;
      hold.connect = false;
      hold.releasing = false;
    },
    own,
    ownProperty: Object.hasOwn(server, 'listenerCount'),
    wrapper,
  };
  server.listenerCount = wrapper;
  server[kHold] = hold;
  return hold;
}

/**
 * Unhooks a response from the connection it was assigned (`socket._httpMessage`), so that
 * node:http writes nothing more of it there; `detachSocket` is public, the assignment is not.
 */
/**
 * Whether node:http put a 100 Continue for `res` on the wire: it answers Expect itself, before
 * the 'request' event, when the server has no 'checkContinue' listener. Written while an earlier
 * pipelined response held the connection, it waits in the response's output queue instead. A
 * line without these fields reads as not sent: a second 100 Continue is harmless (RFC 9110,
 * section 15.2), a missing one leaves the client waiting.
 */
export function continueSent(res: ServerResponse): boolean {
  const state = res as ServerResponse & { _sent100?: unknown; outputData?: unknown };
  return (
    state._sent100 === true && Array.isArray(state.outputData) && state.outputData.length === 0
  );
}

export function detachResponse(res: ServerResponse, socket: Socket): void {
  if ((socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage === res) {
    res.detachSocket(socket);
  }
}

/** node:http's own 'connection' listener (exported, undocumented, on every supported line). */
const connectionListener = (
  http as { _connectionListener?: (this: Server, socket: Socket) => void }
)._connectionListener;

/**
 * Whether a connection can be given back to node:http on this line, and this server still wants
 * connections (it is listening).
 */
export function canHandBack(server: Server): boolean {
  return typeof connectionListener === 'function' && server.listening;
}

/**
 * Gives node:http back a connection a hijack took, for its next request: `rest`, the bytes read
 * past the hijacked exchange, come first. node:http's connection listener attaches a fresh
 * parser as for a new connection, and the idle connection gets the server's keep-alive timeout,
 * as after any response it answers itself.
 */
export function handBack(server: Server, socket: Socket, rest: Uint8Array): void {
  if (typeof connectionListener !== 'function') {
    throw new H1Error(
      DuplexErrorCode.UNSUPPORTED_RUNTIME,
      `node:http on Node ${process.version} has no connection listener to give a connection back to`,
    );
  }
  if (rest.length > 0) socket.unshift(rest);
  (socket as HandedBack)[kHandedBack] = true;
  // Neither paused nor flowing, as node:http leaves a new connection: its 'data' listener starts it.
  (socket as Socket & { readableFlowing: boolean | null }).readableFlowing = null;
  connectionListener.call(server, socket);
  trackIdle(server, socket as HandedBack);
  const keepAlive = server.keepAliveTimeout;
  if (keepAlive > 0) {
    const buffer = (server as { keepAliveTimeoutBuffer?: number }).keepAliveTimeoutBuffer;
    socket.setTimeout(keepAlive + (typeof buffer === 'number' ? buffer : 0));
  }
}

const kHandedBack = Symbol('h1kit.handedBack');
const kTracked = Symbol('h1kit.handedBack.tracked');
type HandedBack = Socket & { [kHandedBack]?: boolean; [kTracked]?: boolean };

/**
 * Connections handed back and idle since, per server. node:http counts a connection it is given
 * as a new one, busy until its first request ends, so its closeIdleConnections() (which close()
 * calls) would leave these open until their keep-alive timeout: `closeIdleHandedBack` closes them.
 */
const idleHandedBack = new WeakMap<Server, Set<Socket>>();

function trackIdle(server: Server, socket: HandedBack): void {
  let idle = idleHandedBack.get(server);
  if (!idle) {
    idle = new Set();
    idleHandedBack.set(server, idle);
  }
  idle.add(socket);
  // One listener for the socket's life, however often it is handed back.
  if (!socket[kTracked]) {
    socket[kTracked] = true;
    socket.once('close', () => idleHandedBack.get(server)?.delete(socket));
  }
}

/** Destroys the handed-back connections that have carried no request since (node:http's way). */
export function closeIdleHandedBack(server: Server): void {
  const idle = idleHandedBack.get(server);
  if (!idle) return;
  for (const socket of idle) socket.destroy();
  idle.clear();
}

/**
 * A request head arrived on `socket`. On a connection handed back, node:http does not know of the
 * keep-alive timeout `handBack` set (its own flag for it is private), so it would not clear it and
 * the idle timeout would cut the request: it is cleared here, as node:http clears its own.
 */
export function requestArrived(server: Server, socket: Socket): void {
  if (!(socket as HandedBack)[kHandedBack]) return;
  idleHandedBack.get(server)?.delete(socket);
  (socket as HandedBack)[kHandedBack] = false;
  socket.setTimeout(server.timeout || 0);
}

/**
 * node:http ends a connection after a `Connection: close` response with `socket.destroySoon()`,
 * which destroys it as soon as the response is flushed. On a connection whose request body
 * node:http never read, the peer may still be sending it, and bytes arriving at a destroyed
 * socket make the kernel reset the connection under the answer. `end` replaces that call on this
 * one socket until the returned function restores node:http's own.
 */
export function replaceDestroySoon(socket: Socket, end: () => void): () => void {
  const target = socket as { destroySoon?: () => void };
  target.destroySoon = end;
  return () => {
    delete target.destroySoon;
  };
}
