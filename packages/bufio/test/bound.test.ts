// Bounded memory: with a consumer that never reads, the reader takes `size` bytes and one read
// more at most, and the source holds back the rest (a socket's peer ends up blocked). Then every
// byte still arrives, in order, once the consumer reads.

import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { BufferedReader } from '@h1kit/bufio';
import { assert, describe, expect, it } from 'vitest';
import { BOUND_MS, inTime } from '../../../testkit/bounded.js';
import { loopback, socketPair } from './helpers.js';

/** One socket read: libuv reads at most 64 KiB at a time. */
const ONE_READ = 65536;

/**
 * Waits until `measure` has not changed over `polls` polls (the transfer has stalled); fails the
 * test if it still changes after `ms`, which means nothing held the source back.
 */
async function stalled(measure: () => number, polls = 8, ms = BOUND_MS): Promise<void> {
  const deadline = performance.now() + ms;
  let last = -1;
  let same = 0;
  while (same < polls) {
    if (performance.now() > deadline) {
      assert.fail(`the source still flowed after ${ms} ms (${measure()} bytes so far)`);
    }
    await sleep(25);
    const now = measure();
    same = now === last ? same + 1 : 0;
    last = now;
  }
}

function pattern(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 7 + (i >>> 16)) & 0xff;
  return bytes;
}

async function readsBack(reader: BufferedReader, expected: Uint8Array): Promise<void> {
  let at = 0;
  const bytesAfter = (call: Promise<Uint8Array | null>) =>
    inTime(call, `the bytes after offset ${at}`);
  for (let block = await bytesAfter(reader.readFull(40000)); block !== null; ) {
    expect(Buffer.compare(block, expected.subarray(at, at + block.length))).toBe(0);
    at += block.length;
    block = await bytesAfter(
      at + 40000 <= expected.length ? reader.readFull(40000) : reader.read(),
    );
  }
  expect(at).toBe(expected.length);
}

describe('bounded memory', () => {
  it('over a loopback socket: at most size plus one socket read, the peer blocked', async () => {
    const l = await loopback();
    try {
      const { client, peer } = await socketPair(l);
      const size = 16384;
      const reader = new BufferedReader(peer, { size });
      const payload = pattern(32 << 20);
      client.end(payload);
      await stalled(() => peer.bytesRead);
      expect(reader.buffered).toBeGreaterThanOrEqual(size);
      expect(reader.buffered).toBeLessThanOrEqual(size + ONE_READ);
      expect(peer.readableLength).toBeLessThanOrEqual(peer.readableHighWaterMark + ONE_READ);
      // Every byte taken from the kernel is in one of the two buffers; the sender still waits.
      expect(peer.bytesRead).toBe(reader.buffered + peer.readableLength);
      expect(client.writableLength).toBeGreaterThan(0);
      await readsBack(reader, payload);
    } finally {
      await l.close();
    }
  });

  it('over a Readable that never runs dry: at most size plus one chunk', async () => {
    const chunk = 10000;
    let pushed = 0;
    const source = new Readable({
      read() {
        pushed += chunk;
        this.push(Buffer.alloc(chunk, pushed & 0xff));
      },
    });
    const size = 32768;
    const reader = new BufferedReader(source, { size });
    await stalled(() => pushed);
    expect(reader.buffered).toBeLessThanOrEqual(size + chunk);
    expect(source.readableLength).toBeLessThanOrEqual(source.readableHighWaterMark + chunk);
    expect(pushed).toBe(reader.buffered + source.readableLength);
    // Draining resumes the flow: the bytes go on coming, in order.
    const first = await inTime(reader.readFull(size * 4), `readFull(${size * 4})`);
    expect(first?.[0]).toBe(chunk & 0xff);
    expect(first?.[chunk]).toBe((2 * chunk) & 0xff);
    source.destroy();
  });
});
