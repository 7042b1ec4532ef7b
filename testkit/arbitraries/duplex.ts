// fast-check arbitraries for whole request wires, as a server reads them: valid requests (no body,
// Content-Length, chunked with extensions and trailers) written byte by byte here rather than by
// the serializer under test, pipelines of them, mutations of the wire (the chunked games plus
// field lines inserted at line boundaries), and request-smuggling shapes that hide a second
// request in a body under one reading of the framing and not under the other.
import fc from 'fast-check';
import { type Mutation, mutate, mutation } from './chunked.js';
import { fieldPairs, originTarget } from './http.js';

export type BodyFraming = 'none' | 'length' | 'chunked';

export interface RequestSpec {
  method: string;
  target: string;
  version: '1.1' | '1.0';
  /** Field lines other than Host and the framing fields, as sent. */
  fields: Array<[string, string]>;
  framing: BodyFraming;
  body: Uint8Array;
  /** Cut points of the body into chunks (chunked framing only). */
  cuts: number[];
  /** Chunk-size style: upper-case hex, leading zeros, a `;ext=v` on every size line. */
  upper: boolean;
  zeros: string;
  ext: boolean;
  trailers: Array<[string, string]>;
  expect: boolean;
  close: boolean;
  /** How the handler treats this request (sent as X-Mode): see HandlerMode. */
  mode: HandlerMode;
}

/**
 * What the test handlers do with a request: `echo` reads the whole body, then answers it;
 * `early` answers first, then reads the body; `ignore` answers and never reads the body (the
 * server drains it); `stream` starts a chunked answer and echoes each piece as it arrives.
 */
export type HandlerMode = 'echo' | 'early' | 'ignore' | 'stream';
export const HANDLER_MODES: readonly HandlerMode[] = ['echo', 'early', 'ignore', 'stream'];

export interface BuiltWire {
  wire: Buffer;
  /** Where each chunk-size line starts (the chunked mutations aim at them). */
  sizeLineStarts: number[];
}

/** Methods llhttp and node:http serve as ordinary requests (no CONNECT, no PRI). */
const METHODS_WITHOUT_BODY = ['GET', 'DELETE', 'OPTIONS', 'HEAD', 'GET', 'GET'];
const METHODS_WITH_BODY = ['POST', 'PUT', 'PATCH', 'POST', 'PROPFIND'];

/** One valid request; `target` picks its request-target (the hijack tests route on a prefix). */
export function requestSpec(
  options: { target?: fc.Arbitrary<string>; version?: fc.Arbitrary<'1.1' | '1.0'> } = {},
): fc.Arbitrary<RequestSpec> {
  return fc
    .record({
      framing: fc.constantFrom<BodyFraming>('none', 'length', 'chunked'),
      methodPick: fc.nat(),
      target: options.target ?? originTarget(),
      version: options.version ?? fc.constant('1.1' as const),
      fields: fieldPairs(3),
      body: fc.uint8Array({ minLength: 0, maxLength: 160 }),
      cuts: fc.array(fc.nat(), { maxLength: 4 }),
      upper: fc.boolean(),
      zeros: fc.constantFrom('', '', '0', '00'),
      ext: fc.boolean(),
      trailers: fieldPairs(2),
      expect: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
      mode: fc.constantFrom<HandlerMode>('echo', 'echo', 'early', 'ignore', 'stream'),
    })
    .map((r): RequestSpec => {
      // HTTP/1.0 has no chunked coding; a 1.0 request here is framed by length or not at all.
      const framing = r.version === '1.0' && r.framing === 'chunked' ? 'length' : r.framing;
      const methods = framing === 'none' ? METHODS_WITHOUT_BODY : METHODS_WITH_BODY;
      return {
        method: methods[r.methodPick % methods.length]!,
        target: r.target,
        version: r.version,
        fields: r.fields,
        framing,
        body: framing === 'none' ? new Uint8Array(0) : r.body,
        cuts: r.cuts,
        upper: r.upper,
        zeros: r.zeros,
        ext: r.ext,
        trailers: framing === 'chunked' ? r.trailers : [],
        expect: r.expect && framing !== 'none' && r.version === '1.1',
        close: false,
        mode: r.mode,
      };
    });
}

/** Splits `bytes` at `cuts` into non-empty pieces (at least one piece when not empty). */
function pieces(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  if (bytes.length === 0) return [];
  const points = [...new Set(cuts.map((c) => c % bytes.length))].filter((p) => p > 0);
  points.sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let start = 0;
  for (const p of points) {
    out.push(bytes.subarray(start, p));
    start = p;
  }
  out.push(bytes.subarray(start));
  return out;
}

