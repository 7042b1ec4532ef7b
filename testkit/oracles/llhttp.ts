// The reference parser for differential tests: llhttp, driven through Node's internal
// HTTPParser exactly as node:http drives it. Test support only; the library's own llhttp access
// lives in one module of @h1kit/duplex.
import { createRequire } from 'node:module';
// The binding's shape only: the verdicts compared are llhttp's own, never the library's code.
import type { HttpParserBinding } from '../../packages/duplex/src/io/llhttp.js';

const { HTTPParser, methods } = createRequire(import.meta.url)('_http_common') as HttpParserBinding;

// kOnHeadersComplete reports llhttp's method enum, which is not an index into `methods` for every
// method (QUERY is 46 there, 34 in `methods`), so learn the mapping by parsing each method once.
const methodByCode = new Map<number, string>();
for (const name of methods) {
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.REQUEST, {});
  parser[HTTPParser.kOnHeadersComplete] = (
    _major: number,
    _minor: number,
    _h: unknown,
    code: number,
  ) => {
    methodByCode.set(code, name);
    return 1;
  };
  parser.execute(Buffer.from(`${name} / HTTP/1.1\r\n\r\n`, 'latin1'));
  parser.close();
}

/** The llhttp this Node bundles: 9.3.1 on Node 20, 9.4.4 on 22 and 24, 9.4.3 on 26. */
export const llhttpVersion: string = process.versions.llhttp ?? 'unknown';

const [major = 0, minor = 0] = llhttpVersion.split('.').map(Number);

/**
 * How the bundled llhttp versions differ where a differential test can see it. Each entry is
 * checked on the line it runs on by "the listed differences are real" (headers' framing test).
 */
export const llhttpDiffers = {
  /**
   * An empty Transfer-Encoding value: 9.3 ignores the field (no body); 9.4 refuses the message
   * (llhttp pull request 874), as h1kit's `framing()` does on every line.
   */
  refusesEmptyTransferEncoding: major > 9 || (major === 9 && minor >= 4),
} as const;

export interface LlhttpMessage {
  versionMajor: number;
  versionMinor: number;
  method: string | undefined;
  url: string;
  statusCode: number | undefined;
  statusMessage: string | undefined;
  /** Flat [name, value, ...] as `IncomingMessage.rawHeaders`. */
  headers: string[];
  upgrade: boolean;
  shouldKeepAlive: boolean;
  body: Buffer;
  /** Flat [name, value, ...] trailer fields. */
  trailers: string[];
  complete: boolean;
}

export interface LlhttpResult {
  messages: LlhttpMessage[];
  error: { code: string; reason: string } | undefined;
}

export interface LlhttpOptions {
  /** Responses only: the request was HEAD, so the response has no body. */
  headResponse?: boolean;
  /** Call `finish()` after the last chunk, as on end of stream. Default true. */
  finish?: boolean;
  /**
   * Stop after the first message completes: later chunks are not executed. Bytes after the
   * message within the same chunk are still parsed by llhttp (as a next message), so read
   * `messages[0]` and not `error` when a chunk may hold more than one message.
   */
  single?: boolean;
  maxHeaderSize?: number;
}

