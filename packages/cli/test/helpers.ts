// Test plumbing for the h1kit command: the BUILT binary run as a child process (what a user
// runs), real sockets on 127.0.0.1, and every child killed and every server closed after each test.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, assert } from 'vitest';
import { inTime } from '../../../testkit/bounded.js';

export { inTime, within } from '../../../testkit/bounded.js';

/** The built executable; the tests run it as `node dist/bin.js`, the way `npx h1kit` does. */
export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/**
 * Bound on a wait that includes starting a Node process: slower than an in-process wait, most of
 * all with several test files starting processes at once on a small machine.
 */
export const PROCESS_MS = 10_000;

const children = new Set<ChildProcess>();
const servers = new Set<Server>();
afterEach(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await inTime(once(child, 'close'), 'a child process killed after its test', PROCESS_MS);
    }
  }
  children.clear();
  for (const server of servers) {
    await inTime(
      new Promise((resolve) => server.close(resolve)),
      'a raw server closed after its test',
    );
  }
  servers.clear();
});

function assertBuilt(): void {
  if (!existsSync(BIN)) {
    assert.fail(`${BIN} is missing: build first (node scripts/build.mjs h1kit, or pnpm test)`);
  }
}

/** Starts a child process, killed after the test if it is still running then. */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  // A child that exits early must not make a later write to its stdin throw (EPIPE).
  child.stdin?.on('error', () => {});
  return child;
}

/** `node dist/bin.js ...args` with piped stdio. */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  assertBuilt();
  return track(
    spawn(process.execPath, [BIN, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    }),
  );
}

/** What a finished run printed and how it ended. */
export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

/** Collects a child's output until it exits; fails the test if it has not within `ms`. */
export function finished(child: ChildProcess, what: string, ms = PROCESS_MS): Promise<Run> {
  const run = collectRun(child, what, ms);
  // Often awaited only after other waits: a child that fails to exit meanwhile must fail the
  // test when it is awaited, not as an unhandled rejection before.
  run.catch(() => {});
  return run;
}

async function collectRun(child: ChildProcess, what: string, ms: number): Promise<Run> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  const [code] = (await inTime(once(child, 'close'), what, ms)) as [number | null];
  const stdoutBytes = Buffer.concat(out);
  return {
    code,
    stdout: stdoutBytes.toString(),
    stderr: Buffer.concat(err).toString(),
    stdoutBytes,
  };
}

/** Runs h1kit with `input` on standard input (none: stdin ends at once) until it exits. */
export function runCli(args: readonly string[], input: string | Uint8Array = ''): Promise<Run> {
  const child = spawnCli(args);
  child.stdin!.end(input);
  return finished(child, `h1kit ${args.join(' ')} to exit`);
}

/** The lines of a stream of text (no empty last one). */
export function linesOf(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Text appearing on a stream: resolves with everything read so far once `test` matches it. */
export function waitFor(
  stream: NodeJS.ReadableStream,
  test: (text: string) => boolean,
  what: string,
  ms = PROCESS_MS,
): Promise<string> {
  let text = '';
  const seen = new Promise<string>((resolve) => {
    const onData = (chunk: Buffer | string): void => {
      text += chunk.toString();
      if (test(text)) {
        stream.off('data', onData);
        resolve(text);
      }
    };
    stream.on('data', onData);
  });
  return inTime(seen, what, ms).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; read so far: ${JSON.stringify(text)}`);
  });
}

/** A running `h1kit serve`: its URL, and its standard error so far. */
export interface Serving {
  url: string;
  port: number;
  child: ChildProcess;
  stderr(): string;
  /** Sends SIGINT and resolves with the exit code once it has closed. */
  stop(): Promise<number | null>;
}

/** Starts `h1kit serve --port 0 ...args` and resolves once it says where it listens. */
export async function serve(args: readonly string[] = []): Promise<Serving> {
  const child = spawnCli(['serve', '--port', '0', ...args]);
  let errText = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    errText += chunk.toString();
  });
  const exited = once(child, 'close');
  const printed = await waitFor(
    child.stdout!,
    (text) => /listening on \S+/.test(text),
    'h1kit serve to print its URL',
  );
  const url = /listening on (\S+)/.exec(printed)![1]!;
  return {
    url,
    port: Number(new URL(url).port),
    child,
    stderr: () => errText,
    async stop() {
      child.kill('SIGINT');
      const [code] = (await inTime(exited, 'h1kit serve to close on SIGINT', PROCESS_MS)) as [
        number | null,
      ];
      return code;
    },
  };
}

/** A raw TCP server on 127.0.0.1 whose connections `onSocket` handles; closed after the test. */
export async function rawServer(onSocket: (socket: Socket) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket);
  });
  const close = server.close.bind(server);
  server.close = (callback) => {
    for (const socket of sockets) socket.destroy();
    return close(callback);
  };
  servers.add(server);
  server.listen(0, '127.0.0.1');
  await inTime(once(server, 'listening'), 'the raw server to listen');
  return (server.address() as AddressInfo).port;
}

/** A port that was just listened on and closed: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await inTime(once(server, 'listening'), 'a scratch server to listen');
  const { port } = server.address() as AddressInfo;
  await inTime(new Promise((resolve) => server.close(resolve)), 'the scratch server to close');
  return port;
}

/** Whether a program is on the PATH. */
export function have(program: string): boolean {
  try {
    execFileSync('which', [program], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A self-signed certificate for 127.0.0.1 made with openssl, as PEM files in a scratch dir. */
export function selfSignedFiles(): { dir: string; cert: string; key: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'h1kit-cli-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
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
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  // Read once here so that a missing file fails now, not inside the server.
  readFileSync(cert);
  return { dir, cert, key, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
