// `h1kit serve` over TLS with a self-signed certificate made by openssl for the test, and
// `h1kit request` to its https: URL: refused without -k (one line, exit 1), served with it.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { have, linesOf, runCli, type Serving, selfSignedFiles, serve } from './helpers.js';

describe.runIf(have('openssl'))('TLS', () => {
  let files: ReturnType<typeof selfSignedFiles> | undefined;
  const running: Serving[] = [];
  beforeAll(() => {
    files = selfSignedFiles();
  });
  afterAll(() => files?.cleanup());
  afterEach(async () => {
    for (const server of running.splice(0)) await server.stop();
  });

  async function tlsServer(): Promise<Serving> {
    const server = await serve([
      '--transform',
      'lines',
      '--tls-cert',
      files!.cert,
      '--tls-key',
      files!.key,
    ]);
    running.push(server);
    return server;
  }

  it('listens on an https: URL and answers with -k', async () => {
    const server = await tlsServer();
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    const run = await runCli(['request', '-k', '-i', server.url], 'secure\nlines\n');
    expect(run.stderr).toBe('');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^HTTP\/1\.1 200 OK\n/);
    expect(run.stdout.endsWith('\n\n1: secure\n2: lines\n')).toBe(true);
  });

  it('refuses the self-signed certificate without -k, in one line naming the code', async () => {
    const server = await tlsServer();
    const run = await runCli(['request', server.url], 'x');
    expect(run.code, run.stderr).toBe(1);
    expect(linesOf(run.stderr)).toHaveLength(1);
    expect(run.stderr.trimEnd()).toMatch(
      /^h1kit: TLS handshake with 127\.0\.0\.1:\d+ failed: self-signed certificate; -k skips the check \(ERR_H1_TLS_FAILED\)$/,
    );
  });

  it('plain HTTP to the TLS port fails in one line naming the code', async () => {
    const server = await tlsServer();
    const run = await runCli(['request', server.url.replace('https:', 'http:')], 'x');
    expect(run.code, run.stderr).toBe(1);
    expect(linesOf(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/^h1kit: ERR_H1_[A-Z_]+: /);
  });

  it('a key that is no PEM: one line, exit 1', async () => {
    const run = await runCli([
      'serve',
      '--port',
      '0',
      '--tls-cert',
      files!.cert,
      '--tls-key',
      files!.cert,
    ]);
    expect(run.code, run.stderr).toBe(1);
    expect(linesOf(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/^h1kit: cannot use --tls-cert\/--tls-key: /);
  });
});
