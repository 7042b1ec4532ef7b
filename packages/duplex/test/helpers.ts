// Test plumbing shared by the duplex tests: real loopback sockets, real peers, nothing mocked.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ChunkedDecoder, encodeChunk, encodeLastChunk } from '@h1kit/chunked';
import { createServer, type H1Server, type Handler, type ServerOptions } from '@h1kit/duplex';
import { afterEach } from 'vitest';

export async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A raw TCP client that records everything it receives. */
export class RawClient {
  readonly socket: Socket;
  received = Buffer.alloc(0);
  ended = false;
  private waiters: Array<() => void> = [];

  constructor(port: number) {
    this.socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.wake();
    });
    this.socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    this.socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    this.socket.on('error', () => {});
  }

  async connected(): Promise<this> {
    if (this.socket.connecting) await once(this.socket, 'connect');
    return this;
  }

  write(data: string | Uint8Array): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  text(): string {
    return this.received.toString('latin1');
  }

  /** Resolves once the received text satisfies `test` (or rejects when the peer closes first). */
  async until(test: (text: string) => boolean, what = 'expected bytes'): Promise<string> {
    for (;;) {
      const text = this.text();
      if (test(text)) return text;
      if (this.ended)
        throw new Error(`connection ended before ${what}; got ${JSON.stringify(text)}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async untilEnd(): Promise<string> {
    await this.until(() => this.ended, 'the end').catch(() => {});
    return this.text();
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

export async function rawClient(port: number): Promise<RawClient> {
  return new RawClient(port).connected();
}

export async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

/** A self-signed certificate for 127.0.0.1 made with openssl for this test run. */
export function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'h1kit-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The status lines found in a response stream, in order (bodies here never contain one). */
export function statusLines(text: string): string[] {
  return text.match(/HTTP\/1\.[01] \d{3}[^\r]*/g) ?? [];
}

export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Standalone h1kit servers for one test file: `serve()` starts one on a free port, and every one
 * started is force-closed after each test.
 */
export function standaloneServers(): (
  handler: Handler,
  options?: ServerOptions,
) => Promise<{ server: H1Server; port: number }> {
  const servers: H1Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close({ force: true })));
  });
  return async (handler, options = {}) => {
    const server = createServer(handler, options);
    servers.push(server);
    const { port } = await server.listen();
    return { server, port };
  };
}

/** The bound on a wait for something that must happen promptly: a hang otherwise. */
export const BOUND_MS = 3000;

/** Resolves with the promise's value, or with `timedOut` if it has not settled within `ms`. */
export function within<T, U>(promise: Promise<T>, ms: number, timedOut: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<U>((resolve) => {
    timer = setTimeout(() => resolve(timedOut), ms);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** The decoded body of a chunked response in `bytes`, or undefined while it is incomplete. */
export function chunkedBody(bytes: Buffer): Buffer | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const result = new ChunkedDecoder().push(bytes.subarray(end + 4));
  return result.done ? Buffer.concat(result.data) : undefined;
}

/** Waits for the whole chunked response body on `client` and returns it decoded. */
export async function untilChunkedBody(client: RawClient): Promise<Buffer> {
  let body: Buffer | undefined;
  await client.until(() => {
    body = chunkedBody(client.received);
    return body !== undefined;
  }, 'the whole response body');
  return body!;
}

/** A POST request carrying `parts` as its body: chunked (with `trailers`) or Content-Length. */
export function requestWire(
  parts: Uint8Array[],
  chunked: boolean,
  trailers: Array<[string, string]> = [],
): { wire: Buffer; body: Buffer } {
  const body = Buffer.concat(parts);
  if (!chunked) {
    const head = `POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\n\r\n`;
    return { wire: Buffer.concat([Buffer.from(head), body]), body };
  }
  const pieces: Uint8Array[] = [
    Buffer.from('POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n'),
  ];
  for (const part of parts) pieces.push(...encodeChunk(part));
  pieces.push(encodeLastChunk(trailers));
  return { wire: Buffer.concat(pieces), body };
}
