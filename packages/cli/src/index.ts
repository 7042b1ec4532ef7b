/**
 * The `h1kit` command: `serve` (a full-duplex server), `request` (a streaming client), `demo` and
 * `bench`, and the same as a function for tests and embedding.
 *
 * @packageDocumentation
 * @module h1kit
 */
import { readFileSync } from 'node:fs';
import { wantsHelp } from './args.js';
import { benchCommand } from './commands/bench.js';
import { demoCommand } from './commands/demo.js';
import { requestCommand } from './commands/request.js';
import { serveCommand } from './commands/serve.js';
import { FAILURE_EXIT, failureLine, quote, USAGE_EXIT, UsageError } from './errors.js';
import { type Io, say } from './io.js';
import { BENCH_USAGE, DEMO_USAGE, REQUEST_USAGE, SERVE_USAGE, TOP_USAGE } from './usage.js';

export { H1Error } from '@h1kit/duplex';
export type { Io } from './io.js';
export type { Transform, TransformName } from './transforms.js';
export { createTransform, TRANSFORM_NAMES } from './transforms.js';

interface Command {
  usage: string;
  run: (argv: readonly string[], io: Io) => Promise<number>;
}

// A Map, so that a command named "constructor" or "__proto__" is simply unknown.
const COMMANDS = new Map<string, Command>([
  ['serve', { usage: SERVE_USAGE, run: serveCommand }],
  ['request', { usage: REQUEST_USAGE, run: requestCommand }],
  ['demo', { usage: DEMO_USAGE, run: demoCommand }],
  ['bench', { usage: BENCH_USAGE, run: benchCommand }],
]);

/**
 * Runs the h1kit command line `argv` (the arguments after the program name) and resolves with
 * its exit code: 0 done, 1 a failure at run time (unreachable host, TLS, protocol error), 2 a
 * command line it cannot use. It never rejects: every failure is reported as one line,
 * `h1kit: <message>`, on `io.stderr` (set `H1KIT_DEBUG=1` for the stack as well). Streams not
 * given in `io` are the process's own.
 *
 * @example
 * ```ts
 * import { main } from 'h1kit';
 * const controller = new AbortController();
 * const serving = main(['serve', '--port', '0', '--transform', 'upper'], {
 *   signal: controller.signal,
 * });
 * // ... later: close it as SIGINT would, once its open exchanges are done.
 * controller.abort();
 * process.exitCode = await serving; // 0
 * ```
 */
export async function main(argv: readonly string[], io: Partial<Io> = {}): Promise<number> {
  const streams: Io = {
    // Read only when a command needs it: touching process.stdin sets up a handle for it.
    get stdin() {
      return io.stdin ?? process.stdin;
    },
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    signal: io.signal,
  };
  try {
    return await run(argv, streams);
  } catch (error) {
    if (error instanceof UsageError) {
      say(streams.stderr, `h1kit: ${error.message}`);
      return USAGE_EXIT;
    }
    say(streams.stderr, `h1kit: ${failureLine(error)}`);
    if (process.env.H1KIT_DEBUG) say(streams.stderr, String((error as Error)?.stack ?? error));
    return FAILURE_EXIT;
  }
}

async function run(argv: readonly string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(TOP_USAGE);
    return USAGE_EXIT;
  }
  if (first === '-h' || first === '--help') {
    io.stdout.write(TOP_USAGE);
    return 0;
  }
  if (first === '-V' || first === '--version') {
    say(io.stdout, `h1kit ${version()}`);
    return 0;
  }
  if (first === 'help') {
    const topic = rest[0];
    if (topic === undefined) {
      io.stdout.write(TOP_USAGE);
      return 0;
    }
    const command = COMMANDS.get(topic);
    if (!command) throw new UsageError(`no help for ${quote(topic)}: not a command`);
    io.stdout.write(command.usage);
    return 0;
  }
  if (first.startsWith('-'))
    throw new UsageError(`unknown option ${quote(first)} (see h1kit --help)`);
  const command = COMMANDS.get(first);
  if (!command) throw new UsageError(`unknown command ${quote(first)} (see h1kit --help)`);
  if (wantsHelp(rest)) {
    io.stdout.write(command.usage);
    return 0;
  }
  return command.run(rest, io);
}

/** The package's version, from its package.json (one directory up from src/ and from dist/). */
function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return String(manifest.version);
}
