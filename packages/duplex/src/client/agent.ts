// Keep-alive connections for the client, pooled per origin: a connection goes back to its pool
// only once its exchange ended cleanly on both sides and the response let it stay open, and it
// waits there, unreferenced, until the next request to that origin or its idle timeout.
import type { Duplex } from 'node:stream';
import { checkNumbers } from '../io/options.js';

/**
 * Options of `new Agent(options)`: pool sizes and idle timeout. Each is checked by the
 * constructor (`ERR_H1_INVALID_OPTION` for a negative, NaN or infinite value).
 *
 * @example
 * ```ts
 * import { Agent, type AgentOptions, request } from '@h1kit/duplex';
 * // at most 8 connections to the backend; a 9th request at once waits for one to come free
 * const options: AgentOptions = { maxConnectionsPerOrigin: 8, idleTimeout: 1_000 };
 * const backend = new Agent(options);
 * const response = await request('http://127.0.0.1:8080/health', { agent: backend }).response;
 * ```
 */
export interface AgentOptions {
  /** Connections open at once per origin, busy and idle together; requests beyond wait. Default 256. */
  maxConnectionsPerOrigin?: number;
  /**
   * How long an idle connection is kept, in ms. Default 4 000: under node:http's keep-alive
   * timeout of 5 s, so that the client, not the server, closes an idle connection.
   */
  idleTimeout?: number;
}

/** A connection the agent hands out: `reused` says it carried an exchange before. */
export type Lease = (socket: Duplex, reused: boolean) => void;

interface Waiting {
  open: () => Duplex;
  lease: Lease;
}

/** One origin's connections: those waiting for a request, and the requests waiting for one. */
class Pool {
  busy = 0;
  readonly idle: Duplex[] = [];
  readonly waiting: Waiting[] = [];
}

/**
 * A pooled connection's watch while it is idle, made on its first return to the pool and kept:
 * its listeners stay on (and ignore a busy connection), its timer is re-armed, so that a
 * connection going back and forth between requests costs no listener and no timer each time.
 */
interface IdleState {
  idle: boolean;
  timer: NodeJS.Timeout;
  gone: () => void;
}

const kIdle = Symbol('h1kit.agent.idle');
type Pooled = Duplex & { [kIdle]?: IdleState; unref?: () => void; ref?: () => void };

/**
 * A keep-alive agent: per-origin pools of connections with a size limit and an idle timeout.
 * `request()` uses `defaultAgent` unless given another, or `agent: false` for a connection of
 * its own that closes after the exchange.
 *
 * @example
 * ```ts
 * import { Agent, request } from '@h1kit/duplex';
 * const agent = new Agent({ maxConnectionsPerOrigin: 16, idleTimeout: 2000 });
 * const exchange = request('http://127.0.0.1:8080/', { agent });
 * const response = await exchange.response;
 * for await (const chunk of response.body) process.stdout.write(chunk);
 * await agent.close(); // idle connections now, busy ones once their exchange ends
 * ```
 */
export class Agent {
  readonly maxConnectionsPerOrigin: number;
  readonly idleTimeout: number;
  private readonly pools = new Map<string, Pool>();
  private closing = false;
  private drained: Array<() => void> = [];

  constructor(options: AgentOptions = {}) {
    checkNumbers(options, ['maxConnectionsPerOrigin'], 1);
    checkNumbers(options, ['idleTimeout']);
    this.maxConnectionsPerOrigin = options.maxConnectionsPerOrigin ?? 256;
    this.idleTimeout = options.idleTimeout ?? 4_000;
  }

  /**
   * Connections open per origin key, idle and busy: a snapshot, for metrics and tests. The key is
   * the origin (`http://127.0.0.1:8080`), with the TLS options' identity added for https:.
   */
  get connections(): Map<string, { busy: number; idle: number }> {
    const counts = new Map<string, { busy: number; idle: number }>();
    for (const [key, pool] of this.pools) {
      counts.set(key, { busy: pool.busy, idle: pool.idle.length });
    }
    return counts;
  }

  /**
   * Gives `lease` a connection to `key`'s origin: an idle one, a new one from `open()`, or, with
   * the origin at its limit, the first one to come free. Synchronous unless it has to wait.
   */
  lease(key: string, open: () => Duplex, lease: Lease): void {
    const pool = this.poolOf(key);
    const idle = pool.idle.pop();
    if (idle) {
      this.wake(idle as Pooled);
      pool.busy++;
      lease(idle, true);
      return;
    }
    if (this.closing || pool.busy < this.maxConnectionsPerOrigin) {
      pool.busy++;
      lease(open(), false);
      return;
    }
    pool.waiting.push({ open, lease });
  }

