// `h1kit request`: standard input streams into the request body while the response streams to
// standard output, so a line typed in a terminal is answered before the next one is typed.
import type { Readable } from 'node:stream';
import { type ClientExchange, H1Error, type ResponseHead, request } from '@h1kit/duplex';
import { isToken } from '@h1kit/headers';
import { allValues, lastValue, type OptionSpec, parseArgs } from '../args.js';
import { Failure, failureLine, quote, systemText, UsageError } from '../errors.js';
import { fieldOf } from '../fields.js';
import type { Io } from '../io.js';
import { Output } from '../output.js';

/** The options `h1kit request` takes; the names follow curl's where curl has one. */
export const REQUEST_OPTIONS: readonly OptionSpec[] = [
  { name: 'method', short: 'X', value: true },
  { name: 'header', short: 'H', value: true },
  { name: 'trailer', value: true },
  { name: 'include', short: 'i' },
  { name: 'insecure', short: 'k' },
];

/** Methods whose requests carry no body unless a framing field says they do (as in duplex). */
const BODILESS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'DELETE']);

/** What the command line asks for, checked before anything connects. */
interface Plan {
  url: URL;
  method: string;
  headers: Array<[string, string]>;
  trailers: Array<[string, string]>;
  hasBody: boolean;
  include: boolean;
  insecure: boolean;
}

/** Runs `h1kit request`; resolves with the exit code once the response is complete. */
export async function requestCommand(argv: readonly string[], io: Io): Promise<number> {
  const plan = planOf(argv);
  const stdin = plan.hasBody ? io.stdin : undefined;
  let exchange: ClientExchange;
  try {
    exchange = request(plan.url, {
      method: plan.method,
      headers: plan.headers,
      body: plan.hasBody,
      // A connection of its own: nothing pooled outlives the command.
      agent: false,
      // A person at a terminal may type for as long as they like, and so may the server answer.
      headTimeout: 0,
      bodyTimeout: 0,
      ...(plan.insecure ? { tls: { rejectUnauthorized: false } } : {}),
    });
  } catch (error) {
    // request() refuses what it was given before connecting: a mistake on the command line.
    if (error instanceof H1Error) throw new UsageError(failureLine(error));
    throw error;
  }
  const output = new Output(io.stdout, () => exchange.destroy());
  const onInputError = (error: Error): void =>
    exchange.destroy(new Failure(`cannot read standard input: ${systemText(error)}`));
  if (stdin) {
    if (plan.trailers.length > 0) exchange.body.setTrailers(plan.trailers);
    stdin.on('error', onInputError);
    stdin.pipe(exchange.body);
  }
  if (plan.include) {
    exchange.on('informational', (head: ResponseHead) => {
      output.write(headText(head)).catch(() => {});
    });
  }
  try {
    const response = await exchange.response;
    if (plan.include) await output.write(headText(response));
    for await (const piece of response.body) await output.write(piece);
    if (plan.include && response.trailers.length > 0) {
      if (!output.atLineStart) await output.write('\n');
      await output.write(fieldText(response.trailers));
    }
    return 0;
  } catch (error) {
    if (output.failed) {
      if (output.brokenPipe) return 0;
      throw new Failure(`cannot write to standard output: ${systemText(output.failed)}`);
    }
    if (error instanceof Failure) throw error;
    throw new Failure(failureLine(error, plan.url.host));
  } finally {
    if (stdin) cleanUpInput(stdin, exchange, onInputError);
    // A response complete before the body was (the server answered early): the rest of standard
    // input has nowhere to go. Once the exchange is over this does nothing.
    exchange.destroy();
  }
}

/** Stops reading standard input, so that a terminal or pipe left open lets the process exit. */
function cleanUpInput(
  stdin: Readable,
  exchange: ClientExchange,
  onInputError: (error: Error) => void,
): void {
  stdin.unpipe(exchange.body);
  stdin.pause();
  stdin.off('error', onInputError);
  // A read error after the command is nobody's business, and must not crash the process.
  stdin.on('error', () => {});
}

/** Checks the command line and says what to send; throws `UsageError` for any mistake. */
function planOf(argv: readonly string[]): Plan {
  const parsed = parseArgs(argv, REQUEST_OPTIONS, 'request');
  if (parsed.positionals.length === 0) {
    throw new UsageError('request needs a URL (see h1kit request --help)');
  }
  if (parsed.positionals.length > 1) {
    throw new UsageError(
      `request takes one URL, got also ${quote(parsed.positionals[1]!)} (see h1kit request --help)`,
    );
  }
  const url = urlOf(parsed.positionals[0]!);
  const method = lastValue(parsed, 'method') ?? 'POST';
  if (!isToken(method)) throw new UsageError(`bad method ${quote(method)}: a method is a token`);
  const upper = method.toUpperCase();
  if (upper === 'CONNECT') throw new UsageError('request does not open CONNECT tunnels');
  const headers = allValues(parsed, 'header').map((text) => fieldOf(text, '-H'));
  const trailers = allValues(parsed, 'trailer').map((text) => fieldOf(text, '--trailer'));
  const has = (name: string): boolean => headers.some(([n]) => n.toLowerCase() === name);
  if (has('upgrade')) throw new UsageError('request does not switch protocols (-H Upgrade)');
  const hasBody = !BODILESS.has(upper) || has('content-length') || has('transfer-encoding');
  if (trailers.length > 0) {
    if (!hasBody) {
      throw new UsageError(`--trailer needs a request body, and ${upper} sends none`);
    }
    if (has('content-length')) {
      throw new UsageError('--trailer needs a chunked body: drop the Content-Length');
    }
    // RFC 9110 section 6.6.2: say in the head which trailer fields will follow.
    if (!has('trailer')) headers.push(['Trailer', trailers.map(([name]) => name).join(', ')]);
  }
  return {
    url,
    method,
    headers,
    trailers,
    hasBody,
    include: parsed.flags.has('include'),
    insecure: parsed.flags.has('insecure'),
  };
}

/** An http: or https: URL; throws `UsageError` for anything else. */
function urlOf(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`bad URL ${quote(text)}${hintFor(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`bad URL ${quote(text)}: only http: and https: URLs${hintFor(text)}`);
  }
  return url;
}

/** `localhost:8080` parses as a URL of scheme "localhost:": say what was probably meant. */
function hintFor(text: string): string {
  return text.includes('://') ? '' : ` (did you mean http://${text}?)`;
}

/** A response head as text lines, as `-i` prints it: the status line, the fields, a blank line. */
function headText(head: ResponseHead): string {
  const reason = head.reason === '' ? '' : ` ${head.reason}`;
  return `HTTP/${head.version} ${head.status}${reason}\n${fieldText(head.fields)}\n`;
}

function fieldText(fields: ReadonlyArray<readonly [string, string]>): string {
  let text = '';
  for (const [name, value] of fields) text += `${name}: ${value}\n`;
  return text;
}
