// The one module of h1kit that reaches Node's internal HTTPParser (llhttp). Heads are parsed by
// llhttp; bodies never are: every head callback answers 2 ("stop as for an upgrade"), so
// `execute` returns the number of bytes the head took and everything after it is ours.
//
// Node bundles llhttp 9.3.1 on line 20, 9.4.4 on 22 and 24, 9.4.3 on 26. What h1kit relies on
// (the callbacks by index, answer 2 at the head, `maxHeaderPairs`, the method enum learned below)
// is the same in all of them and is detected, not assumed. Their verdicts differ in one place h1kit
// can see: 9.3 ignores an empty Transfer-Encoding, 9.4 refuses it; `framing()` refuses it on every
// line, so heads are judged alike everywhere. Refusals name the llhttp version, since its verdicts
// are version-specific.
import { createRequire } from 'node:module';
import { DEFAULT_FIELD_SECTION_LIMITS, H1Error, HeaderErrorCode } from '@h1kit/headers';
import { DuplexErrorCode } from '../errors.js';

/** Node's internal HTTPParser, as node:http drives it (the testkit's oracle drives it too). */
export interface NativeParser {
  initialize(type: number, resource: object, maxHeaderSize?: number, lenient?: number): void;
  execute(data: Uint8Array): number | ParserFailure;
  finish(): undefined | ParserFailure;
  close(): void;
  maxHeaderPairs: number;
  [callback: number]: unknown;
}

export interface ParserFailure extends Error {
  code: string;
  reason: string;
  bytesParsed: number;
}

/** What `require('_http_common')` gives: the parser class and llhttp's method names. */
export interface HttpParserBinding {
  HTTPParser: {
    new (): NativeParser;
    REQUEST: number;
    RESPONSE: number;
    kOnHeaders: number;
    kOnHeadersComplete: number;
    kOnBody: number;
    kOnMessageComplete: number;
  };
  methods: string[];
}

let binding: { native: HttpParserBinding; methodByCode: Map<number, string> } | undefined;

function load(): NonNullable<typeof binding> {
  if (binding) return binding;
  let native: HttpParserBinding | undefined;
  try {
    native = createRequire(import.meta.url)('_http_common') as HttpParserBinding;
  } catch {
    native = undefined;
  }
  const P = native?.HTTPParser;
  if (!native || !P || typeof P.kOnHeadersComplete !== 'number' || !Array.isArray(native.methods)) {
    throw new H1Error(
      DuplexErrorCode.UNSUPPORTED_RUNTIME,
      `@h1kit/duplex parses heads with llhttp through Node's internal HTTPParser ('_http_common'), which Node ${process.version} does not provide`,
    );
  }
  binding = { native, methodByCode: learnMethodCodes(native) };
  return binding;
}

/**
 * kOnHeadersComplete reports llhttp's method enum, which is not an index into `methods` for
 * every method (QUERY is 46 there, 34 in the list), so learn the mapping once by parsing each.
 */
function learnMethodCodes(native: HttpParserBinding): Map<number, string> {
  const { HTTPParser } = native;
  const map = new Map<number, string>();
  for (const name of native.methods) {
    const parser = new HTTPParser();
    parser.initialize(HTTPParser.REQUEST, {}, 0, 0);
    parser[HTTPParser.kOnHeadersComplete] = (_a: number, _b: number, _h: unknown, code: number) => {
      map.set(code, name);
      return 1;
    };
    parser.execute(Buffer.from(`${name} / HTTP/1.1\r\n\r\n`, 'latin1'));
    parser.close();
  }
  return map;
}

/** A request or response head as llhttp read it. */
export interface ParsedHead {
  /** Request method (requests only). */
  method: string;
  /** Request-target exactly as sent (requests only). */
  target: string;
  /** Status code and reason phrase (responses only; 0 and '' for requests). */
  status: number;
  reason: string;
  versionMajor: number;
  versionMinor: number;
  /** Field lines as a flat [name, value, ...] array, order and case kept. */
  rawFields: string[];
  /** llhttp's reading of Connection/version: may the connection carry another message? */
  keepAlive: boolean;
  /** An Upgrade request or CONNECT. */
  upgrade: boolean;
  /**
   * Responses that name Transfer-Encoding only: whether llhttp itself would read the body as
   * chunked. Node hands field values over trimmed, so `framing()` can read `chunked<TAB>` as
   * chunked where llhttp reads another coding and a close-delimited body.
   */
  llhttpChunked?: boolean;
}

