// Model-based tests of BufferedWriter: any sequence of writes and flushes, over sinks that call
// back at once or later, with or without writev, with any high-water mark, delivers every byte
// in order exactly once; a flush leaves nothing behind; large writes arrive by reference.
import { once } from 'node:events';
import { fc, test } from '@fast-check/vitest';
import { BufferedWriter } from '@h1kit/bufio';
import { describe, expect } from 'vitest';
import { inTime } from '../../../testkit/bounded.js';
import { concat } from '../../../testkit/bytes.js';
import { loopback, recordingSink, socketPair } from './helpers.js';

interface Model {
  written: Uint8Array[];
  /** Writes of `size` bytes or more: they must reach the sink as the caller's own memory. */
  large: Uint8Array[];
  /** Writes not awaited when made; awaited by the next flush. */
  pending: Promise<void>[];
  size: number;
  /** What the sink has been given so far, where the test can see it at every step. */
  received?: () => Uint8Array[];
}

type Cmd = fc.AsyncCommand<Model, BufferedWriter>;

function invariants(m: Model, w: BufferedWriter): void {
  if (m.received) {
    const got = concat(m.received());
    const all = concat(m.written);
    expect(Buffer.compare(got, all.subarray(0, got.length)), 'the sink holds a prefix').toBe(0);
  }
  expect(w.buffered).toBeLessThanOrEqual(m.size);
  if (w.buffered === 0) expect(w.available).toBe(m.size);
  else expect(w.buffered + w.available).toBeLessThanOrEqual(m.size);
}

const write = (bytes: Uint8Array, wait: boolean): Cmd => ({
  check: () => true,
  async run(m, w) {
    m.written.push(bytes.slice());
    if (bytes.length >= m.size) m.large.push(bytes);
    const done = w.write(bytes);
    if (wait) await inTime(done, `write(${bytes.length})`);
    else m.pending.push(done);
    // A small write was copied: the caller may reuse its array at once.
    if (bytes.length < m.size) bytes.fill(0xee);
    invariants(m, w);
  },
  toString: () => `write(${bytes.length}${wait ? '' : ', no wait'})`,
});

const flush = (): Cmd => ({
  check: () => true,
  async run(m, w) {
    await inTime(w.flush(), 'flush()');
    await inTime(Promise.all(m.pending.splice(0)), 'the writes not awaited, after flush()');
    expect(w.buffered).toBe(0);
    if (m.received) expect(Buffer.from(concat(m.received())).equals(concat(m.written))).toBe(true);
    invariants(m, w);
  },
  toString: () => 'flush()',
});

const commands = (maxLarge: number) => [
  fc
    .tuple(
      fc.oneof(
        fc.uint8Array({ maxLength: 24 }),
        fc.uint8Array({ maxLength: maxLarge, size: 'max' }),
      ),
      fc.boolean(),
    )
    .map(([bytes, wait]) => write(bytes, wait)),
  fc.constant(null).map(flush),
];

const size = fc.integer({ min: 16, max: 128 });

describe('BufferedWriter against the model', () => {
  test.prop([
    size,
    fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
    fc.option(fc.integer({ min: 1, max: 200 }), { nil: undefined }),
    fc.boolean(),
    fc.commands(commands(400), { maxCommands: 40, size: 'medium' }),
  ])(
    'every byte reaches the sink once, in order; flush empties; large writes go by reference',
    async (size, later, highWaterMark, writev, cmds) => {
      const sink = recordingSink({ later, highWaterMark, writev });
      const writer = new BufferedWriter(sink, { size });
      const model: Model = {
        written: [],
        large: [],
        pending: [],
        size,
        received: () => sink.recorded.chunks,
      };
      await fc.asyncModelRun(() => ({ model, real: writer }), cmds);
      await flush().run(model, writer);
      for (const bytes of model.large) {
        const same = sink.recorded.chunks.some(
          (c) => c.buffer === bytes.buffer && c.byteOffset === bytes.byteOffset,
        );
        expect(same, `a write of ${bytes.length} bytes was copied`).toBe(true);
      }
      sink.destroy();
    },
  );

  const socketRuns = Math.max(20, Math.floor(fc.readConfigureGlobal().numRuns ?? 100) / 5);
  test.prop([size, fc.commands(commands(70000), { maxCommands: 30, size: 'medium' })], {
    numRuns: socketRuns,
  })(
    'over a loopback socket the peer reads exactly the bytes written, in order',
    async (size, cmds) => {
      const l = await loopback();
      try {
        const { client, peer } = await socketPair(l);
        const received: Uint8Array[] = [];
        peer.on('data', (chunk: Uint8Array) => received.push(chunk));
        const writer = new BufferedWriter(client, { size });
        const model: Model = { written: [], large: [], pending: [], size };
        await fc.asyncModelRun(() => ({ model, real: writer }), cmds);
        await inTime(writer.flush(), 'the last flush()');
        await inTime(Promise.all(model.pending), 'the writes not awaited, after flush()');
        client.end();
        await inTime(once(peer, 'end'), 'the end of the stream at the peer');
        expect(Buffer.from(concat(received)).equals(concat(model.written))).toBe(true);
      } finally {
        await l.close();
      }
    },
  );
});
