// The reference model of BufferedReader and the commands that drive it: the specification of
// each call, written as directly as possible over one array holding the rest of the stream.
// Used by the model tests and, with a larger budget, by the fuzz target.
import { fc } from '@fast-check/vitest';
import { type BufferedReader, BufioErrorCode, H1Error } from '@h1kit/bufio';
import { expect } from 'vitest';
import { DELIM, type Delivery, type Ending } from '../../../testkit/arbitraries/bufio.js';
import { inTime } from '../../../testkit/bounded.js';
import { concat } from '../../../testkit/bytes.js';
import { feed, SOURCE_ERROR } from './helpers.js';

const LF = 0x0a;
const CR = 0x0d;

/** What a call gave: a value, or the error it was refused with (code and offset, or message). */
type Outcome = { ok: unknown } | { error: string };

export class Model {
  consumed = 0;
  constructor(
    public rest: Uint8Array,
    readonly size: number,
    readonly ending: Ending,
  ) {}

  /** The refusal a call gets when it needs more than is left. */
  failure(): Outcome | undefined {
    if (this.ending === 'error') return { error: SOURCE_ERROR };
    if (this.ending === 'close') {
      return { error: `${BufioErrorCode.PREMATURE_CLOSE}@${this.consumed + this.rest.length}` };
    }
    return undefined;
  }

  take(n: number): Uint8Array {
    const bytes = this.rest.subarray(0, n);
    this.rest = this.rest.subarray(n);
    this.consumed += n;
    return bytes;
  }

  full(): Outcome {
    return { error: `${BufioErrorCode.BUFFER_FULL}@${this.consumed + this.size}` };
  }
}

function show(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (value !== null && typeof value === 'object' && 'line' in value) {
    const { line, isPrefix } = value as { line: Uint8Array; isPrefix: boolean };
    return { line: show(line), isPrefix };
  }
  return value;
}

/** What `call` gave; fails the test, naming the call, if it has not settled in time. */
function outcome(what: string, call: () => Promise<unknown>): Promise<Outcome> {
  const settled = (async (): Promise<Outcome> => {
    try {
      return { ok: show(await call()) };
    } catch (error) {
      if (error instanceof H1Error) return { error: `${error.code}@${error.offset}` };
      return { error: (error as Error).message };
    }
  })();
  return inTime(settled, what);
}

const ok = (value: unknown): Outcome => ({ ok: show(value) });

type Cmd = fc.AsyncCommand<Model, BufferedReader>;

/** A call whose expected outcome the model computes (and whose effect it applies) up front. */
function call(
  name: string,
  expected: (m: Model) => Outcome,
  actual: (r: BufferedReader) => Promise<unknown>,
): Cmd {
  return {
    check: () => true,
    async run(m, r) {
      const want = expected(m);
      expect(await outcome(name, () => actual(r)), name).toEqual(want);
      expect(r.buffered).toBeLessThanOrEqual(m.rest.length);
    },
    toString: () => name,
  };
}

const peek = (n: number) =>
  call(
    `peek(${n})`,
    (m) => {
      if (n > m.size) return m.full();
      if (m.rest.length >= n) return ok(m.rest.subarray(0, n));
      return m.failure() ?? ok(m.rest.length === 0 ? null : m.rest);
    },
    (r) => r.peek(n),
  );

const readByte = () =>
  call(
    'readByte()',
    (m) => {
      if (m.rest.length > 0) return ok(m.take(1)[0]);
      return m.failure() ?? ok(null);
    },
    (r) => r.readByte(),
  );

const readSlice = (delim: number) =>
  call(
    `readSlice(${delim})`,
    (m) => {
      const at = m.rest.indexOf(delim);
      if (at !== -1 && at < m.size) return ok(m.take(at + 1));
      if (m.rest.length >= m.size) return m.full();
      return m.failure() ?? ok(m.rest.length === 0 ? null : m.take(m.rest.length));
    },
    (r) => r.readSlice(delim),
  );

