// `h1kit serve`: a full-duplex server that answers each piece of a request body as it arrives.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import type { TlsOptions } from 'node:tls';
import { createServer, type DuplexExchange, type H1Server } from '@h1kit/duplex';
import { lastValue, noPositionals, type OptionSpec, parseArgs, portOf } from '../args.js';
import { Failure, failureLine, quote, systemText, UsageError } from '../errors.js';
import { type Io, say } from '../io.js';
import { createTransform, TRANSFORM_NAMES, type TransformName } from '../transforms.js';

/** The options `h1kit serve` takes. */
export const SERVE_OPTIONS: readonly OptionSpec[] = [
  { name: 'port', short: 'p', value: true },
  { name: 'host', value: true },
  { name: 'tls-cert', value: true },
  { name: 'tls-key', value: true },
  { name: 'transform', short: 't', value: true },
];

/** Where `h1kit serve` listens unless told: loopback only, so nothing is exposed by default. */
export const DEFAULT_PORT = 8080;
/** See DEFAULT_PORT. */
export const DEFAULT_HOST = '127.0.0.1';

/** What a running server is started with. */
export interface ServerSettings {
  port: number;
  host: string;
  transform: TransformName;
  tls?: TlsOptions;
  /** Told one line per exchange, and of requests refused before any exchange. */
  log: (line: string) => void;
}

/** A server started by `startServer`: its URL, and a close that waits for open exchanges. */
export interface RunningServer {
  url: string;
  server: H1Server;
  close(force?: boolean): Promise<void>;
}

/** Runs `h1kit serve` until SIGINT or SIGTERM (or `io.signal`); resolves with the exit code. */
export async function serveCommand(argv: readonly string[], io: Io): Promise<number> {
  const parsed = parseArgs(argv, SERVE_OPTIONS, 'serve');
  noPositionals(parsed, 'serve');
  const portText = lastValue(parsed, 'port');
  const port = portText === undefined ? DEFAULT_PORT : portOf(portText);
  const host = lastValue(parsed, 'host') ?? DEFAULT_HOST;
  if (host === '') throw new UsageError('bad --host "": give a name or an address');
  const transform = transformOf(lastValue(parsed, 'transform') ?? 'echo');
  const certFile = lastValue(parsed, 'tls-cert');
  const keyFile = lastValue(parsed, 'tls-key');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together: give both or neither');
  }
  const tls =
    certFile !== undefined && keyFile !== undefined
      ? { cert: readPem(certFile, '--tls-cert'), key: readPem(keyFile, '--tls-key') }
      : undefined;

  const running = await startServer({
    port,
    host,
    transform,
    log: (line) => say(io.stderr, line),
    ...(tls ? { tls } : {}),
  });
  say(io.stdout, `h1kit serve: listening on ${running.url} (transform ${transform})`);
  await stopRequested(io, running, io.stderr);
  return 0;
}

/**
 * Starts the server (in this process) and resolves once it listens; rejects with a `Failure`
 * when it cannot (a port in use, TLS files that do not load).
 */
export async function startServer(settings: ServerSettings): Promise<RunningServer> {
  let server: H1Server;
  try {
    server = createServer((exchange) => answer(exchange, settings), {
      ...(settings.tls ? { tls: settings.tls } : {}),
      onClientError: (error) => settings.log(`refused a request: ${failureLine(error)}`),
      onError: (error) => settings.log(`exchange failed: ${failureLine(error)}`),
    });
  } catch (error) {
    // tls.createServer parses the key and certificate at once: a bad PEM is said here.
    throw new Failure(`cannot use --tls-cert/--tls-key: ${systemText(error)}`);
  }
  let address: AddressInfo;
  try {
    address = await server.listen(settings.port, settings.host);
  } catch (error) {
    throw new Failure(`cannot listen on ${settings.host}:${settings.port}: ${systemText(error)}`);
  }
  // Only now: before, the listen() promise takes the error. An error of the listening socket
  // afterwards (EMFILE on accept) is news, not a crash.
  server.on('error', (error: Error) => settings.log(`server error: ${failureLine(error)}`));
  const scheme = settings.tls ? 'https' : 'http';
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `${scheme}://${hostPart}:${address.port}/`,
    server,
    close: (force = false) => server.close({ force }),
  };
}

