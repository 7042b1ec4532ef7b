import type { Socket } from 'node:net';

/**
 * What `enableHijack` returns: the hijacked connections, and how to end them. node:http no longer
 * tracks a connection once it is hijacked, so shutdown has to go through this too.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { enableHijack, type HijackControl } from '@h1kit/duplex';
 * const server = createServer((req, res) => res.end());
 * const control: HijackControl = enableHijack(server, (req) => req.url === '/stream', onHijack);
 * process.once('SIGTERM', async () => {
 *   server.close(); // node:http: no new connections; its callback waits for hijacked ones too
 *   await control.close(); // hijacked exchanges finish, then their connections close
 *   console.log(control.connections.size); // 0
 * });
 * ```
 */
export interface HijackControl {
  /** Hijacked connections still open. */
  readonly connections: ReadonlySet<Socket>;
  /** Destroys every hijacked connection still open (server.close() leaves them alone). */
  destroyAll(): void;
  /**
   * Drains the hijack: refuses new hijacks (503, the request rejected with SERVER_CLOSING), closes
   * each connection once its exchange ends instead of handing it back, and resolves when every
   * hijacked connection has closed; `force` destroys them first. node:http's `server.close()`
   * waits for these connections too, so call both (see the README).
   */
  close(options?: { force?: boolean }): Promise<void>;
  /** Removes the hooks from the server; connections already taken are not affected. */
  disable(): void;
}

/**
 * The connections one server's hijack has taken, and their graceful end. `close()` marks the
 * server as closing (new hijacks are refused, finished exchanges close their connection instead
 * of handing it back) and resolves once the last taken connection has closed.
 */
export class HijackedConnections {
  readonly open = new Set<Socket>();
  private closing = false;
  private drained: Array<() => void> = [];

  /** True once `close()` was called: take nothing more, hand nothing back. */
  get isClosing(): boolean {
    return this.closing;
  }

  add(socket: Socket): void {
    this.open.add(socket);
  }

  delete(socket: Socket): void {
    if (!this.open.delete(socket) || !this.closing || this.open.size > 0) return;
    for (const resolve of this.drained.splice(0)) resolve();
  }

  /** Resolves once every taken connection has closed; with `force`, destroys them first. */
  close(force: boolean): Promise<void> {
    this.closing = true;
    if (force) this.destroyAll();
    if (this.open.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  destroyAll(): void {
    for (const socket of this.open) socket.destroy();
  }
}
