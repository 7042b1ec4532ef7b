import {
  type FieldInput,
  forEachField,
  H1Error,
  HeaderErrorCode,
  type HttpVersion,
} from '@h1kit/headers';
import type { ParsedHead } from './llhttp.js';

/**
 * Field lines as received: `[name, value]` pairs with order, case and repetition kept, for code
 * that must see the head as sent (a proxy, a signature over the fields).
 *
 * @example
 * ```ts
 * import { createServer, type FieldPairs } from '@h1kit/duplex';
 * createServer((exchange) => {
 *   const fields: FieldPairs = exchange.request.fields; // [['Host', 'example.com'], ...]
 *   const cookies = fields.filter(([name]) => name.toLowerCase() === 'cookie').map(([, v]) => v);
 *   exchange.respond(200).end(`${cookies.length} Cookie field-lines`);
 * });
 * ```
 */
export type FieldPairs = Array<[string, string]>;

/**
 * Fields by lower-cased name; a name sent more than once maps to all its values, in order
 * (nothing is joined with commas, so a repeated field stays visible). The record has no
 * prototype: `'constructor' in headers` is false unless such a field was sent.
 *
 * @example
 * ```ts
 * import { createServer, type FieldRecord } from '@h1kit/duplex';
 * createServer((exchange) => {
 *   const headers: FieldRecord = exchange.request.headers;
 *   const accept = headers.accept; // 'text/html', or ['text/html', 'text/plain'] when sent twice
 *   const html = [accept ?? []].flat().some((value) => value.includes('text/html'));
 *   exchange.respond(html ? 200 : 406, { 'Content-Length': 0 }).end();
 * });
 * ```
 */
export type FieldRecord = Record<string, string | string[]>;

/**
 * A request head as parsed: method, request-target, version and field lines, each field shape
 * built on first read. `fields` and `headers` are getters, so `{ ...request }` leaves them out,
 * while `JSON.stringify` and `console.log` show the head whole.
 *
 * @example
 * ```ts
 * import { createServer, type RequestHead } from '@h1kit/duplex';
 * createServer((exchange) => {
 *   const { method, target, version }: RequestHead = exchange.request;
 *   console.log(`${method} ${target} HTTP/${version}`); // 'GET /search?q=h1 HTTP/1.1'
 *   const url = new URL(target, `http://${exchange.request.headers.host}`);
 *   exchange.respond(200).end(url.searchParams.get('q') ?? '');
 * });
 * ```
 */
export interface RequestHead {
  /** The method as sent: a token, case kept. */
  method: string;
  /** The request-target exactly as sent. */
  target: string;
  /** `'1.1'`, or `'1.0'` for an HTTP/1.0 peer (then a response is close-delimited). */
  version: HttpVersion;
  /** Field lines as pairs, as sent. */
  fields: FieldPairs;
  /** The same fields by lower-cased name (nothing joined, nothing lost). */
  headers: FieldRecord;
  /** The same fields as a flat `[name, value, ...]` list (node:http's `rawHeaders`). */
  rawFields: readonly string[];
}

/**
 * A response head as parsed: status, reason phrase, version and field lines. What a client's
 * 'informational' event gives for each interim (1xx) response, and what `ClientResponse` extends.
 *
 * @example
 * ```ts
 * import { request, type ResponseHead } from '@h1kit/duplex';
 * const exchange = request('http://127.0.0.1:8080/page');
 * exchange.on('informational', (head: ResponseHead) => {
 *   if (head.status === 103) console.log('preload', head.headers.link); // Early Hints
 * });
 * const { status, reason }: ResponseHead = await exchange.response;
 * ```
 */
export interface ResponseHead {
  /** The status code, 100 to 999. */
  status: number;
  /** The reason phrase as sent; may be empty. */
  reason: string;
  version: HttpVersion;
  /** Field lines as pairs, as sent. */
  fields: FieldPairs;
  /** The same fields by lower-cased name. */
  headers: FieldRecord;
}

/**
 * Any field input as pairs of strings. Names and string values are checked by the serializer;
 * a number is checked here, since as a string NaN or Infinity would pass as a field value.
 */
export function fieldPairsOf(fields: FieldInput): FieldPairs {
  const pairs: FieldPairs = [];
  forEachField(fields, {
    field: (name, value) => {
      if (typeof value === 'number' && !Number.isFinite(value)) {
        throw new H1Error(
          HeaderErrorCode.INVALID_FIELD_VALUE,
          `field "${name}": ${value} is not a finite number`,
        );
      }
      pairs.push([name, typeof value === 'number' ? `${value}` : value]);
    },
  });
  return pairs;
}

/** A flat `[name, value, name, value, ...]` list (llhttp's, `rawHeaders`) as pairs. */
export function pairsOf(raw: readonly string[]): FieldPairs {
  const pairs: FieldPairs = [];
  for (let i = 0; i < raw.length; i += 2) pairs.push([raw[i]!, raw[i + 1]!]);
  return pairs;
}

