import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { afterEach, expect, it } from 'vitest';
import { inTime } from '../testkit/bounded.js';
// @ts-expect-error: a plain ESM example without declarations
import { uppercaseApp } from './fastify-upper.mjs';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await inTime(Promise.all(apps.splice(0).map((app) => app.close())), 'the apps closed');
});

async function start(): Promise<string> {
  const app: FastifyInstance = await uppercaseApp();
  apps.push(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}

it('answers each line curl uploads while the upload goes on, behind the auth hook', async () => {
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

it('refuses an upload without the token through fastify, and serves fastify routes', async () => {
  const base = await start();
  const refused = await fetch(`${base}/upper`, { method: 'PUT', body: 'secret' });
  expect(refused.status).toBe(401);
  expect(await refused.json()).toEqual({ error: 'send Authorization: Bearer demo' });
  const index = await fetch(`${base}/`, { headers: { Authorization: 'Bearer demo' } });
  expect(await index.json()).toEqual({ try: 'PUT /upper with a streaming body' });
});