/** The request as bytes, every byte chosen here (nothing from the serializer under test). */
export function buildRequest(spec: RequestSpec): BuiltWire {
  const lines = [`${spec.method} ${spec.target} HTTP/${spec.version}`, 'Host: fuzz.test'];
  for (const [name, value] of spec.fields) lines.push(`${name}: ${value}`);
  if (spec.expect) lines.push('Expect: 100-continue');
  if (spec.close) lines.push('Connection: close');
  if (spec.mode !== 'echo') lines.push(`X-Mode: ${spec.mode}`);
  if (spec.framing === 'length') lines.push(`Content-Length: ${spec.body.length}`);
  if (spec.framing === 'chunked') lines.push('Transfer-Encoding: chunked');
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  if (spec.framing !== 'chunked') {
    return { wire: Buffer.concat([head, spec.body]), sizeLineStarts: [] };
  }
  const parts: Buffer[] = [head];
  const sizeLineStarts: number[] = [];
  let at = head.length;
  const add = (part: Buffer): void => {
    parts.push(part);
    at += part.length;
  };
  const sizeLine = (size: number): Buffer => {
    const hex = spec.upper ? size.toString(16).toUpperCase() : size.toString(16);
    return Buffer.from(`${spec.zeros}${hex}${spec.ext ? ';ext=v' : ''}\r\n`, 'latin1');
  };
  for (const piece of pieces(spec.body, spec.cuts)) {
    sizeLineStarts.push(at);
    add(sizeLine(piece.length));
    add(Buffer.from(piece));
    add(Buffer.from('\r\n'));
  }
  sizeLineStarts.push(at);
  add(sizeLine(0));
  const section = spec.trailers.map(([n, v]) => `${n}: ${v}\r\n`).join('');
  add(Buffer.from(`${section}\r\n`, 'latin1'));
  return { wire: Buffer.concat(parts), sizeLineStarts };
}

/** Requests one after the other on one connection. */
export function buildPipeline(specs: readonly RequestSpec[]): BuiltWire {
  const wires: Buffer[] = [];
  const sizeLineStarts: number[] = [];
  let at = 0;
  for (const spec of specs) {
    const built = buildRequest(spec);
    for (const start of built.sizeLineStarts) sizeLineStarts.push(at + start);
    wires.push(built.wire);
    at += built.wire.length;
  }
  return { wire: Buffer.concat(wires), sizeLineStarts };
}

/** 1 to `max` valid requests, the last one asking to close the connection now and then. */
export function pipeline(
  max = 4,
  options: Parameters<typeof requestSpec>[0] = {},
): fc.Arbitrary<RequestSpec[]> {
  return fc
    .tuple(fc.array(requestSpec(options), { minLength: 1, maxLength: max }), fc.boolean())
    .map(([specs, close]) => {
      const last = specs[specs.length - 1]!;
      specs[specs.length - 1] = { ...last, close: close && last.version === '1.1' };
      return specs;
    });
}

/** Field lines that change framing or routing, inserted at a line boundary of the wire. */
const INSERTED_LINES = [
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: gzip',
  'Transfer-Encoding: ,chunked',
  'Transfer-Encoding: chunked, chunked',
  'Transfer-Encoding: identity',
  'Content-Length: 0',
  'Content-Length: 5',
  'Content-Length: 5, 5',
  'Content-Length: +5',
  'Content-Length: 5 5',
  'Host: other',
  'Connection: close',
  'Connection: keep-alive',
  'Expect: 100-continue',
  'Expect: nothing',
  ' folded',
  '\tfolded',
  'X:',
  ': no-name',
  'Bad Name: v',
  'Upgrade: h2c',
];

export type WireMutation =
  | { kind: 'chunked'; mutation: Mutation }
  | { kind: 'line'; which: number; line: string; eol: string };

export const wireMutation = (): fc.Arbitrary<WireMutation> =>
  fc.oneof(
    {
      weight: 3,
      arbitrary: mutation().map((m): WireMutation => ({ kind: 'chunked', mutation: m })),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('line' as const),
        which: fc.nat(),
        line: fc.constantFrom(...INSERTED_LINES),
        eol: fc.constantFrom('\r\n', '\r\n', '\r\n', '\n', '\r'),
      }),
    },
  );

/** The wire with the mutations applied: the chunked games first, then the inserted lines. */
export function mutateWire(built: BuiltWire, mutations: readonly WireMutation[]): Buffer {
  const games = mutations.flatMap((m) => (m.kind === 'chunked' ? [m.mutation] : []));
  let wire = Buffer.from(
    games.length === 0
      ? built.wire
      : mutate(
          {
            wire: built.wire,
            payload: '',
            trailers: [],
            sizeLineStarts: built.sizeLineStarts.length > 0 ? built.sizeLineStarts : [0],
          },
          games,
        ),
  );
  for (const m of mutations) {
    if (m.kind !== 'line') continue;
    const text = wire.toString('latin1');
    const starts = [...text.matchAll(/\r\n/g)].map((x) => x.index + 2);
    if (starts.length === 0) continue;
    const at = starts[m.which % starts.length]!;
    wire = Buffer.from(`${text.slice(0, at)}${m.line}${m.eol}${text.slice(at)}`, 'latin1');
  }
  return wire;
}

