import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { afterEach, expect, it } from 'vitest';
import { inTime } from '../testkit/bounded.js';
// @ts-expect-error: a plain ESM example without declarations
import { uppercaseApp } from './express-upper.mjs';

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function start(): Promise<string> {
  const server: Server = uppercaseApp().app.listen(0, '127.0.0.1');
  servers.push(server);
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

it('answers each line curl uploads while the upload goes on, behind the async auth middleware', async () => {
  const base = await start();
  const curl = spawn('curl', [
    '-sS',
    '-N',
    '-T',
    '.',
    '-H',
    'Authorization: Bearer demo',
    `${base}/upper`,
  ]);
  let out = '';
  curl.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  for (const line of ['hello\n', 'full duplex\n']) {
    curl.stdin.write(line);
    while (!out.includes(line.toUpperCase())) {
      await inTime(
        once(curl.stdout, 'data'),
        `curl printing ${JSON.stringify(line.toUpperCase())}`,
      );
    }
  }
  curl.stdin.end();
  const [code] = await inTime(once(curl, 'close'), 'curl to exit');
  expect(code).toBe(0);
  expect(out).toBe('HELLO\nFULL DUPLEX\n');
});

it('refuses an upload without the token through express, and serves express routes', async () => {
  const base = await start();
  const refused = await fetch(`${base}/upper`, { method: 'PUT', body: 'secret' });
  expect(refused.status).toBe(401);
  expect(await refused.json()).toEqual({ error: 'send Authorization: Bearer demo' });
  const index = await fetch(`${base}/`);
  expect(await index.json()).toEqual({ try: 'PUT /upper with a streaming body' });
});
