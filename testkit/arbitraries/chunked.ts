// fast-check arbitraries for chunked bodies: well-formed ones written byte by byte (not by the
// encoder under test), chunk-ext lists, and the mutations that differential tests feed to
// two parsers — flipped, inserted and deleted bytes, CR/LF games, sign and prefix games on sizes.
import fc from 'fast-check';
import { fieldPairs, token } from './http.js';

const VALUE_CHARS: number[] = [0x09, 0x20];
for (let c = 0x21; c <= 0x7e; c++) VALUE_CHARS.push(c);
for (let c = 0x80; c <= 0xff; c++) VALUE_CHARS.push(c);

/** A chunk-ext value as the encoder takes it: any string of HTAB, SP, VCHAR and obs-text. */
export const chunkExtValue = (): fc.Arbitrary<string> =>
  fc.oneof(
    token(8),
    fc.string({ unit: fc.constantFrom(...VALUE_CHARS.map((c) => String.fromCharCode(c))) }),
    fc.constantFrom('', '"', '\\', 'a b', '"q"'),
  );

/** A list of chunk extensions: `[name]` or `[name, value]`. */
export const chunkExtList = (maxLength = 3): fc.Arbitrary<Array<[string, string?]>> =>
  fc.array(
    fc
      .tuple(token(8), fc.option(chunkExtValue(), { nil: undefined }))
      .map(([name, value]): [string, string?] => (value === undefined ? [name] : [name, value])),
    { maxLength },
  );

export interface ChunkedBody {
  wire: Uint8Array;
  payload: string;
  trailers: Array<[string, string]>;
  /** Where each chunk-size line starts in `wire` (the last chunk's included). */
  sizeLineStarts: number[];
}