/** A request that must never reach a handler (it is hidden in a body under one reading). */
export const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: fuzz.test\r\n\r\n';
export const AFTER = 'GET /after HTTP/1.1\r\nHost: fuzz.test\r\n\r\n';

export interface SmugglingShape {
  /**
   * `cl.te`: Content-Length covers `0\r\n\r\n` and the smuggled request, so a reader of chunked
   * sees the smuggled request and a reader of the length does not. `te.cl`: the smuggled request
   * is chunk data, and Content-Length ends the body before it.
   */
  layout: 'cl.te' | 'te.cl';
  version: '1.1' | '1.0';
  teName: string;
  teValue: string;
  /** Line ending of the Transfer-Encoding line. */
  teEol: string;
  /** Transfer-Encoding line before Content-Length, or after. */
  teFirst: boolean;
  /** Content-Length sent twice (identical values). */
  clTwice: boolean;
  /** Another Transfer-Encoding line with this value, or none. */
  teExtra: string | undefined;
  target: string;
}

export interface BuiltSmuggle {
  wire: Buffer;
  shape: SmugglingShape;
  /**
   * True when the head holds a Content-Length line and a Transfer-Encoding line that any reader
   * of RFC 9112 sees as such: the request must be refused outright.
   */
  mustRefuse: boolean;
}

const TE_NAMES = [
  'Transfer-Encoding',
  'transfer-encoding',
  'TRANSFER-ENCODING',
  'Transfer-Encoding ',
  'Transfer-Encoding\t',
  ' Transfer-Encoding',
  'Transfer_Encoding',
  'Transfer-Encodin',
  'Transfer-Encoding\x00',
  'X-Transfer-Encoding',
];
const TE_VALUES = [
  'chunked',
  'Chunked',
  'CHUNKED',
  ' chunked',
  'chunked ',
  '\tchunked',
  'chunked\t',
  '\x0bchunked',
  'chunked\x0b',
  'chunked, identity',
  'identity, chunked',
  'gzip, chunked',
  'chunked,',
  ',chunked',
  'chunked;q=1',
  '"chunked"',
  'chunk',
  'xchunked',
  'chunked\x00',
  'chu nked',
  '',
];

export const smugglingShape = (): fc.Arbitrary<SmugglingShape> =>
  fc.record({
    layout: fc.constantFrom('cl.te' as const, 'te.cl' as const),
    version: fc.constantFrom('1.1' as const, '1.1' as const, '1.0' as const),
    teName: fc.constantFrom(...TE_NAMES),
    teValue: fc.constantFrom(...TE_VALUES),
    teEol: fc.constantFrom('\r\n', '\r\n', '\r\n', '\n', '\r'),
    teFirst: fc.boolean(),
    clTwice: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
    teExtra: fc.option(fc.constantFrom('chunked', 'identity', 'gzip'), { nil: undefined }),
    target: originTarget(),
  });

export function buildSmuggle(shape: SmugglingShape): BuiltSmuggle {
  const smuggled = Buffer.from(SMUGGLED, 'latin1');
  let body: Buffer;
  let length: number;
  if (shape.layout === 'cl.te') {
    body = Buffer.concat([Buffer.from('0\r\n\r\n'), smuggled]);
    length = body.length;
  } else {
    const sizeLine = Buffer.from(`${smuggled.length.toString(16)}\r\n`);
    body = Buffer.concat([sizeLine, smuggled, Buffer.from('\r\n0\r\n\r\n')]);
    length = sizeLine.length;
  }
  const cl = `Content-Length: ${length}\r\n`;
  const te = `${shape.teName}: ${shape.teValue}${shape.teEol}`;
  const extra = shape.teExtra === undefined ? '' : `Transfer-Encoding: ${shape.teExtra}\r\n`;
  const framingLines = shape.teFirst
    ? `${te}${extra}${cl}${shape.clTwice ? cl : ''}`
    : `${cl}${shape.clTwice ? cl : ''}${te}${extra}`;
  const head = `POST ${shape.target} HTTP/${shape.version}\r\nHost: fuzz.test\r\n${framingLines}\r\n`;
  const wire = Buffer.concat([Buffer.from(head, 'latin1'), body, Buffer.from(AFTER, 'latin1')]);
  // A Transfer-Encoding line however disguised (case, whitespace or NUL around the name), a
  // line ending other than CRLF, or a second clean Transfer-Encoding line: some reader sees
  // both framings, so the only safe answer is a refusal.
  const named = shape.teName.replace(/[\s\x00]/g, '').toLowerCase() === 'transfer-encoding';
  const mustRefuse = named || shape.teEol !== '\r\n' || shape.teExtra !== undefined;
  return { wire, shape, mustRefuse };
}