export interface HeadLimits {
  /** Largest head accepted, in bytes. */
  maxHeadBytes: number;
  /** Most field lines accepted. */
  maxFields: number;
}

/** A head is held to the limits of any field section (`@h1kit/headers`): 16 KiB, 128 lines. */
export const DEFAULT_HEAD_LIMITS: HeadLimits = {
  maxHeadBytes: DEFAULT_FIELD_SECTION_LIMITS.maxBytes,
  maxFields: DEFAULT_FIELD_SECTION_LIMITS.maxFields,
};

/** The async resource every parser is initialized with: one object, not one per head. */
const PARSER_RESOURCE = {};

/**
 * Parses one head at a time from a byte stream. `execute(bytes)` returns the number of bytes of
 * `bytes` the head used once it is complete (then `head` holds it), or -1 when every byte was
 * taken and the head is not complete yet. Malformed input throws `H1Error`; after a head
 * completes, `reset()` prepares for the next one.
 */
export class HeadParser {
  head: ParsedHead | undefined;
  private readonly parser: NativeParser;
  private readonly type: number;
  private readonly limits: HeadLimits;
  private pendingFields: string[] = [];
  /** The bytes of the head in progress, kept (as views) only until it completes. */
  private readonly headChunks: Uint8Array[] = [];
  private checker: NativeParser | undefined;
  private readonly requestType: number;
  private pendingUrl = '';
  /** Bytes given to execute for the head in progress, for error offsets. */
  private seen = 0;
  private closed = false;

  constructor(kind: 'request' | 'response', limits: HeadLimits) {
    const { native, methodByCode } = load();
    const { HTTPParser } = native;
    this.type = kind === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE;
    this.requestType = HTTPParser.REQUEST;
    this.limits = limits;
    this.parser = new HTTPParser();
    this.parser[HTTPParser.kOnHeaders] = (fields: string[], url: string) => {
      for (let i = 0; i < fields.length; i++) this.pendingFields.push(fields[i]!);
      this.pendingUrl += url;
      this.checkFieldCount(this.pendingFields.length);
    };
    this.parser[HTTPParser.kOnHeadersComplete] = (
      versionMajor: number,
      versionMinor: number,
      fields: string[] | undefined,
      method: number | undefined,
      url: string | undefined,
      status: number | undefined,
      reason: string | undefined,
      upgrade: boolean,
      keepAlive: boolean,
    ) => {
      const rawFields = fields ?? this.takePendingFields();
      this.checkFieldCount(rawFields.length);
      this.head = {
        method: method === undefined ? '' : (methodByCode.get(method) ?? ''),
        target: url ?? this.pendingUrl,
        status: status ?? 0,
        reason: reason ?? '',
        versionMajor,
        versionMinor,
        rawFields,
        keepAlive,
        upgrade,
      };
      return 2;
    };
    this.reset();
  }

  reset(): void {
    this.headChunks.length = 0;
    this.parser.initialize(this.type, PARSER_RESOURCE, this.limits.maxHeadBytes, 0);
    // Node's parser drops fields beyond maxHeaderPairs silently; let one more through so that
    // an excess is seen and refused instead.
    this.parser.maxHeaderPairs = (this.limits.maxFields + 1) * 2;
    this.head = undefined;
    this.pendingFields.length = 0;
    this.pendingUrl = '';
    this.seen = 0;
  }

  /** The fields that came in pieces, now the head's own array: the next head gathers anew. */
  private takePendingFields(): string[] {
    const fields = this.pendingFields;
    this.pendingFields = [];
    return fields;
  }

  execute(bytes: Uint8Array): number {
    if (this.head) throw new Error('HeadParser: reset() before parsing the next head');
    const result = this.parser.execute(bytes);
    if (typeof result !== 'number') throw this.failure(result);
    // Set by the head callback during execute(), which the compiler cannot see.
    const head = this.head as ParsedHead | undefined;
    if (head) {
      // llhttp counts only the bytes it hands to callbacks toward maxHeaderSize, so whitespace
      // it skips (before a field value, say) would let a head of any size through: count it all.
      if (this.seen + result > this.limits.maxHeadBytes) {
        this.head = undefined;
        throw new H1Error(
          HeaderErrorCode.HEADERS_TOO_LARGE,
          `head exceeds ${this.limits.maxHeadBytes} bytes`,
          this.limits.maxHeadBytes,
        );
      }
      this.headChunks.push(bytes.subarray(0, result));
      if (this.type === this.requestType) {
        if (namesFraming(head.rawFields)) this.verifyFraming();
      } else if (namesTransferEncoding(head.rawFields)) {
        // Only a Transfer-Encoding can be read two ways here: a response with a Content-Length
        // alone costs no second parse.
        head.llhttpChunked = this.readsChunked();
      }
      // The views of a finished head would keep the socket's read buffers (64 KiB each) alive
      // for as long as the connection idles: let them go now.
      this.headChunks.length = 0;
      return result;
    }
    this.seen += bytes.length;
    if (this.seen > this.limits.maxHeadBytes) {
      throw new H1Error(
        HeaderErrorCode.HEADERS_TOO_LARGE,
        `head exceeds ${this.limits.maxHeadBytes} bytes`,
        this.limits.maxHeadBytes,
      );
    }
    this.headChunks.push(bytes);
    return -1;
  }

