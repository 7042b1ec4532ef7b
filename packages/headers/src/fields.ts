import { H1Error, HeaderErrorCode } from './errors.js';
import { describeChar, invalidFieldValueIndex, isOws, isToken, trimOws } from './syntax.js';

/** One field value as callers give it: repeated fields come as an array. */
export type FieldValue = string | number | readonly (string | number)[];

/**
 * Fields in any of the three shapes h1kit accepts: a plain object, an iterable of
 * `[name, value]` pairs (a `Map`, WHATWG `Headers`, an array of pairs), or a flat
 * `[name, value, name, value, ...]` array like `IncomingMessage.rawHeaders`.
 * Order, case and repetition are kept exactly as given.
 */
export type FieldInput =
  | Readonly<Record<string, FieldValue>>
  | Iterable<readonly [string, FieldValue]>
  | readonly string[];

/**
 * Calls `visit(name, value)` for every field line `fields` describes, in order; array values
 * give one call per element. Names and values are not validated here.
 */
export function forEachField(
  fields: FieldInput,
  visit: (name: string, value: string | number) => void,
): void {
  if (Array.isArray(fields)) {
    if (fields.length === 0) return;
    if (typeof fields[0] === 'string') return forEachFlat(fields as readonly unknown[], visit);
    for (const pair of fields as readonly unknown[]) visitPair(pair, visit);
    return;
  }
  if (fields === null || typeof fields !== 'object') {
    throw new H1Error(HeaderErrorCode.INVALID_HEADERS, `fields must be an object, an iterable of pairs or a flat array, got ${typeof fields}`);
  }
  if (typeof (fields as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of fields as Iterable<unknown>) visitPair(pair, visit);
    return;
  }
  const record = fields as Readonly<Record<string, FieldValue>>;
  for (const name of Object.keys(record)) visitValue(name, record[name], visit);
}

function forEachFlat(
  flat: readonly unknown[],
  visit: (name: string, value: string | number) => void,
): void {
  if (flat.length % 2 !== 0) {
    throw new H1Error(HeaderErrorCode.INVALID_HEADERS, `a flat field array needs an even length, got ${flat.length}`);
  }
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i];
    if (typeof name !== 'string') {
      throw new H1Error(HeaderErrorCode.INVALID_HEADERS, `flat field array: entry ${i} is a ${typeof name}, not a field name`);
    }
    visitValue(name, flat[i + 1], visit);
  }
}

function visitPair(pair: unknown, visit: (name: string, value: string | number) => void): void {
  if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') {
    throw new H1Error(HeaderErrorCode.INVALID_HEADERS, 'each field pair must be [name, value]');
  }
  visitValue(pair[0], pair[1], visit);
}

function visitValue(
  name: string,
  value: unknown,
  visit: (name: string, value: string | number) => void,
): void {
  if (typeof value === 'string' || typeof value === 'number') return visit(name, value);
  if (Array.isArray(value)) {
    for (const item of value) {
      if (typeof item !== 'string' && typeof item !== 'number') badValueType(name, item);
      visit(name, item);
    }
    return;
  }
  badValueType(name, value);
}

function badValueType(name: string, value: unknown): never {
  const got = value === null ? 'null' : typeof value;
  throw new H1Error(HeaderErrorCode.INVALID_FIELD_VALUE, `field "${name}": value must be a string, a number or an array of them, got ${got}`);
}

/** Throws unless `name` is a token. */
export function checkFieldName(name: string): void {
  if (isToken(name)) return;
  const what = name.length === 0 ? 'an empty name' : 'a name that is not a token';
  throw new H1Error(HeaderErrorCode.INVALID_FIELD_NAME, `field ${JSON.stringify(name)}: ${what}`);
}

/**
 * The wire form of a field value: validated, with leading and trailing OWS removed (a
 * recipient strips it anyway, RFC 9112 section 5.1, so keeping it would only make the value
 * read back differently from what was written).
 */
export function fieldValueString(name: string, value: string | number): string {
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return `${value}`;
    throw new H1Error(HeaderErrorCode.INVALID_FIELD_VALUE, `field "${name}": ${value} is not a finite number`);
  }
  const bad = invalidFieldValueIndex(value);
  if (bad !== -1) {
    throw new H1Error(HeaderErrorCode.INVALID_FIELD_VALUE, `field "${name}": ${describeChar(value.charCodeAt(bad))} at index ${bad} may not appear in a field value`);
  }
  const n = value.length;
  return n !== 0 && (isOws(value.charCodeAt(0)) || isOws(value.charCodeAt(n - 1))) ? trimOws(value) : value;
}

/**
 * Validates `fields` and returns their field lines, each ending in CRLF, as one latin1 string.
 * Throws before returning anything when any name or value is invalid.
 */
export function fieldLinesString(fields: FieldInput): string {
  let lines = '';
  forEachField(fields, (name, value) => {
    checkFieldName(name);
    lines += `${name}: ${fieldValueString(name, value)}\r\n`;
  });
  return lines;
}

/**
 * A field section on the wire: the field lines followed by the empty line that ends the
 * section, e.g. a trailer section. Throws `H1Error` on any invalid name or value.
 */
export function serializeFieldLines(fields: FieldInput): Uint8Array {
  return Buffer.from(`${fieldLinesString(fields)}\r\n`, 'latin1');
}
