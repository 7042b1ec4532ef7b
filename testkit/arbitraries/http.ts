// fast-check arbitraries for HTTP/1.1 syntax, shared by the property tests of every package.
import { METHODS } from 'node:http';
import fc from 'fast-check';

const TCHAR = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Char codes allowed inside a field value: HTAB, SP, VCHAR, obs-text. */
const FIELD_CONTENT: number[] = [0x09, 0x20];
for (let c = 0x21; c <= 0x7e; c++) FIELD_CONTENT.push(c);
for (let c = 0x80; c <= 0xff; c++) FIELD_CONTENT.push(c);
const VCHAR_OBS = FIELD_CONTENT.slice(2);

/** Names that change how a message is framed or handled; kept out of generic field sets. */
export const SPECIAL_FIELD_NAMES = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'upgrade',
  'expect',
  'keep-alive',
  'proxy-connection',
  'trailer',
]);

export const token = (maxLength = 16): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...TCHAR), minLength: 1, maxLength });

/** A field name that names no framing-related field. */
export const fieldName = (): fc.Arbitrary<string> =>
  token(20).filter((name) => !SPECIAL_FIELD_NAMES.has(name.toLowerCase()));

/** A field value as it reads back after parsing: no leading or trailing OWS. */
export const fieldValue = (maxLength = 40): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constant(''),
    fc
      .tuple(
        fc.constantFrom(...VCHAR_OBS),
        fc.array(fc.constantFrom(...FIELD_CONTENT), { maxLength }),
        fc.constantFrom(...VCHAR_OBS),
      )
      .map(([a, mid, z]) => String.fromCharCode(a, ...mid, z)),
    fc.constantFrom(...VCHAR_OBS).map((c) => String.fromCharCode(c)),
  );

export const fieldPairs = (maxLength = 12): fc.Arbitrary<Array<[string, string]>> =>
  fc.array(fc.tuple(fieldName(), fieldValue()), { maxLength });

export type FieldShape = 'object' | 'pairs' | 'flat' | 'map';

/**
 * The same field lines in one of the input shapes h1kit accepts. The object shape groups
 * repeated names into arrays, which keeps the line order only when equal names are adjacent,
 * so it is offered only for such lists.
 */
export function inShape(pairs: Array<[string, string]>, shape: FieldShape): unknown {
  switch (shape) {
    case 'pairs':
      return pairs.map(([n, v]) => [n, v]);
    case 'flat':
      return pairs.flat();
    case 'map': {
      const map = new Map<string, string | string[]>();
      for (const [n, v] of pairs) {
        const had = map.get(n);
        map.set(n, had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v]);
      }
      return map;
    }
    case 'object': {
      const record: Record<string, string | string[]> = Object.create(null);
      for (const [n, v] of pairs) {
        const had = record[n];
        record[n] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
      }
      return record;
    }
  }
}

/** True when every repeated name's lines are adjacent, so grouping keeps the order. */
export function groupsKeepOrder(pairs: Array<[string, string]>): boolean {
  const closed = new Set<string>();
  let previous: string | undefined;
  for (const [name] of pairs) {
    if (name !== previous) {
      if (closed.has(name)) return false;
      if (previous !== undefined) closed.add(previous);
      previous = name;
    }
  }
  return true;
}

/** Methods llhttp knows (it rejects all others). CONNECT is left out: it needs authority form. */
export const llhttpMethod = (): fc.Arbitrary<string> =>
  fc.constantFrom(...METHODS.filter((m) => m !== 'CONNECT'));

const PATH_CHARS =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@%/?";

/** An origin-form request-target. */
export const originTarget = (): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...PATH_CHARS), maxLength: 40 }).map((rest) => `/${rest}`);

/** Any single char code that is forbidden in a field value. */
export const forbiddenValueChar = (): fc.Arbitrary<number> =>
  fc.oneof(
    fc.integer({ min: 0x00, max: 0x08 }),
    fc.integer({ min: 0x0a, max: 0x1f }),
    fc.constant(0x7f),
    fc.constantFrom(0x0d, 0x0a, 0x00),
    fc.integer({ min: 0x100, max: 0xffff }),
  );

/** Splits `bytes` at the given cut points: one re-segmentation of a byte stream. */
export function segment(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let start = 0;
  for (const p of points) {
    if (p > start) parts.push(bytes.subarray(start, p));
    start = Math.max(start, p);
  }
  if (start < bytes.length || parts.length === 0) parts.push(bytes.subarray(start));
  return parts;
}
