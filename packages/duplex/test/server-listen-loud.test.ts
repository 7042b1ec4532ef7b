// A listen() that fails is as loud as net.Server's: with nobody awaiting its promise and no
// 'error' listener, the process hears of it (an unhandled rejection ends it, as net's throw
// would); with an 'error' listener, that listener has it and nothing is left unhandled.
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { inTime } from './helpers.js';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const busy: Array<ReturnType<typeof createServer>> = [];
afterEach(() => {
  for (const server of busy.splice(0)) server.close();
});

async function busyPort(): Promise<number> {
  const server = createServer();
  busy.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** Runs `body` in a fresh node with `createServer` from the built package; resolves with its exit. */
function run(body: string): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const script = `import { createServer } from ${JSON.stringify(dist)};\n${body}`;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { timeout: 10_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr, stdout });
      },
    );
  });
}

describe('listen() failing', () => {
  it('ends a process that neither awaits it nor listens for errors, naming the error', async () => {
    const port = await busyPort();
    const result = await inTime(
      run(
        `createServer(() => {}).listen(${port}, '127.0.0.1');\nsetTimeout(() => console.log('still running'), 2000);`,
      ),
      'the child process',
      12_000,
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/EADDRINUSE/);
    expect(result.stdout).not.toMatch(/still running/);
  });

  it('goes to an error listener, with nothing unhandled, when nobody awaits it', async () => {
    const port = await busyPort();
    const result = await inTime(
      run(
        `const server = createServer(() => {});\nserver.on('error', (e) => console.log('heard', e.code));\nprocess.on('unhandledRejection', () => console.log('unhandled'));\nserver.listen(${port}, '127.0.0.1');\nsetTimeout(() => console.log('done'), 200);`,
      ),
      'the child process',
      12_000,
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('heard EADDRINUSE\ndone\n');
  });
});
