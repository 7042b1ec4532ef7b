// Opening the client's connections, naming their origin for the agent's pools, and saying in
// h1kit's codes what a socket's own error meant: the connect, the TLS handshake, or the
// connection once it carried HTTP.
import { isIP, connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { H1Error } from '@h1kit/headers';
import { connectionClosed, DuplexErrorCode } from '../errors.js';

/** Opens a connection to `url`'s origin: TCP, with TLS for https:. */
export function openSocket(url: URL, tls: ConnectionOptions | undefined): Duplex {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (url.protocol === 'https:') {
    return tlsConnect({
      host,
      port: Number(url.port || 443),
      // SNI names hosts only: an IP literal is not sent (RFC 6066 section 3).
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...tls,
      allowHalfOpen: true,
    } as ConnectionOptions);
  }
  const socket = netConnect({ host, port: Number(url.port || 80), allowHalfOpen: true });
  socket.setNoDelay(true);
  return socket;
}

const tlsIds = new WeakMap<object, number>();
let nextTlsId = 1;

/**
 * The agent's pool for a request: its origin, and for https: which TLS options it connects with
 * (the same options object, the same pool), since a connection made with one CA must not carry
 * a request that asked for another.
 */
export function originKey(url: URL, tls: ConnectionOptions | undefined): string {
  const origin = originOf(url);
  if (url.protocol !== 'https:' || tls === undefined) return origin;
  let id = tlsIds.get(tls);
  if (id === undefined) {
    id = nextTlsId++;
    tlsIds.set(tls, id);
  }
  return `${origin} tls#${id}`;
}

/**
 * The request module hands the same URL object to every request for the same URL text, so its
 * origin is built (and flattened, for the pool's map) once rather than per request.
 */
const origins = new WeakMap<URL, { host: string; protocol: string; origin: string }>();

function originOf(url: URL): string {
  const known = origins.get(url);
  // A URL object of the caller's may have been changed since: the cache holds only while its
  // parts are the ones it was made from.
  if (known && known.host === url.host && known.protocol === url.protocol) return known.origin;
  const origin = `${url.protocol}//${url.host}`;
  origins.set(url, { host: url.host, protocol: url.protocol, origin });
  return origin;
}

/** How far a connection got: what a socket error means depends on it. */
export type Stage = 'connecting' | 'handshaking' | 'open';

/** Tells `reached` each stage a new connection reaches: the handshake (TLS only), then open. */
export function followStages(socket: Duplex, reached: (stage: Stage) => void): void {
  if ((socket as Duplex & { encrypted?: boolean }).encrypted === true) {
    socket.once('connect', () => reached('handshaking'));
    socket.once('secureConnect', () => reached('open'));
  } else {
    socket.once('connect', () => reached('open'));
  }
}

/** A socket error as an `H1Error` saying what failed; the socket's own error is the cause. */
export function socketFailure(error: Error, stage: Stage): H1Error {
  const code = (error as { code?: string }).code;
  const what = code ? `${code}: ${error.message}` : error.message;
  if (stage === 'connecting') {
    return new H1Error(DuplexErrorCode.CONNECT_FAILED, `could not connect (${what})`, undefined, {
      cause: error,
    });
  }
  if (stage === 'handshaking') {
    return new H1Error(
      DuplexErrorCode.TLS_FAILED,
      `the TLS handshake failed (${what})`,
      undefined,
      {
        cause: error,
      },
    );
  }
  return connectionClosed(`the connection failed (${what})`, error);
}
