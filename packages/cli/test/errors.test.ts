// What the command says when it cannot go on: --help everywhere (exit 0), one line and exit 2
// for a command line it cannot use, one line and exit 1 for an unreachable server or a server
// that breaks the protocol. Never a stack trace.
import { describe, expect, it } from 'vitest';
import { closedPort, linesOf, rawServer, runCli } from './helpers.js';

const COMMANDS = ['serve', 'request', 'demo', 'bench'];

describe('help', () => {
  it.each([['--help'], ['-h'], ['help']])('h1kit %s prints the usage and exits 0', async (flag) => {
    const run = await runCli([flag]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^usage: h1kit <command>/);
    for (const command of COMMANDS) expect(run.stdout).toContain(`  ${command} `);
    expect(run.stderr).toBe('');
  });

  it.each(COMMANDS)('h1kit %s --help and -h print its usage and exit 0', async (command) => {
    for (const args of [
      [command, '--help'],
      [command, '-h'],
      ['help', command],
    ]) {
      const run = await runCli(args);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^usage: h1kit ${command}`));
      expect(run.stderr).toBe('');
    }
  });

  it('help wins over the other arguments', async () => {
    const run = await runCli(['request', '--frob', '--help']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^usage: h1kit request/);
  });

  it('no command prints the usage on standard error and exits 2', async () => {
    const run = await runCli([]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^usage: h1kit <command>/);
  });

  it('--version prints the version of the package', async () => {
    const run = await runCli(['--version']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^h1kit \d+\.\d+\.\d+\n$/);
  });
});

describe('a command line h1kit cannot use: one line, exit 2', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['an unknown command', ['frob'], /^h1kit: unknown command "frob"/],
    ['an unknown top-level option', ['--frob'], /^h1kit: unknown option "--frob"/],
    ['an unknown option', ['serve', '--frob'], /^h1kit: unknown option --frob for serve/],
    ['an unknown short option', ['request', '-z', 'http://x/'], /^h1kit: unknown option -z/],
    ['a missing value', ['serve', '--port'], /^h1kit: option --port needs a value$/],
    ['a missing short value', ['request', 'http://x/', '-H'], /needs a value$/],
    ['a value given to a flag', ['request', '--include=yes', 'http://x/'], /takes no value$/],
    ['a port that is no number', ['serve', '--port', 'eighty'], /^h1kit: bad port "eighty"/],
    ['a port out of range', ['serve', '--port', '65536'], /^h1kit: bad port "65536"/],
    ['an unknown transform', ['serve', '-t', 'rot13'], /^h1kit: unknown transform "rot13"/],
    ['a certificate without key', ['serve', '--tls-cert', 'x.pem'], /go together/],
    ['an argument serve does not take', ['serve', 'extra'], /unexpected argument "extra"/],
    ['no URL', ['request'], /^h1kit: request needs a URL/],
    ['two URLs', ['request', 'http://a/', 'http://b/'], /takes one URL/],
    ['a string that is no URL', ['request', 'http://[::1'], /^h1kit: bad URL "http:\/\/\[::1"$/],
    ['a URL without scheme', ['request', 'localhost:8080'], /did you mean http:\/\/localhost:8080/],
    ['a scheme other than http', ['request', 'ftp://x/'], /only http: and https: URLs/],
    ['a header without colon', ['request', '-H', 'X-Nope', 'http://x/'], /^h1kit: bad -H "X-Nope"/],
    ['a header with space before colon', ['request', '-H', 'X-A : b', 'http://x/'], /whitespace/],
    ['a header with a newline', ['request', '-H', 'X-A: b\nc', 'http://x/'], /bad -H "X-A: b\\nc"/],
    ['a header with a control char', ['request', '-H', 'X-A: b\u0001', 'http://x/'], /bad -H/],
    ['a header beyond latin1', ['request', '-H', 'X-A: \u{1F600}', 'http://x/'], /latin1/],
    ['a bad trailer', ['request', '--trailer', ': x', 'http://x/'], /^h1kit: bad --trailer/],
    ['a trailer on a GET', ['request', '-X', 'GET', '--trailer', 'A: b', 'http://x/'], /GET/],
    ['a method that is no token', ['request', '-X', 'GE T', 'http://x/'], /^h1kit: bad method/],
    ['a framing request() refuses', ['request', '-H', 'Content-Length: x', 'http://x/'], /ERR_H1_/],
  ];
  it.each(cases)('%s', async (_, args, message) => {
    const run = await runCli(args);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toBe('');
    expect(linesOf(run.stderr)).toHaveLength(1);
    expect(run.stderr.trimEnd()).toMatch(message);
  });
});

describe('a failure at run time: one line, exit 1', () => {
  it('a refused connection', async () => {
    const port = await closedPort();
    const run = await runCli(['request', `http://127.0.0.1:${port}/`], 'body');
    expect(run.code, run.stderr).toBe(1);
    expect(linesOf(run.stderr)).toEqual([
      `h1kit: cannot connect to 127.0.0.1:${port}: connection refused (ERR_H1_CONNECT_FAILED)`,
    ]);
  });

  it('a host that does not resolve', async () => {
    const run = await runCli(['request', '-X', 'GET', 'http://h1kit-test.invalid/']);
    expect(run.code, run.stderr).toBe(1);
    expect(linesOf(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(
      /^h1kit: cannot connect to h1kit-test\.invalid: .*ERR_H1_CONNECT_FAILED/,
    );
  });

  it('a server answering garbage: the H1Error code is named', async () => {
    const port = await rawServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 abc\r\n\r\n'));
    });
    const run = await runCli(['request', `http://127.0.0.1:${port}/`], 'body');
    expect(run.code, run.stderr).toBe(1);
    expect(linesOf(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/^h1kit: ERR_H1_INVALID_HEAD: /);
  });

  it('a server that closes inside the response body', async () => {
    const port = await rawServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort'));
    });
    const run = await runCli(['request', '-X', 'GET', `http://127.0.0.1:${port}/`]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toBe('short');
    expect(linesOf(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/^h1kit: ERR_H1_INCOMPLETE_BODY: /);
  });

  it('serve on a port already in use', async () => {
    const port = await rawServer(() => {});
    const run = await runCli(['serve', '--port', String(port)]);
    expect(run.code, run.stderr).toBe(1);
    expect(linesOf(run.stderr)).toEqual([
      `h1kit: cannot listen on 127.0.0.1:${port}: address already in use`,
    ]);
  });

  it('serve with a certificate file that does not exist', async () => {
    const run = await runCli(['serve', '--tls-cert', '/nonexistent/c.pem', '--tls-key', 'k.pem']);
    expect(run.code, run.stderr).toBe(1);
    expect(linesOf(run.stderr)).toEqual([
      'h1kit: cannot read --tls-cert "/nonexistent/c.pem": no such file',
    ]);
  });
});
