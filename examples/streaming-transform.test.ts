import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { inTime } from '../testkit/bounded.js';
// @ts-expect-error: a plain ESM example without declarations
import { uppercaseServer } from './streaming-transform.mjs';

const servers: Array<import('node:http').Server> = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

it('answers each uploaded line while curl is still uploading', async () => {
  const server = uppercaseServer();
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const curl = spawn('curl', [
    '-sS',
    '-N',
    '-T',
    '.',
    '-H',
    'Expect:',
    `http://127.0.0.1:${port}/upper`,
  ]);
  let out = '';
  curl.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  for (const line of ['hello\n', 'full duplex\n']) {
    curl.stdin.write(line);
    // The upper-cased line comes back before the upload ends: stdin is still open.
    while (!out.includes(line.toUpperCase())) {
      await inTime(
        once(curl.stdout, 'data'),
        `curl printing ${JSON.stringify(line.toUpperCase())} (got ${JSON.stringify(out)})`,
      );
    }
  }
  curl.stdin.end();
  const [code] = await inTime(once(curl, 'close'), 'curl to exit');
  expect(code).toBe(0);
  expect(out).toBe('HELLO\nFULL DUPLEX\n');
});
