// `h1kit demo`: a server on a free loopback port and a scripted ping-pong with the client. Each
// line is sent only once the answer to the previous one came back, which a server that reads the
// whole body before answering (half duplex) could never do: the demo would stop at the first line.
import { createHash } from 'node:crypto';
import { type ClientExchange, request } from '@h1kit/duplex';
import { noPositionals, parseArgs } from '../args.js';
import { Failure } from '../errors.js';
import { type Io, say } from '../io.js';
import { SHA256_TRAILER } from '../transforms.js';
import { type RunningServer, startServer } from './serve.js';

/** How long the demo waits for any one answer before it says the exchange is stuck. */
const ANSWER_MS = 5000;

const LINES = ['hello', 'each line is answered', 'before the next one is sent', 'goodbye'];
const PIECES = ['a first piece, ', 'a second piece, ', 'and the last one.'];

/** Runs `h1kit demo`; resolves with 0 once the transcript is printed and everything is closed. */
export async function demoCommand(argv: readonly string[], io: Io): Promise<number> {
  noPositionals(parseArgs(argv, [], 'demo'), 'demo');
  const out = (line: string): void => say(io.stdout, line);
  const servers: RunningServer[] = [];
  const exchanges: ClientExchange[] = [];
  const log = (line: string): void => out(`  [server log] ${line}`);
  try {
    const lines = await startServer({ port: 0, host: '127.0.0.1', transform: 'lines', log });
    servers.push(lines);
    out(`h1kit demo: h1kit serve --transform lines, listening on ${lines.url}`);
    out('POST, chunked; each line goes out only once the answer to the one before came back:');
    const first = request(lines.url, { method: 'POST', agent: false });
    exchanges.push(first);
    const response = await inTime(first.response, 'the response head');
    out(
      `< HTTP/${response.version} ${response.status} ${response.reason} (before any body was sent)`,
    );
    const answers = lineReader(response.body);
    for (const line of LINES) {
      out(`> ${line}`);
      first.body.write(`${line}\n`);
      out(`< ${await inTime(answers.next(), `the answer to ${JSON.stringify(line)}`)}`);
    }
    first.body.end();
    await inTime(answers.rest(), 'the end of the response');
    out('(request body ended, response complete)');

    const digest = await startServer({ port: 0, host: '127.0.0.1', transform: 'sha256', log });
    servers.push(digest);
    out('');
    out(`h1kit serve --transform sha256, listening on ${digest.url}`);
    out('an upload in pieces, each counted as it arrives, the digest sent as a trailer:');
    const second = request(digest.url, { method: 'PUT', agent: false });
    exchanges.push(second);
    const counted = await inTime(second.response, 'the response head');
    out(
      `< HTTP/${counted.version} ${counted.status} ${counted.reason}, Trailer: ${counted.headers.trailer}`,
    );
    const counts = lineReader(counted.body);
    const hash = createHash('sha256');
    for (const piece of PIECES) {
      out(`> ${JSON.stringify(piece)}`);
      hash.update(piece);
      second.body.write(piece);
      out(`< ${await inTime(counts.next(), `the count of ${JSON.stringify(piece)}`)}`);
    }
    second.body.end();
    await inTime(counts.rest(), 'the end of the response');
    const trailer = counted.trailers.find(([name]) => name.toLowerCase() === 'upload-sha256');
    const expected = hash.digest('hex');
    out(`< trailer ${SHA256_TRAILER}: ${trailer?.[1] ?? '(none)'}`);
    if (trailer?.[1] !== expected) {
      throw new Failure(`demo: the trailer does not match the digest of the upload (${expected})`);
    }
    out(`  matches the SHA-256 of what was sent (node:crypto)`);
    for (const running of servers.splice(0)) await inTime(running.close(), 'the server to close');
    out('');
    out('done: both servers closed.');
    return 0;
  } finally {
    for (const exchange of exchanges) exchange.destroy();
    for (const running of servers) await running.close(true);
  }
}

/** The promise's value, or a `Failure` naming `what` if it has not come within ANSWER_MS. */
async function inTime<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Failure(`demo: ${what} did not come within ${ANSWER_MS} ms`)),
      ANSWER_MS,
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A response body read a line at a time, however its chunks are cut. */
function lineReader(body: AsyncIterable<Uint8Array>): {
  next(): Promise<string>;
  rest(): Promise<string>;
} {
  const chunks = body[Symbol.asyncIterator]();
  let buffered = '';
  const decoder = new TextDecoder();
  return {
    async next() {
      for (;;) {
        const newline = buffered.indexOf('\n');
        if (newline !== -1) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          return line;
        }
        const chunk = await chunks.next();
        if (chunk.done) throw new Failure('demo: the response ended before the answer came');
        buffered += decoder.decode(chunk.value, { stream: true });
      }
    },
    async rest() {
      for (;;) {
        const chunk = await chunks.next();
        if (chunk.done) return buffered + decoder.decode();
        buffered += decoder.decode(chunk.value, { stream: true });
      }
    },
  };
}
