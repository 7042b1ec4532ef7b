// Field lines that repeat are sent from a cache of their checked bytes: whatever the cache holds,
// every head must read back with every field it was given, across slab changes too.
import { STATUS_CODES } from 'node:http';
import { H1Error, serializeResponseHead } from '@h1kit/headers';
import { describe, expect, it } from 'vitest';
import { text } from '../../../testkit/bytes.js';

describe('the cache of checked field lines', () => {
  it('gives every head all its field lines while heads fill slab after slab', () => {
    const pad = 'p'.repeat(200);
    for (let i = 0; i < 2000; i++) {
      // A first-seen value now and then, so that lines are learned at any slab position.
      const head = text(
        serializeResponseHead(200, {
          Server: 'h1kit',
          'X-Pad': pad,
          'X-N': i % 40,
          'Content-Length': 5,
        }),
      );
      expect(head).toBe(
        `HTTP/1.1 200 OK\r\nServer: h1kit\r\nX-Pad: ${pad}\r\nX-N: ${i % 40}\r\nContent-Length: 5\r\n\r\n`,
      );
    }
  });

  it('learns lines whose names are new at every slab position', () => {
    const value = 'v'.repeat(200);
    for (let i = 0; i < 250; i++) {
      const name = `X-Cache-Probe-${i}`;
      for (let round = 0; round < 2; round++) {
        expect(text(serializeResponseHead(204, { [name]: value }))).toBe(
          `HTTP/1.1 204 No Content\r\n${name}: ${value}\r\n\r\n`,
        );
      }
    }
  });

  it('sends a number and the same digits as a string alike, and trims a value as always', () => {
    expect(text(serializeResponseHead(200, { 'Content-Length': 7 }))).toBe(
      text(serializeResponseHead(200, { 'Content-Length': '7' })),
    );
    for (let round = 0; round < 2; round++) {
      expect(text(serializeResponseHead(200, { 'X-T': '  spaced  ' }))).toBe(
        'HTTP/1.1 200 OK\r\nX-T: spaced\r\n\r\n',
      );
    }
  });

  it('writes integer values of known names as their digits, as String() would, whatever their size', () => {
    // The name is learned first: only then does an integer skip the string.
    serializeResponseHead(200, { 'X-Count': 'learn' });
    const values = [0, -0, 7, 9, 10, 99, 100, 101, 65535, 1e15, 2 ** 53 - 1, 123456789012];
    for (const value of values) {
      expect(text(serializeResponseHead(200, { 'X-Count': value }))).toBe(
        `HTTP/1.1 200 OK\r\nX-Count: ${String(value)}\r\n\r\n`,
      );
    }
    // Neither safe nor non-negative integers: through the string, as before.
    for (const value of [-1, 1.5, 2 ** 53, 1e21]) {
      expect(text(serializeResponseHead(200, { 'X-Count': value }))).toBe(
        `HTTP/1.1 200 OK\r\nX-Count: ${String(value)}\r\n\r\n`,
      );
    }
  });

  it('still checks every value of a name whose values stopped repeating, and still sends the ones it knew', () => {
    const seen = serializeResponseHead(200, { 'X-Id': 'first' });
    expect(text(seen)).toBe('HTTP/1.1 200 OK\r\nX-Id: first\r\n\r\n');
    // Far past the point where lookups of this name stop.
    for (let i = 0; i < 500; i++) {
      expect(text(serializeResponseHead(200, { 'X-Id': `id-${i}` }))).toBe(
        `HTTP/1.1 200 OK\r\nX-Id: id-${i}\r\n\r\n`,
      );
    }
    expect(() => serializeResponseHead(200, { 'X-Id': 'bad\r\nInjected: yes' })).toThrow(
      expect.objectContaining({ code: 'ERR_H1_INVALID_FIELD_VALUE' }),
    );
    expect(text(serializeResponseHead(200, { 'X-Id': 'first' }))).toBe(
      'HTTP/1.1 200 OK\r\nX-Id: first\r\n\r\n',
    );
  });
});

describe('the cache of status lines', () => {
  it('writes every status line right the first time and from the cache after, also across the end of a slab', () => {
    const SLAB = 16384;
    // Each head is a view of the writer's slab and the next one starts at the following multiple
    // of 8: a pad head of a chosen size puts the next status line 16 bytes before the slab's
    // end, so that its reason phrase is what moves it to a new slab.
    const nextStart = (head: Uint8Array) => (head.byteOffset + head.length + 7) & ~7;
    for (let status = 100; status <= 999; status++) {
      let at = nextStart(serializeResponseHead(200, {}));
      if (at > SLAB - 16 - 28)
        at = nextStart(serializeResponseHead(200, { 'X-Big': 'b'.repeat(600) }));
      const pad = serializeResponseHead(200, { 'X-Pad': 'p'.repeat(SLAB - 16 - at - 28) });
      expect(nextStart(pad)).toBe(SLAB - 16);
      const expected = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n\r\n`;
      expect(text(serializeResponseHead(status, {}))).toBe(expected);
      expect(text(serializeResponseHead(status, {}))).toBe(expected);
    }
  });

  it("follows a changed STATUS_CODES entry, a caller's own reason and HTTP/1.0", () => {
    expect(text(serializeResponseHead(299, {}))).toBe('HTTP/1.1 299 \r\n\r\n');
    STATUS_CODES[299] = 'Fine By Us';
    try {
      expect(text(serializeResponseHead(299, {}))).toBe('HTTP/1.1 299 Fine By Us\r\n\r\n');
    } finally {
      delete STATUS_CODES[299];
    }
    expect(text(serializeResponseHead(299, {}))).toBe('HTTP/1.1 299 \r\n\r\n');
    expect(text(serializeResponseHead(200, {}))).toBe('HTTP/1.1 200 OK\r\n\r\n');
    expect(text(serializeResponseHead(200, {}, { reason: 'Fine' }))).toBe(
      'HTTP/1.1 200 Fine\r\n\r\n',
    );
    expect(text(serializeResponseHead(200, {}, { version: '1.0' }))).toBe(
      'HTTP/1.0 200 OK\r\n\r\n',
    );
    expect(text(serializeResponseHead(200, {}))).toBe('HTTP/1.1 200 OK\r\n\r\n');
  });

  it('checks a reason that is not the cached one, for a status seen before and one not', () => {
    serializeResponseHead(201, {});
    for (const status of [201, 298]) {
      expect(() => serializeResponseHead(status, {}, { reason: 'Created\r\nX-Evil: 1' })).toThrow(
        H1Error,
      );
    }
    STATUS_CODES[297] = 'Bad\nReason';
    try {
      expect(() => serializeResponseHead(297, {})).toThrow(
        expect.objectContaining({ code: 'ERR_H1_INVALID_REASON' }),
      );
    } finally {
      delete STATUS_CODES[297];
    }
    expect(text(serializeResponseHead(297, {}))).toBe('HTTP/1.1 297 \r\n\r\n');
  });
});
