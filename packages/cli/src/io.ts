// Where a command reads and writes: the process's own streams from the binary, any streams from
// `main()` (tests, embedding), and a signal that stops a long-running command.
import type { Readable, Writable } from 'node:stream';

/**
 * The streams a command uses, and a signal that stops `serve` (as SIGINT does) when given.
 *
 * @example
 * ```ts
 * import { PassThrough } from 'node:stream';
 * import { type Io, main } from 'h1kit';
 * const stdout = new PassThrough();
 * const io: Partial<Io> = { stdout, stderr: new PassThrough() };
 * const code = await main(['--version'], io); // 0, the version on stdout
 * ```
 */
export interface Io {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /**
   * Stops `h1kit serve` gracefully when aborted. Without it, serve stops on SIGINT and SIGTERM
   * of the process.
   */
  signal?: AbortSignal;
}

/** Writes one line (newline added) to `stream`. */
export function say(stream: Writable, line: string): void {
  stream.write(`${line}\n`);
}