  /**
   * Answering 2 at the head skips llhttp's checks of Transfer-Encoding and Content-Length that
   * run after it, and node:http hands field values over trimmed, so `framing()` cannot see every
   * shape llhttp refuses ("chunked" followed by a tab reads to llhttp as another coding). A head
   * that names either field is therefore parsed once more, whole, with those checks on; no body
   * byte follows it, so nothing is consumed.
   */
  private verifyFraming(): void {
    const { HTTPParser } = load().native;
    if (!this.checker) {
      this.checker = new HTTPParser();
      this.checker[HTTPParser.kOnHeadersComplete] = () => 0;
      this.checker[HTTPParser.kOnHeaders] = () => {};
      this.checker[HTTPParser.kOnBody] = () => {};
      this.checker[HTTPParser.kOnMessageComplete] = () => {};
    }
    this.checker.initialize(this.type, {}, 0, 0);
    const head =
      this.headChunks.length === 1 ? this.headChunks[0]! : Buffer.concat(this.headChunks);
    const result = this.checker.execute(head);
    if (typeof result !== 'number') {
      this.head = undefined;
      throw this.failure(result);
    }
  }

  /** Frees llhttp's parsers; once only, whoever asks first (the owner, or the socket's close). */
  /**
   * Whether llhttp reads the response just parsed as chunked: the head is parsed again, whole,
   * with the body left to llhttp, followed by a last-chunk; only a chunked reading completes.
   */
  private readsChunked(): boolean {
    const { HTTPParser } = load().native;
    let complete = false;
    if (!this.checker) {
      this.checker = new HTTPParser();
      this.checker[HTTPParser.kOnHeaders] = () => {};
      this.checker[HTTPParser.kOnBody] = () => {};
    }
    this.checker[HTTPParser.kOnHeadersComplete] = () => 0;
    this.checker[HTTPParser.kOnMessageComplete] = () => {
      complete = true;
    };
    this.checker.initialize(this.type, {}, 0, 0);
    const head =
      this.headChunks.length === 1 ? this.headChunks[0]! : Buffer.concat(this.headChunks);
    const result = this.checker.execute(head);
    if (typeof result === 'number') this.checker.execute(LAST_CHUNK);
    return complete;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.headChunks.length = 0;
    this.parser.close();
    this.checker?.close();
  }

  private checkFieldCount(flatLength: number): void {
    if (flatLength > this.limits.maxFields * 2) {
      throw new H1Error(
        HeaderErrorCode.TOO_MANY_FIELDS,
        `head has more than ${this.limits.maxFields} field lines`,
      );
    }
  }

  private failure(result: ParserFailure): H1Error {
    const offset = this.seen + (Number.isInteger(result.bytesParsed) ? result.bytesParsed : 0);
    if (result.code === 'HPE_HEADER_OVERFLOW') {
      return new H1Error(
        HeaderErrorCode.HEADERS_TOO_LARGE,
        `head exceeds ${this.limits.maxHeadBytes} bytes`,
        offset,
      );
    }
    return new H1Error(
      DuplexErrorCode.INVALID_HEAD,
      `malformed head: ${result.reason} (llhttp ${process.versions.llhttp} ${result.code})`,
      offset,
    );
  }
}

const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/** True when the fields name Transfer-Encoding. */
function namesTransferEncoding(rawFields: readonly string[]): boolean {
  for (let i = 0; i < rawFields.length; i += 2) {
    const name = rawFields[i]!;
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') return true;
  }
  return false;
}

/** True when the fields name Transfer-Encoding or Content-Length. */
function namesFraming(rawFields: readonly string[]): boolean {
  for (let i = 0; i < rawFields.length; i += 2) {
    const name = rawFields[i]!;
    if (
      (name.length === 17 || name.length === 14) &&
      /^(transfer-encoding|content-length)$/i.test(name)
    )
      return true;
  }
  return false;
}