/** The transform named on the command line. */
function transformOf(text: string): TransformName {
  if (!(TRANSFORM_NAMES as readonly string[]).includes(text)) {
    throw new UsageError(
      `unknown transform ${quote(text)}: give one of ${TRANSFORM_NAMES.join(', ')}`,
    );
  }
  return text as TransformName;
}

function readPem(file: string, option: string): string {
  try {
    return readFileSync(file, 'latin1');
  } catch (error) {
    throw new Failure(`cannot read ${option} ${quote(file)}: ${systemText(error)}`);
  }
}

/**
 * One exchange: the response head goes out at once, then each piece of the request body is
 * answered as it is read, and the log line is written when both bodies are complete.
 */
async function answer(exchange: DuplexExchange, settings: ServerSettings): Promise<void> {
  const started = performance.now();
  const { method, target, version } = exchange.request;
  const transform = createTransform(settings.transform);
  // HEAD has no response body, and an HTTP/1.0 peer cannot read chunked (so no trailers).
  const hasBody = method !== 'HEAD';
  const chunked = hasBody && version === '1.1';
  const fields: Array<[string, string]> = [['Content-Type', contentTypeOf(exchange, transform)]];
  if (chunked && transform.trailer !== undefined) fields.push(['Trailer', transform.trailer]);
  let received = 0;
  const out = exchange.respond(200, fields);
  const logLine = (): string =>
    `${method} ${target} 200 in=${received}B out=${out.written}B ${Math.round(performance.now() - started)}ms`;
  exchange.done.then(
    () => settings.log(logLine()),
    (error: unknown) => settings.log(`${logLine()} failed: ${failureLine(error)}`),
  );
  if (!hasBody) {
    out.end();
    return;
  }
  try {
    for await (const piece of exchange.body) {
      received += piece.length;
      const reply = transform.push(piece);
      if (reply !== undefined && reply.length > 0 && !out.write(reply)) await drained(out);
    }
    const { answer: last, trailers } = transform.end();
    let tail = last;
    if (trailers !== undefined) {
      if (chunked) out.setTrailers(trailers);
      else tail = Buffer.concat([tail ?? Buffer.alloc(0), trailerLines(trailers)]);
    }
    out.end(tail);
  } catch {
    // The exchange failed (the client went away, a malformed body): `done` rejects with the same
    // error and the log line names it; the connection is already being closed.
  }
}

/** Echo sends back the request's own type; the others answer in text. */
function contentTypeOf(
  exchange: DuplexExchange,
  transform: ReturnType<typeof createTransform>,
): string {
  if (transform.contentType !== 'application/octet-stream') return transform.contentType;
  const given = exchange.request.headers['content-type'];
  return typeof given === 'string' ? given : transform.contentType;
}

/** Trailers written into a body that cannot carry a trailer section, one field a line. */
function trailerLines(trailers: Array<[string, string]>): Buffer {
  return Buffer.from(trailers.map(([name, value]) => `${name}: ${value}\n`).join(''), 'latin1');
}

/** Resolves once `out` has room again, or once it is gone (the exchange then fails on its own). */
function drained(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}

/**
 * Waits for SIGINT or SIGTERM (or `io.signal`), then closes: exchanges in progress finish first,
 * and a second signal cuts them.
 */
async function stopRequested(io: Io, running: RunningServer, stderr: Writable): Promise<void> {
  let stops = 0;
  let closed: Promise<void> | undefined;
  let wake!: () => void;
  const first = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const onStop = (): void => {
    stops++;
    if (stops === 1) {
      const open = running.server.connections;
      say(
        stderr,
        open > 0
          ? `h1kit serve: closing; waiting for ${open} open connection(s) (signal again to cut them)`
          : 'h1kit serve: closing',
      );
      closed = running.close(false);
      wake();
    } else if (stops === 2) {
      say(stderr, 'h1kit serve: cutting open connections');
      void running.close(true);
    }
  };
  const signal = io.signal;
  if (signal) {
    if (signal.aborted) onStop();
    else signal.addEventListener('abort', onStop, { once: true });
  } else {
    process.on('SIGINT', onStop);
    process.on('SIGTERM', onStop);
  }
  try {
    await first;
    await closed;
  } finally {
    signal?.removeEventListener('abort', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGTERM', onStop);
  }
  say(stderr, 'h1kit serve: closed');
}
