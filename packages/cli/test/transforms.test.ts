// `h1kit serve` with each transform, driven by `h1kit request` through pipes: the exact answers,
// the sha256 trailer against node:crypto, the head and trailers of -i, and a request without a body.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fc, test } from '@fast-check/vitest';
import { createTransform, TRANSFORM_NAMES } from 'h1kit';
import { afterEach, describe, expect, it } from 'vitest';
import { inTime, linesOf, runCli, type Serving, serve } from './helpers.js';

const running: Serving[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.stop();
});

async function served(transform: string): Promise<Serving> {
  const server = await serve(['--transform', transform]);
  running.push(server);
  return server;
}

/** The head, body and trailer lines of `h1kit request -i` output. */
function splitIncluded(text: string): { head: string[]; rest: string } {
  const end = text.indexOf('\n\n');
  expect(end, `a head ending in a blank line in ${JSON.stringify(text)}`).toBeGreaterThan(0);
  return { head: text.slice(0, end).split('\n'), rest: text.slice(end + 2) };
}

describe('serve and request through pipes', () => {
  it('echo sends the bytes back exactly, binary and UTF-8 included', async () => {
    const server = await served('echo');
    const input = Buffer.concat([Buffer.from('héllo wörld\n'), randomBytes(100_000)]);
    const run = await runCli(['request', server.url], input);
    expect(run.stderr).toBe('');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdoutBytes.equals(input)).toBe(true);
  });

  it('upper upper-cases ASCII letters and leaves the rest', async () => {
    const server = await served('upper');
    const run = await runCli(['request', server.url], 'hello, Wörld 42\nsecond line\n');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('HELLO, WöRLD 42\nSECOND LINE\n');
  });

  it('lines numbers every line, a last one without newline included', async () => {
    const server = await served('lines');
    const run = await runCli(['request', server.url], 'one\ntwo\n\nfour');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('1: one\n2: two\n3: \n4: four\n');
  });

  it('sha256 counts each piece and ends with the digest as a declared trailer', async () => {
    const server = await served('sha256');
    const input = randomBytes(300_000);
    const run = await runCli(['request', '-i', server.url], input);
    expect(run.stderr).toBe('');
    expect(run.code, run.stderr).toBe(0);
    const { head, rest } = splitIncluded(run.stdout);
    expect(head[0]).toBe('HTTP/1.1 200 OK');
    expect(head).toContain('Trailer: Upload-Sha256');
    expect(head).toContain('Transfer-Encoding: chunked');
    const lines = linesOf(rest);
    const trailer = lines.pop();
    expect(trailer).toBe(`Upload-Sha256: ${createHash('sha256').update(input).digest('hex')}`);
    let total = 0;
    for (const line of lines) {
      const match = /^(\d+) bytes received, (\d+) in all$/.exec(line);
      expect(match, line).not.toBeNull();
      total += Number(match![1]);
      expect(Number(match![2])).toBe(total);
    }
    expect(total).toBe(input.length);
  });

  it('-X GET sends no body and does not read standard input', async () => {
    const server = await served('sha256');
    const run = await runCli(['request', '-i', '-X', 'GET', `${server.url}nothing`], 'ignored');
    expect(run.code, run.stderr).toBe(0);
    const { head, rest } = splitIncluded(run.stdout);
    expect(head[0]).toBe('HTTP/1.1 200 OK');
    // The digest of no bytes at all.
    expect(rest).toBe(`Upload-Sha256: ${createHash('sha256').digest('hex')}\n`);
    await server.stop();
    running.pop();
    expect(server.stderr()).toMatch(/^GET \/nothing 200 in=0B out=0B \d+ms$/m);
  });

  it('serve logs one line per exchange and closes on SIGINT with exit code 0', async () => {
    const server = await served('upper');
    await runCli(['request', `${server.url}a?b=c`], 'abc');
    await runCli(['request', '-X', 'PUT', `${server.url}two`], 'hello\n');
    running.pop();
    expect(await server.stop()).toBe(0);
    const log = linesOf(server.stderr());
    expect(log[0]).toMatch(/^POST \/a\?b=c 200 in=3B out=3B \d+ms$/);
    expect(log[1]).toMatch(/^PUT \/two 200 in=6B out=6B \d+ms$/);
    expect(log.slice(2)).toEqual(['h1kit serve: closing', 'h1kit serve: closed']);
  });
});

