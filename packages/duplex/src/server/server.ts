import {
  type AddressInfo,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { ChunkedDecoderOptions } from '@h1kit/chunked';
import { DEFAULT_HEAD_LIMITS } from '../io/llhttp.js';
import { Connection, type Handler } from './connection.js';

export type { Handler } from './connection.js';

export interface ServerOptions {
  /** Serve TLS with these options (key, cert, ...) instead of plain TCP. */
  tls?: TlsOptions;
  /** Largest request head, in bytes. Default 16384. */
  maxHeadBytes?: number;
  /** Most field lines in a request head. Default 128. */
  maxFields?: number;
  /** Time allowed from the first byte of a request to the end of its head, in ms. Default 30 000. */
  headTimeout?: number;
  /** Time an idle keep-alive connection is kept open between requests, in ms. Default 5 000. */
  idleTimeout?: number;
  /** Limits of the chunked decoder for request bodies. */
  chunked?: ChunkedDecoderOptions;
  /** Unread request body bytes discarded after a response before the connection is closed instead. */
  maxDrainBytes?: number;
  /** Called with errors no exchange can receive (a failing handler after its response began). */
  onError?: (error: Error) => void;
  /** Called when a request is refused before any handler sees it (bad head, smuggling shape, timeout). */
  onClientError?: (error: Error) => void;
}

export interface H1Server {
  /** Starts listening; resolves with the bound address. */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /**
   * Stops accepting connections and closes idle ones; exchanges in progress finish first unless
   * `force`, which destroys every connection. Resolves once every connection is gone.
   */
  close(options?: { force?: boolean }): Promise<void>;
  /** Connections currently open. */
  readonly connections: number;
  /** The underlying net or tls server. */
  readonly server: NetServer;
}

const defaults = { ...DEFAULT_HEAD_LIMITS, headTimeout: 30_000, idleTimeout: 5_000 };

/**
 * A standalone HTTP/1.1 server built from the h1kit parts: heads parsed by llhttp, bodies by the
 * chunked decoder, heads written by the serializer. Every request becomes a `DuplexExchange`
 * whose request body can be read while the response is written. No timeout ever cuts an active
 * exchange; only a slow head and an idle keep-alive connection are timed.
 */
export function createServer(handler: Handler, options: ServerOptions = {}): H1Server {
  const settings = { ...defaults, ...options };
  const connections = new Set<Connection>();
  let closing = false;
  const host = {
    forget: (connection: Connection) => connections.delete(connection),
    closing: () => closing,
  };
  const onSocket = (socket: Socket): void => {
    if (closing) {
      socket.destroy();
      return;
    }
    connections.add(new Connection(socket, handler, settings, host));
  };
  const server = options.tls
    ? createTlsServer({ ...options.tls, allowHalfOpen: true }, onSocket)
    : createNetServer({ allowHalfOpen: true }, onSocket);

  return {
    server,
    get connections() {
      return connections.size;
    },
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close({ force = false } = {}) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const connection of connections) connection.shutdown(force);
      return closed;
    },
  };
}