/** Parses `chunks` (one `execute` each) as llhttp does inside node:http. */
export function llhttpParse(
  type: 'request' | 'response',
  chunks: readonly Uint8Array[],
  options: LlhttpOptions = {},
): LlhttpResult {
  const parser = new HTTPParser();
  parser.initialize(
    type === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE,
    {},
    options.maxHeaderSize ?? 0,
    0,
  );
  const messages: LlhttpMessage[] = [];
  let pendingHeaders: string[] = [];
  let pendingUrl = '';
  let bodyParts: Buffer[] = [];
  let stopped = false;
  let current: LlhttpMessage | undefined;

  parser[HTTPParser.kOnHeaders] = (headers: string[], url: string) => {
    pendingHeaders = pendingHeaders.concat(headers);
    pendingUrl += url;
  };
  parser[HTTPParser.kOnHeadersComplete] = (
    versionMajor: number,
    versionMinor: number,
    headers: string[] | undefined,
    method: number | undefined,
    url: string | undefined,
    statusCode: number | undefined,
    statusMessage: string | undefined,
    upgrade: boolean,
    shouldKeepAlive: boolean,
  ) => {
    current = {
      versionMajor,
      versionMinor,
      method: method === undefined ? undefined : methodByCode.get(method),
      url: url ?? pendingUrl,
      statusCode,
      statusMessage,
      headers: headers ?? pendingHeaders,
      upgrade,
      shouldKeepAlive,
      body: Buffer.alloc(0),
      trailers: [],
      complete: false,
    };
    pendingHeaders = [];
    pendingUrl = '';
    bodyParts = [];
    messages.push(current);
    return options.headResponse ? 1 : 0;
  };
  parser[HTTPParser.kOnBody] = (chunk: Buffer) => {
    // Copied: the buffer is llhttp's input, which the caller may reuse. Joined once, at the end.
    bodyParts.push(Buffer.from(chunk));
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    if (!current) return;
    current.body = Buffer.concat(bodyParts);
    bodyParts = [];
    current.trailers = pendingHeaders;
    current.complete = true;
    pendingHeaders = [];
    pendingUrl = '';
    if (options.single) stopped = true;
  };

  let error: LlhttpResult['error'];
  try {
    for (const chunk of chunks) {
      if (stopped) break;
      const result = parser.execute(chunk);
      if (typeof result !== 'number') {
        error = { code: result.code, reason: result.reason };
        break;
      }
    }
    if (!error && !stopped && options.finish !== false) {
      const result = parser.finish();
      if (result) error = { code: result.code, reason: result.reason };
    }
  } finally {
    parser.close();
  }
  // A message cut short keeps the body it had.
  if (current && !current.complete) current.body = Buffer.concat(bodyParts);
  return { messages, error };
}

/** What llhttp makes of a message's framing, found by probing with a body of `probe` bytes. */
export type LlhttpFraming =
  | { kind: 'error'; code: string }
  | { kind: 'none' }
  | { kind: 'length'; length: number }
  | { kind: 'chunked' }
  | { kind: 'close' };

const PROBE = Buffer.alloc(4096, 0x41);
const LAST_CHUNK = Buffer.from('0\r\n\r\n');

/**
 * Reads llhttp's framing decision off its behaviour, since HTTPParser does not expose its flags:
 * no body completes the message at the head; a chunked body completes on "0\r\n\r\n" with no
 * payload; a length body completes after exactly `length` bytes of a 4096-byte probe (so lengths
 * of 4096 and more read as `length: -1`); a close-delimited response takes the whole probe and
 * completes only at end of stream.
 */
export function llhttpFraming(
  type: 'request' | 'response',
  head: Uint8Array,
  options: { headResponse?: boolean } = {},
): LlhttpFraming {
  const headOnly = llhttpParse(type, [head], { ...options, finish: false, single: true });
  if (headOnly.error) return { kind: 'error', code: headOnly.error.code };
  const atHead = headOnly.messages[0];
  if (!atHead) return { kind: 'error', code: 'INCOMPLETE_HEAD' };
  if (atHead.complete) return { kind: 'none' };

  const chunked = llhttpParse(type, [head, LAST_CHUNK], {
    ...options,
    finish: false,
    single: true,
  });
  const last = chunked.messages[0];
  if (last?.complete && last.body.length === 0) return { kind: 'chunked' };

  const probed = llhttpParse(type, [head, PROBE], { ...options, finish: true, single: true });
  const message = probed.messages[0]!;
  if (message.complete && message.body.length < PROBE.length) {
    return { kind: 'length', length: message.body.length };
  }
  if (message.complete) return { kind: 'close' };
  return { kind: 'length', length: -1 };
}