describe('request fields and trailers', () => {
  it('sends -H fields in the head and --trailer fields after the body, declared in Trailer', async () => {
    const seen: Array<{ headers: IncomingMessage['headers']; body: string; trailers: object }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        seen.push({ headers: req.headers, body, trailers: { ...req.trailers } });
        res.setHeader('Trailer', 'Server-Timing');
        res.addTrailers({ 'Server-Timing': 'total;dur=1' });
        res.end('ok');
      });
    });
    server.listen(0, '127.0.0.1');
    await inTime(once(server, 'listening'), 'the node:http server to listen');
    const { port } = server.address() as AddressInfo;
    try {
      const run = await runCli(
        [
          'request',
          '-i',
          '-H',
          'X-One: 1',
          '-H',
          'X-Two:   two  ',
          '--trailer',
          'Checksum: abc',
          '--trailer',
          'Done: yes',
          `http://127.0.0.1:${port}/up`,
        ],
        'payload',
      );
      expect(run.stderr).toBe('');
      expect(run.code, run.stderr).toBe(0);
      expect(seen).toHaveLength(1);
      expect(seen[0]!.headers['x-one']).toBe('1');
      expect(seen[0]!.headers['x-two']).toBe('two');
      expect(seen[0]!.headers.trailer).toBe('Checksum, Done');
      expect(seen[0]!.headers['transfer-encoding']).toBe('chunked');
      expect(seen[0]!.body).toBe('payload');
      expect(seen[0]!.trailers).toEqual({ checksum: 'abc', done: 'yes' });
      // The response's trailers come after its body, on a line of their own.
      expect(run.stdout.endsWith('\n\nok\nServer-Timing: total;dur=1\n')).toBe(true);
    } finally {
      server.closeAllConnections();
      await inTime(new Promise((resolve) => server.close(resolve)), 'the node:http server close');
    }
  });
});

describe('createTransform', () => {
  const pieces = fc
    .array(fc.uint8Array({ maxLength: 40 }), { maxLength: 12 })
    .map((list) => list.map((bytes) => bytes.map((b) => (b % 3 === 0 ? 0x0a : b))));

  test.prop([pieces])('every transform answers the same however the body is cut', (list) => {
    const whole = Buffer.concat(list);
    for (const name of TRANSFORM_NAMES) {
      const answer = (cut: Uint8Array[]): { body: string; trailers: unknown } => {
        const transform = createTransform(name);
        const parts = cut.map((piece) => transform.push(piece) ?? new Uint8Array());
        const end = transform.end();
        return {
          body: Buffer.concat([...parts, end.answer ?? new Uint8Array()]).toString('latin1'),
          trailers: end.trailers,
        };
      };
      const cut = answer(list.map((piece) => Buffer.from(piece)));
      const once = answer(whole.length === 0 ? [] : [whole]);
      // sha256 says something per piece by design; its digest must not depend on the cut.
      if (name === 'sha256') expect(cut.trailers).toEqual(once.trailers);
      else expect(cut).toEqual(once);
    }
  });

  it('lines answers a line longer than 64 KiB in parts, so memory stays bounded', () => {
    const transform = createTransform('lines');
    const answer = transform.push(Buffer.alloc(64 * 1024 + 10, 0x61));
    expect(Buffer.from(answer!).toString()).toBe(`1: ${'a'.repeat(64 * 1024)}\n`);
    expect(Buffer.from(transform.end().answer!).toString()).toBe(`2: ${'a'.repeat(10)}\n`);
  });
});