/** A flat `[name, value, ...]` list by lower-cased name. */
export function recordOf(raw: readonly string[]): FieldRecord {
  const record: FieldRecord = Object.create(null);
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const had = record[key];
    if (had === undefined) record[key] = value;
    else if (typeof had === 'string') record[key] = [had, value];
    else had.push(value);
  }
  return record;
}

export function versionOf(head: { versionMajor: number; versionMinor: number }): HttpVersion {
  return head.versionMajor === 1 && head.versionMinor === 0 ? '1.0' : '1.1';
}

/**
 * A request head from its method, target, version and flat field list. The pairs and the record
 * are built when first read: a request whose handler never looks at them costs neither.
 */
export function requestHeadOf(
  method: string,
  target: string,
  version: HttpVersion,
  rawFields: readonly string[],
): RequestHead {
  return new ReceivedRequestHead(method, target, version, rawFields);
}

/** util.inspect's hook, and the inspect it hands the hook. */
export const inspectCustom = Symbol.for('nodejs.util.inspect.custom');
export type Inspect = (value: unknown, options: object) => string;

/**
 * A head with lazy getters as util.inspect should show it: whole, as its toJSON gives it, since
 * inspect does not read getters on the prototype.
 */
export function shownWhole(
  label: string,
  whole: object,
  depth: number,
  options: object,
  inspect: Inspect,
): string {
  return `${label} ${inspect(whole, { ...options, depth })}`;
}

class ReceivedRequestHead implements RequestHead {
  private pairs: FieldPairs | undefined;
  private record: FieldRecord | undefined;

  constructor(
    readonly method: string,
    readonly target: string,
    readonly version: HttpVersion,
    readonly rawFields: readonly string[],
  ) {}

  get fields(): FieldPairs {
    this.pairs ??= pairsOf(this.rawFields);
    return this.pairs;
  }

  get headers(): FieldRecord {
    this.record ??= recordOf(this.rawFields);
    return this.record;
  }

  // `fields` and `headers` are getters on the prototype, which util.inspect, JSON and spread
  // do not read: these two show the head whole.
  toJSON(): object {
    const { method, target, version, fields, headers, rawFields } = this;
    return { method, target, version, fields, headers, rawFields };
  }

  [inspectCustom](depth: number, options: object, inspect: Inspect): string {
    return shownWhole('RequestHead', this.toJSON(), depth, options, inspect);
  }
}

/**
 * The `name` field (given in lower case) of a flat list as `headers` would give it: its value,
 * every value in order when sent more than once, or undefined.
 */
export function fieldValueOf(raw: readonly string[], name: string): string | string[] | undefined {
  let found: string | string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length !== name.length || n.toLowerCase() !== name) continue;
    const value = raw[i + 1]!;
    if (found === undefined) found = value;
    else if (typeof found === 'string') found = [found, value];
    else found.push(value);
  }
  return found;
}

/** A response head's status line and field pairs; its record is left to whoever needs it. */
export function responseLineOf(head: ParsedHead): Omit<ResponseHead, 'headers'> {
  return {
    status: head.status,
    reason: head.reason,
    version: versionOf(head),
    fields: pairsOf(head.rawFields),
  };
}

export function responseHeadOf(head: ParsedHead): ResponseHead {
  return {
    status: head.status,
    reason: head.reason,
    version: versionOf(head),
    fields: pairsOf(head.rawFields),
    headers: recordOf(head.rawFields),
  };
}

/** True when a field named `name` (given in lower case) is among `pairs`. */
export function hasField(pairs: FieldPairs, name: string): boolean {
  for (const [n] of pairs) if (n.length === name.length && n.toLowerCase() === name) return true;
  return false;
}

/** True when a `name` field (lower case), in any of its lines, lists `token` (case-insensitive). */
export function fieldLists(pairs: FieldPairs, name: string, token: string): boolean {
  for (const [n, value] of pairs) {
    if (n.length !== name.length || n.toLowerCase() !== name) continue;
    for (const item of value.toLowerCase().split(',')) if (item.trim() === token) return true;
  }
  return false;
}

/**
 * Refuses an outgoing head over its cap (`option` names the setting): a peer with common limits
 * (node:http's 16 KiB) would refuse it anyway, after it had cost the connection.
 */
export function checkHeadSize(head: Uint8Array, maxHeadBytes: number, option: string): void {
  if (head.length > maxHeadBytes) {
    throw new H1Error(
      HeaderErrorCode.HEADERS_TOO_LARGE,
      `the head is ${head.length} bytes, over the cap of ${maxHeadBytes} (${option})`,
      maxHeadBytes,
    );
  }
}