const readLine = () =>
  call(
    'readLine()',
    (m) => {
      const at = m.rest.indexOf(LF);
      if (at !== -1 && at < m.size) {
        const end = at > 0 && m.rest[at - 1] === CR ? at - 1 : at;
        const line = m.rest.subarray(0, end);
        m.take(at + 1);
        return ok({ line, isPrefix: false });
      }
      if (m.rest.length >= m.size) {
        const n = m.rest[m.size - 1] === CR ? m.size - 1 : m.size;
        return ok({ line: m.take(n), isPrefix: true });
      }
      const failure = m.failure();
      if (failure) return failure;
      return ok(m.rest.length === 0 ? null : { line: m.take(m.rest.length), isPrefix: false });
    },
    (r) => r.readLine(),
  );

const readFull = (n: number) =>
  call(
    `readFull(${n})`,
    (m) => {
      if (m.rest.length >= n) return ok(m.take(n));
      const failure = m.failure();
      if (failure) return failure;
      if (m.rest.length === 0) return ok(null);
      return { error: `${BufioErrorCode.UNEXPECTED_EOF}@${m.consumed + m.rest.length}` };
    },
    (r) => r.readFull(n),
  );

const discard = (n: number) =>
  call(
    `discard(${n})`,
    (m) => {
      if (m.rest.length >= n) {
        m.take(n);
        return ok(n);
      }
      const left = m.rest.length;
      m.take(left);
      return m.failure() ?? ok(left === 0 ? null : left);
    },
    (r) => r.discard(n),
  );

const unread = (bytes: Uint8Array) =>
  call(
    `unread(${Buffer.from(bytes).toString('hex')})`,
    (m) => {
      m.rest = concat([bytes, m.rest]);
      m.consumed -= bytes.length;
      return ok(undefined);
    },
    async (r) => r.unread(bytes),
  );

/** `read()` may give any non-empty prefix of what is left, up to `max`. */
const read = (max: number | undefined): Cmd => ({
  check: () => true,
  async run(m, r) {
    const got = await outcome(`read(${max})`, () => r.read(max));
    if (m.rest.length === 0) {
      expect(got).toEqual(m.failure() ?? ok(null));
      return;
    }
    expect(
      'ok' in got && typeof got.ok === 'string',
      `read(${max}) gave ${JSON.stringify(got)}`,
    ).toBe(true);
    const hex = (got as { ok: string }).ok;
    const n = hex.length / 2;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(max ?? Number.POSITIVE_INFINITY);
    expect(hex).toBe(show(m.take(n)));
  },
  toString: () => `read(${max})`,
});

/** Every call, with counts up to about `scale` (the largest buffer size the test uses). */
export const commands = (scale: number) => [
  fc.nat(scale + 16).map(peek),
  fc.constant(null).map(readByte),
  fc.constantFrom(LF, DELIM).map(readSlice),
  fc.constant(null).map(readLine),
  fc.oneof(fc.nat(scale + 16), fc.integer({ min: scale, max: scale * 5 })).map(readFull),
  fc.nat(scale * 3).map(discard),
  fc.uint8Array({ minLength: 0, maxLength: 8 }).map(unread),
  fc.option(fc.integer({ min: 1, max: scale * 2 }), { nil: undefined }).map(read),
];

/** After the commands, `read()` to the end gives exactly the rest, then the stream's ending. */
export async function drainMatches(m: Model, r: BufferedReader): Promise<void> {
  const got: Uint8Array[] = [];
  for (;;) {
    const result = await outcome('read() to the end', () => r.read());
    if ('error' in result || result.ok === null) {
      expect(result).toEqual(m.failure() ?? ok(null));
      break;
    }
    got.push(Buffer.from(result.ok as string, 'hex'));
  }
  expect(show(concat(got))).toBe(show(m.rest));
}

/** Runs `cmds` on a reader over a Readable fed by `d`, then reads it to the end, against the model. */
export async function runOverReadable(
  bytes: Uint8Array,
  d: Delivery,
  size: number,
  cmds: Iterable<fc.AsyncCommand<Model, BufferedReader>>,
  Reader: typeof BufferedReader,
): Promise<void> {
  const source = feed(d);
  try {
    const reader = new Reader(source, { size, head: d.head });
    const model = new Model(bytes, size, d.ending);
    await fc.asyncModelRun(() => ({ model, real: reader }), cmds);
    await drainMatches(model, reader);
  } finally {
    source.destroy();
  }
}