  /**
   * Takes back a connection `lease` gave: kept for the next request on `reuse` (its exchange
   * ended cleanly and the response let it stay open), closed on `close`, and on `taken` left to
   * the caller who took it over (a hijack). A request waiting for the origin gets its turn.
   */
  release(key: string, socket: Duplex, how: 'reuse' | 'close' | 'taken'): void {
    const pool = this.poolOf(key);
    pool.busy--;
    const waiting = pool.waiting.shift();
    if (how !== 'reuse') this.unwatch(socket as Pooled);
    if (how === 'reuse' && !socket.destroyed && !this.closing) {
      if (waiting) {
        pool.busy++;
        waiting.lease(socket, true);
        return;
      }
      this.keepIdle(key, pool, socket as Pooled);
    } else {
      if (how !== 'taken' && !socket.destroyed) socket.destroy();
      if (waiting) {
        pool.busy++;
        waiting.lease(waiting.open(), false);
      }
    }
    this.forgetIfEmpty(key, pool);
  }

  /**
   * Ends the agent gracefully: idle connections close now, busy ones once their exchange ends;
   * resolves when none is left. New requests still get connections of their own.
   */
  close(): Promise<void> {
    this.closeIdle();
    if (this.pools.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  /** Closes the idle connections now and refuses to keep any more; exchanges in flight go on. */
  destroy(): void {
    this.closeIdle();
  }

  /** Keeps no connection from now on, and closes those kept. */
  private closeIdle(): void {
    this.closing = true;
    for (const pool of this.pools.values()) {
      for (const socket of pool.idle.splice(0)) {
        this.unwatch(socket as Pooled);
        socket.destroy();
      }
    }
    for (const [key, pool] of this.pools) this.forgetIfEmpty(key, pool);
  }

  private poolOf(key: string): Pool {
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new Pool();
      this.pools.set(key, pool);
    }
    return pool;
  }

  private keepIdle(key: string, pool: Pool, socket: Pooled): void {
    let state = socket[kIdle];
    if (state) {
      state.timer.refresh();
    } else {
      // An idle connection that hears from the server (a late byte, its close) is done.
      const gone = (): void => {
        const watched = socket[kIdle];
        if (!watched?.idle) return;
        watched.idle = false;
        const at = pool.idle.indexOf(socket);
        if (at !== -1) pool.idle.splice(at, 1);
        this.unwatch(socket);
        socket.destroy();
        this.forgetIfEmpty(key, pool);
      };
      const timer = setTimeout(gone, this.idleTimeout);
      timer.unref();
      state = { idle: false, timer, gone };
      socket[kIdle] = state;
      // First in line: the read that completes an exchange hands the connection back to the
      // pool from inside the wire's listener, and must not then be taken for a stray byte here.
      socket.prependListener('data', gone);
      socket.on('end', gone);
      socket.on('close', gone);
      socket.on('error', gone);
    }
    state.idle = true;
    socket.resume();
    // An idle connection does not keep the process alive, as node:http's agent's do not.
    socket.unref?.();
    pool.idle.push(socket);
  }

  /** Takes a connection out of its idle state, for a request. */
  private wake(socket: Pooled): void {
    const state = socket[kIdle];
    if (!state) return;
    state.idle = false;
    socket.pause();
    socket.ref?.();
  }

  /** The connection leaves the agent: its watch goes with it. */
  private unwatch(socket: Pooled): void {
    const state = socket[kIdle];
    if (!state) return;
    socket[kIdle] = undefined;
    clearTimeout(state.timer);
    socket.off('data', state.gone);
    socket.off('end', state.gone);
    socket.off('close', state.gone);
    socket.off('error', state.gone);
  }

  private forgetIfEmpty(key: string, pool: Pool): void {
    if (pool.busy > 0 || pool.idle.length > 0 || pool.waiting.length > 0) return;
    this.pools.delete(key);
    if (this.closing && this.pools.size === 0) {
      for (const resolve of this.drained.splice(0)) resolve();
    }
  }
}

/**
 * The agent `request()` uses unless given `agent`: one pool per origin for the whole process,
 * with the `Agent` defaults (256 connections per origin, 4 s idle timeout). Its idle connections
 * do not keep the process alive.
 *
 * @example
 * ```ts
 * import { defaultAgent, request } from '@h1kit/duplex';
 * const response = await request('http://127.0.0.1:8080/').response;
 * for await (const chunk of response.body) process.stdout.write(chunk);
 * defaultAgent.connections; // Map { 'http://127.0.0.1:8080' => { busy: 0, idle: 1 } }
 * await defaultAgent.close(); // at shutdown: from now on it keeps no connection
 * ```
 */
export const defaultAgent = new Agent();
