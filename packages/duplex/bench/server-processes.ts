// What every server benchmark here does with its servers: each runs in a process of its own
// (the bench file itself, started with --serve KIND), pinned to the last core while the load runs
// on the first, and answers questions about its CPU time.
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { availableParallelism } from 'node:os';
import { createServer, type DuplexExchange, enableHijack } from '@h1kit/duplex';

export const cores = availableParallelism();

/** Pins every thread of `pid` to `cpu`; false where taskset is missing or refuses. */
export function pin(pid: number, cpu: number): boolean {
  if (cores < 2) return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** In a server process: tells the parent its port, and its CPU time whenever asked. */
export function serving(port: number): void {
  process.on('message', (message) => {
    if (message !== 'cpu') return;
    const used = process.cpuUsage();
    process.send!({ cpu: (used.user + used.system) / 1000 });
  });
  process.send!({ port });
}

export interface ServerProcess {
  child: ChildProcess;
  port: number;
}

/** Starts `file --serve kind` and waits for its port; pinned to the last core when asked. */
export async function startServer(
  file: string,
  kind: string,
  pinned: boolean,
): Promise<ServerProcess> {
  const child = fork(file, ['--serve', kind], { stdio: 'inherit' });
  const [message] = (await once(child, 'message')) as [{ port: number }];
  if (pinned) pin(child.pid!, cores - 1);
  return { child, port: message.port };
}

/** CPU time the server process has used so far, in ms. */
export async function cpuOf(child: ChildProcess): Promise<number> {
  const reply = once(child, 'message') as Promise<[{ cpu: number }]>;
  child.send('cpu');
  return (await reply)[0].cpu;
}

export async function stopServer(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.kill();
  await exited;
}

/**
 * In a server process: serves `handle` on h1kit's standalone server, or on a node:http server
 * that hijacks every request, and tells the parent the port.
 */
export async function serveH1kit(
  path: 'standalone' | 'hijack',
  handle: (exchange: DuplexExchange) => void,
): Promise<void> {
  if (path === 'standalone') {
    serving((await createServer(handle).listen()).port);
    return;
  }
  const server = createHttpServer((_req, res) => res.end());
  enableHijack(
    server,
    () => true,
    (hijacked) => handle(hijacked.exchange()),
  );
  server.listen(0, '127.0.0.1', () => serving((server.address() as { port: number }).port));
}
