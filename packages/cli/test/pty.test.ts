// `h1kit request` in a terminal: lines typed into a pseudo-terminal (util-linux `script` gives
// the child a real TTY as standard input and output) are each answered before the next is typed,
// and Ctrl-D ends the body. The terminal echoes what is typed, so the answers are looked for in
// their upper-cased form, which the typed text never has.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BIN,
  finished,
  linesOf,
  rawServer,
  type Serving,
  serve,
  track,
  waitFor,
} from './helpers.js';

const SCRIPT = '/usr/bin/script';

const running: Serving[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.stop();
});

/** Quotes one word for the shell `script -c` runs the command with. */
const sh = (word: string): string => `'${word.replaceAll("'", "'\\''")}'`;

describe.runIf(existsSync(SCRIPT))('request in a terminal', () => {
  it('sends each typed line at once and prints its answer before the next is typed', async () => {
    const server = await serve(['--transform', 'upper']);
    running.push(server);
    const command = [process.execPath, BIN, 'request', server.url].map(sh).join(' ');
    // -q quiet, -f flush at once, -e the child's exit code, -c the command; no typescript file.
    const child = track(
      spawn(SCRIPT, ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] }),
    );
    const result = finished(child, 'h1kit request in the terminal to exit');
    let screen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      screen += chunk.toString();
    });
    const typed = ['hello terminal', 'full duplex', 'third line'];
    for (const [i, line] of typed.entries()) {
      child.stdin!.write(`${line}\n`);
      await waitFor(
        child.stdout!,
        () => screen.includes(line.toUpperCase()),
        `the answer to typed line ${i + 1}`,
      );
      // Nothing of the lines not typed yet can have come back.
      for (const later of typed.slice(i + 1)) expect(screen).not.toContain(later.toUpperCase());
    }
    // Ctrl-D at the start of a line: end of input, so the body ends and the response completes.
    child.stdin!.write('\x04');
    const run = await result;
    expect(run.code, run.stderr).toBe(0);
    // The terminal turns each \n into \r\n; the answers are the typed lines, upper-cased.
    expect(screen.replaceAll('\r\n', '\n')).toBe(
      typed.map((line) => `${line}\n${line.toUpperCase()}\n`).join(''),
    );
  });

  it('a server failing mid-body ends the command at once, without waiting for Ctrl-D', async () => {
    // Answers garbage once the first typed line has arrived, with the terminal still open.
    const port = await rawServer((socket) => {
      let seen = '';
      socket.on('data', (chunk: Buffer) => {
        seen += chunk.toString('latin1');
        if (seen.includes('first line')) socket.end('HTTP/1.1 abc\r\n\r\n');
      });
    });
    const command = [process.execPath, BIN, 'request', `http://127.0.0.1:${port}/`]
      .map(sh)
      .join(' ');
    const child = track(
      spawn(SCRIPT, ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] }),
    );
    const result = finished(child, 'h1kit request to exit on the failure, standard input open');
    child.stdin!.write('first line\n');
    const run = await result;
    expect(run.code, run.stderr).toBe(1);
    const screen = linesOf(run.stdout.replaceAll('\r\n', '\n'));
    // The echo of the typed line, then the one line that says what failed.
    expect(screen).toHaveLength(2);
    expect(screen[1]).toMatch(/^h1kit: ERR_H1_INVALID_HEAD: /);
  });
});
