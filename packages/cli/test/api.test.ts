// The programmatic way in, in this process: main() with streams of its own and a signal that
// stops `serve` as SIGINT would. Everything it opened must be closed when it resolves.
import { PassThrough } from 'node:stream';
import { main } from 'h1kit';
import { describe, expect, it } from 'vitest';
import { inTime } from './helpers.js';

/** Sockets and servers this process holds open. */
const tcpHandles = (): number =>
  process.getActiveResourcesInfo().filter((name) => name.startsWith('TCP')).length;

/** Whether `check()` holds within `ms`, polled while I/O goes on. */
async function holdsWithin(check: () => boolean, ms = 3000): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

/** A stream that keeps what is written to it, as text. */
function sink(): PassThrough & { text(): string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return Object.assign(stream, { text: () => text });
}

describe('main()', () => {
  it('serves and requests in one process, and serve stops on its signal', async () => {
    const before = tcpHandles();
    const controller = new AbortController();
    const serveOut = sink();
    const serveErr = sink();
    const serving = main(['serve', '--port', '0', '--transform', 'lines'], {
      stdout: serveOut,
      stderr: serveErr,
      signal: controller.signal,
    });
    while (!/listening on \S+/.test(serveOut.text())) {
      await inTime(new Promise((resolve) => serveOut.once('data', resolve)), 'the listening line');
    }
    const url = /listening on (\S+)/.exec(serveOut.text())![1]!;
    const stdin = new PassThrough();
    const stdout = sink();
    const requesting = main(['request', url], { stdin, stdout, stderr: sink() });
    stdin.write('ping\n');
    while (!stdout.text().includes('1: ping\n')) {
      await inTime(new Promise((resolve) => stdout.once('data', resolve)), 'the answer to ping');
    }
    stdin.end('pong\n');
    expect(await inTime(requesting, 'request to finish')).toBe(0);
    expect(stdout.text()).toBe('1: ping\n2: pong\n');
    controller.abort();
    expect(await inTime(serving, 'serve to close on its signal')).toBe(0);
    // Nothing left open: no listening socket, no connection of either side.
    expect(await holdsWithin(() => tcpHandles() === before), 'TCP handles back to before').toBe(
      true,
    );
    expect(serveErr.text()).toMatch(/^POST \/ 200 in=10B out=16B \d+ms\nh1kit serve: closing/);
  });

  it('reports a bad command line as one line and 2, without throwing', async () => {
    const stderr = sink();
    expect(await main(['serve', '--port', '-1'], { stderr, stdout: sink() })).toBe(2);
    expect(stderr.text()).toBe('h1kit: bad port "-1": give a number from 0 to 65535\n');
  });
});
