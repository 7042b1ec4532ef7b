// curl against `h1kit serve`: another client's chunked upload, answered while it is still going.
import { spawn } from 'node:child_process';
import { afterEach, expect, it } from 'vitest';
import { finished, type Serving, serve, track, waitFor } from './helpers.js';

const running: Serving[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.stop();
});

function curl(args: readonly string[]) {
  return track(spawn('/usr/bin/curl', ['-sS', '--no-buffer', ...args], { stdio: 'pipe' }));
}

it('answers each line of a curl upload while curl is still uploading', async () => {
  const server = await serve(['--transform', 'upper']);
  running.push(server);
  // -T . uploads standard input chunked, sending what it reads at once (-T - would wait to fill
  // its buffer); `Expect:` off so the body goes without waiting for 100 Continue.
  const child = curl(['-T', '.', '-H', 'Expect:', `${server.url}shout`]);
  const result = finished(child, 'curl to exit');
  for (const line of ['hello\n', 'full duplex\n']) {
    child.stdin!.write(line);
    // The answer comes back while curl's standard input, and so the upload, is still open.
    await waitFor(
      child.stdout!,
      (text) => text.includes(line.toUpperCase()),
      `curl printing ${line}`,
    );
  }
  child.stdin!.end();
  const run = await result;
  // curl 7.88 draws its progress meter for -T . even with -s; an error would say "curl: (N)".
  expect(run.stderr).not.toContain('curl:');
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toBe('HELLO\nFULL DUPLEX\n');
});

it('sends the sha256 trailer that curl shows with --raw', async () => {
  const server = await serve(['--transform', 'sha256']);
  running.push(server);
  const child = curl([
    '-i',
    '--raw',
    '-H',
    'Transfer-Encoding: chunked',
    '--data-binary',
    '@-',
    server.url,
  ]);
  const result = finished(child, 'curl to exit');
  child.stdin!.end('abc');
  const run = await result;
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toMatch(/^Trailer: Upload-Sha256\r$/m);
  expect(run.stdout).toContain('3 bytes received, 3 in all\n');
  // sha256("abc"), in the chunked trailer section after the last-chunk.
  expect(run.stdout).toMatch(
    /\r\n0\r\nUpload-Sha256: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\r\n\r\n$/,
  );
});