const quoted = (value: string): string => `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;

/** One chunk-ext as text, with BWS around `;` and `=` when `bws` allows it. */
const extText = (bws: boolean): fc.Arbitrary<string> => {
  const space = bws ? fc.constantFrom('', '', ' ', '\t', ' \t ') : fc.constant('');
  const value = fc.oneof(token(6), chunkExtValue().map(quoted));
  return fc
    .tuple(space, space, token(6), fc.option(fc.tuple(space, space, value), { nil: undefined }))
    .map(([a, b, name, v]) => `${a};${b}${name}${v === undefined ? '' : `${v[0]}=${v[1]}${v[2]}`}`);
};

/** chunk-size as hex of any case with a few leading zeros. */
const sizeText = (size: number): fc.Arbitrary<string> =>
  fc
    .tuple(fc.constantFrom('', '', '0', '000'), fc.boolean())
    .map(([zeros, upper]) => zeros + (upper ? size.toString(16).toUpperCase() : size.toString(16)));

const latin1Data = fc.uint8Array({ minLength: 1, maxLength: 40 });

/**
 * A well-formed chunked body built as text: chunk data of any bytes, sizes in any hex case with
 * leading zeros, chunk extensions (with BWS when `bws`), trailer fields, optional bytes after it.
 */
export function chunkedBody(
  options: { bws?: boolean; rest?: boolean } = {},
): fc.Arbitrary<ChunkedBody> {
  const chunk = latin1Data.chain((data) =>
    fc
      .tuple(sizeText(data.length), fc.array(extText(options.bws ?? false), { maxLength: 2 }))
      .map(([size, ext]) => ({ data, line: `${size}${ext.join('')}\r\n` })),
  );
  const last = fc
    .tuple(fc.constantFrom('0', '000'), fc.array(extText(options.bws ?? false), { maxLength: 1 }))
    .map(([zero, ext]) => `${zero}${ext.join('')}\r\n`);
  const rest = options.rest
    ? fc.constantFrom('', 'GET / HTTP/1.1\r\n\r\n', '\r\n', 'x')
    : fc.constant('');
  return fc
    .tuple(fc.array(chunk, { maxLength: 5 }), last, fieldPairs(3), rest)
    .map(([chunks, lastLine, trailers, after]) => {
      const parts: Buffer[] = [];
      const sizeLineStarts: number[] = [];
      let at = 0;
      const add = (part: Buffer): void => {
        parts.push(part);
        at += part.length;
      };
      for (const { data, line } of chunks) {
        sizeLineStarts.push(at);
        add(Buffer.from(line, 'latin1'));
        add(Buffer.from(data));
        add(Buffer.from('\r\n'));
      }
      sizeLineStarts.push(at);
      add(Buffer.from(lastLine, 'latin1'));
      const section = trailers.map(([n, v]) => `${n}: ${v}\r\n`).join('');
      add(Buffer.from(`${section}\r\n${after}`, 'latin1'));
      const payload = chunks.map((c) => Buffer.from(c.data).toString('latin1')).join('');
      return { wire: Buffer.concat(parts), payload, trailers, sizeLineStarts };
    });
}

export type Mutation =
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'size'; line: number; text: string; after: boolean }
  | { kind: 'crlf'; which: number; text: string };

const INTERESTING = [
  0x0d, 0x0a, 0x20, 0x09, 0x3b, 0x3d, 0x22, 0x5c, 0x30, 0x61, 0x46, 0x67, 0x78, 0x2b, 0x2d, 0x00,
  0xff, 0x3a,
];

/** One mutation; the games on chunk-size lines and CRLFs weigh most, being where parsers differ. */
export const mutation = (): fc.Arbitrary<Mutation> =>
  fc.oneof(
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('flip' as const),
        at: fc.nat(),
        byte: fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 255 })),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        text: fc.constantFrom(
          ...['0x', '+', '-', ' ', '\t', '\r', '\n', '\r\n', ';', '=', '0', 'f', '"', '_'],
          ...[';a', '=b', ';a='],
        ),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('delete' as const),
        at: fc.nat(),
        count: fc.integer({ min: 1, max: 3 }),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('size' as const),
        line: fc.nat(),
        after: fc.boolean(),
        text: fc.constantFrom(
          ...['0x', '0X', '+', '-', ' ', '\t', '0', '_', ' ;a', '\t;a=b', ';', 'g', '.5'],
          ...[';a=', ';a =', ' \t', ' ;a ', ';a=b '],
        ),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('crlf' as const),
        which: fc.nat(),
        text: fc.constantFrom('\n', '\r', '\n\r', '\r\r\n', '\r\n\r\n', '', ' \r\n', '\r \n'),
      }),
    },
  );

/** `body.wire` with `mutations` applied in order; size games use the original line starts. */
export function mutate(body: ChunkedBody, mutations: readonly Mutation[]): Uint8Array {
  let text = Buffer.from(body.wire).toString('latin1');
  const games = mutations.filter((m) => m.kind === 'size');
  for (const game of games.slice(0, 1)) {
    const start = body.sizeLineStarts[game.line % body.sizeLineStarts.length]!;
    const end = start + (/^[0-9A-Fa-f]*/.exec(text.slice(start))?.[0].length ?? 0);
    const at = game.after ? end : start;
    text = text.slice(0, at) + game.text + text.slice(at);
  }
  for (const m of mutations) {
    const at =
      m.kind === 'flip' || m.kind === 'insert' || m.kind === 'delete'
        ? m.at % (text.length + 1)
        : 0;
    if (m.kind === 'flip' && at < text.length) {
      text = text.slice(0, at) + String.fromCharCode(m.byte) + text.slice(at + 1);
    } else if (m.kind === 'insert') {
      text = text.slice(0, at) + m.text + text.slice(at);
    } else if (m.kind === 'delete') {
      text = text.slice(0, at) + text.slice(at + m.count);
    } else if (m.kind === 'crlf') {
      const ends = [...text.matchAll(/\r\n/g)].map((x) => x.index);
      if (ends.length === 0) continue;
      const i = ends[m.which % ends.length]!;
      text = text.slice(0, i) + m.text + text.slice(i + 2);
    }
  }
  return Buffer.from(text, 'latin1');
}
