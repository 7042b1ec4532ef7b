import { H1Error, HeaderErrorCode } from './errors.js';
import { type HeadWriter, writeHead } from './writer.js';

/**
 * One field value as callers give it: repeated fields come as an array.
 *
 * @example
 * ```ts
 * import { type FieldValue, serializeResponseHead } from '@h1kit/headers';
 * const fields: Record<string, FieldValue> = { 'Content-Length': 5, 'Set-Cookie': ['a=1', 'b=2'] };
 * serializeResponseHead(200, fields); // Set-Cookie written as two field lines
 * ```
 */
export type FieldValue = string | number | readonly (string | number)[];

/**
 * Fields in any of the three shapes h1kit accepts: a plain object, an iterable of
 * `[name, value]` pairs (a `Map`, WHATWG `Headers`, an array of pairs), or a flat
 * `[name, value, name, value, ...]` array like `IncomingMessage.rawHeaders`.
 * Order, case and repetition are kept exactly as given (for an object, in JavaScript's own
 * property order, which puts integer-like names first).
 *
 * @example
 * ```ts
 * import { type FieldInput, serializeFieldLines } from '@h1kit/headers';
 * const asObject: FieldInput = { Expires: '0' };
 * const asPairs: FieldInput = new Map([['Expires', '0']]);
 * const asFlat: FieldInput = ['Expires', '0'];
 * serializeFieldLines(asFlat); // same bytes for all three: 'Expires: 0\r\n\r\n'
 * ```
 */
export type FieldInput =
  | Readonly<Record<string, FieldValue>>
  | Iterable<readonly [string, FieldValue]>
  | readonly string[];

/**
 * Receives field lines one at a time from `forEachField`.
 *
 * @example
 * ```ts
 * import { type FieldVisitor, forEachField } from '@h1kit/headers';
 * const names: string[] = [];
 * const visitor: FieldVisitor = { field: (name) => names.push(name.toLowerCase()) };
 * forEachField({ Host: 'example.com', Accept: ['text/html', 'text/plain'] }, visitor);
 * // names: ['host', 'accept', 'accept']
 * ```
 */
export interface FieldVisitor {
  field(name: string, value: string | number): void;
}

/**
 * Calls `visitor.field(name, value)` for every field line `fields` describes, in order; array
 * values give one call per element. Throws `H1Error` on an input of the wrong shape; names and
 * values are the visitor's to check.
 *
 * @example
 * ```ts
 * import { forEachField } from '@h1kit/headers';
 * forEachField(['Host', 'example.com', 'Accept', 'text/html'], {
 *   field(name, value) {
 *     console.log(`${name}: ${value}`); // 'Host: example.com', then 'Accept: text/html'
 *   },
 * });
 * ```
 */
export function forEachField(fields: FieldInput, visitor: FieldVisitor): void {
  if (Array.isArray(fields)) {
    const list = fields as readonly unknown[];
    if (list.length === 0) return;
    if (typeof list[0] === 'string') forEachFlat(list, visitor);
    else for (let i = 0; i < list.length; i++) visitPair(list[i], visitor);
    return;
  }
  if (fields === null || typeof fields !== 'object') {
    throw new H1Error(
      HeaderErrorCode.INVALID_HEADERS,
      `fields must be an object, an iterable of pairs or a flat array, got ${fields === null ? 'null' : typeof fields}`,
    );
  }
  if (typeof (fields as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of fields as Iterable<unknown>) visitPair(pair, visitor);
    return;
  }
  const record = fields as Readonly<Record<string, unknown>>;
  // for-in over a plain object is what V8 optimises best (enum cache); prototypes of plain and
  // null-prototype objects carry no enumerable properties.
  for (const name in record) visitValue(name, record[name], visitor);
}

function forEachFlat(flat: readonly unknown[], visitor: FieldVisitor): void {
  if (flat.length % 2 !== 0) {
    throw new H1Error(
      HeaderErrorCode.INVALID_HEADERS,
      `a flat field array needs an even length, got ${flat.length}`,
    );
  }
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i];
    if (typeof name !== 'string') {
      throw new H1Error(
        HeaderErrorCode.INVALID_HEADERS,
        `flat field array: entry ${i} is a ${typeof name}, not a field name`,
      );
    }
    visitValue(name, flat[i + 1], visitor);
  }
}

function visitPair(pair: unknown, visitor: FieldVisitor): void {
  if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') {
    throw new H1Error(HeaderErrorCode.INVALID_HEADERS, 'each field pair must be [name, value]');
  }
  visitValue(pair[0], pair[1], visitor);
}

function visitValue(name: string, value: unknown, visitor: FieldVisitor): void {
  if (typeof value === 'string' || typeof value === 'number') {
    visitor.field(name, value);
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item !== 'string' && typeof item !== 'number') badValueType(name, item);
      visitor.field(name, item);
    }
    return;
  }
  badValueType(name, value);
}

function badValueType(name: string, value: unknown): never {
  const got = value === null ? 'null' : typeof value;
  throw new H1Error(
    HeaderErrorCode.INVALID_FIELD_VALUE,
    `field "${name}": value must be a string, a number or an array of them, got ${got}`,
  );
}

/**
 * A field section on the wire: the field lines followed by the empty line that ends the
 * section, e.g. a trailer section. Throws `H1Error` on any invalid name or value.
 *
 * @example
 * ```ts
 * import { serializeFieldLines } from '@h1kit/headers';
 * const trailers = serializeFieldLines({ 'Server-Timing': 'db;dur=53' });
 * // 'Server-Timing: db;dur=53\r\n\r\n'
 * ```
 */
export function serializeFieldLines(fields: FieldInput): Uint8Array {
  return writeHead(fieldSection, fields, undefined, undefined, undefined);
}

function fieldSection(writer: HeadWriter, fields: FieldInput): void {
  forEachField(fields, writer);
  writer.byte2(0x0d, 0x0a);
}
