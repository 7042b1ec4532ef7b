import { serializeFieldLines, serializeRequestHead, serializeResponseHead } from '@h1kit/headers';
import { describe, expect, it } from 'vitest';
import { codeOf, text, thrown } from '../../../testkit/bytes.js';

describe('serializeResponseHead', () => {
  it('writes status line, field lines in order and the empty line', () => {
    const head = serializeResponseHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 5 });
    expect(text(head)).toBe(
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n',
    );
  });

  it('keeps repeated fields as separate lines (Set-Cookie) in every input shape', () => {
    const expected = 'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX: y\r\n\r\n';
    expect(text(serializeResponseHead(200, { 'Set-Cookie': ['a=1', 'b=2'], X: 'y' }))).toBe(
      expected,
    );
    expect(
      text(
        serializeResponseHead(200, [
          ['Set-Cookie', 'a=1'],
          ['Set-Cookie', 'b=2'],
          ['X', 'y'],
        ]),
      ),
    ).toBe(expected);
    expect(
      text(serializeResponseHead(200, ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'X', 'y'])),
    ).toBe(expected);
    expect(
      text(
        serializeResponseHead(
          200,
          new Map<string, string | string[]>([
            ['Set-Cookie', ['a=1', 'b=2']],
            ['X', 'y'],
          ]),
        ),
      ),
    ).toBe(expected);
  });

  it('keeps the case of names as given', () => {
    expect(text(serializeResponseHead(204, { 'x-LoWeR': 'v' }))).toContain('\r\nx-LoWeR: v\r\n');
  });

  it('accepts WHATWG Headers, which iterates lower-cased pairs', () => {
    const headers = new Headers({ 'Content-Type': 'a/b' });
    expect(text(serializeResponseHead(200, headers))).toBe(
      'HTTP/1.1 200 OK\r\ncontent-type: a/b\r\n\r\n',
    );
  });

  it('uses the given reason phrase and HTTP/1.0 when asked, and an empty one for unknown codes', () => {
    expect(text(serializeResponseHead(299, {}))).toBe('HTTP/1.1 299 \r\n\r\n');
    expect(text(serializeResponseHead(404, {}, { reason: 'Gone Fishing', version: '1.0' }))).toBe(
      'HTTP/1.0 404 Gone Fishing\r\n\r\n',
    );
  });

  it('drops leading and trailing OWS of values, keeps inner whitespace, allows obs-text and HTAB', () => {
    expect(text(serializeResponseHead(200, { A: ' \t x \t y\t ', B: 'caf\u00e9', C: '' }))).toBe(
      'HTTP/1.1 200 OK\r\nA: x \t y\r\nB: caf\u00e9\r\nC: \r\n\r\n',
    );
  });

  it.each([
    ['CRLF injection in a value', { A: 'x\r\nSet-Cookie: evil=1' }, 'ERR_H1_INVALID_FIELD_VALUE'],
    ['bare LF in a value', { A: 'x\ny' }, 'ERR_H1_INVALID_FIELD_VALUE'],
    ['bare CR in a value', { A: 'x\ry' }, 'ERR_H1_INVALID_FIELD_VALUE'],
    ['NUL in a value', { A: 'x\u0000y' }, 'ERR_H1_INVALID_FIELD_VALUE'],
    ['DEL in a value', { A: 'x\u007fy' }, 'ERR_H1_INVALID_FIELD_VALUE'],
    [
      'a char above 0xFF, which latin1 would truncate to LF',
      { A: 'x\u010ay' },
      'ERR_H1_INVALID_FIELD_VALUE',
    ],
    ['a space in a name', { 'Bad Name': 'v' }, 'ERR_H1_INVALID_FIELD_NAME'],
    ['a colon in a name', { 'A:B': 'v' }, 'ERR_H1_INVALID_FIELD_NAME'],
    ['CRLF in a name', { 'A\r\nB': 'v' }, 'ERR_H1_INVALID_FIELD_NAME'],
    ['an empty name', { '': 'v' }, 'ERR_H1_INVALID_FIELD_NAME'],
    ['a non-finite number', { 'Content-Length': Number.NaN }, 'ERR_H1_INVALID_FIELD_VALUE'],
    ['an undefined value', { A: undefined as unknown as string }, 'ERR_H1_INVALID_FIELD_VALUE'],
    ['an object value', { A: {} as unknown as string }, 'ERR_H1_INVALID_FIELD_VALUE'],
  ])('rejects %s before producing a byte', (_why, fields, code) => {
    expect(codeOf(thrown(() => serializeResponseHead(200, fields)))).toBe(code);
  });

  it.each([
    ['odd flat array', ['A', 'b', 'C'], 'ERR_H1_INVALID_HEADERS'],
    ['a pair of three', [['A', 'b', 'c']], 'ERR_H1_INVALID_HEADERS'],
    ['null', null, 'ERR_H1_INVALID_HEADERS'],
    ['a string', 'A: b', 'ERR_H1_INVALID_HEADERS'],
  ])('rejects fields given as %s', (_why, fields, code) => {
    expect(codeOf(thrown(() => serializeResponseHead(200, fields as never)))).toBe(code);
  });

  it.each([99, 1000, 200.5, -200, Number.NaN])('rejects status %s', (status) => {
    expect(codeOf(thrown(() => serializeResponseHead(status, {})))).toBe('ERR_H1_INVALID_STATUS');
  });

  it('rejects a reason phrase with CR or LF and an unknown version', () => {
    expect(codeOf(thrown(() => serializeResponseHead(200, {}, { reason: 'OK\r\nX: y' })))).toBe(
      'ERR_H1_INVALID_REASON',
    );
    expect(codeOf(thrown(() => serializeResponseHead(200, {}, { version: '2.0' as never })))).toBe(
      'ERR_H1_INVALID_VERSION',
    );
  });

  it('returns heads that later heads never overwrite, and a failed head leaves earlier ones intact', () => {
    const first = serializeResponseHead(200, { A: '1' });
    expect(
      codeOf(thrown(() => serializeResponseHead(200, { A: 'x'.repeat(100), B: 'bad\n' }))),
    ).toBe('ERR_H1_INVALID_FIELD_VALUE');
    const second = serializeResponseHead(201, { B: '2' });
    expect(text(first)).toBe('HTTP/1.1 200 OK\r\nA: 1\r\n\r\n');
    expect(text(second)).toBe('HTTP/1.1 201 Created\r\nB: 2\r\n\r\n');
  });

  it('serializes heads larger than its slab', () => {
    const big = 'v'.repeat(40_000);
    const head = serializeResponseHead(200, { A: big, B: big });
    expect(text(head)).toBe(`HTTP/1.1 200 OK\r\nA: ${big}\r\nB: ${big}\r\n\r\n`);
  });

  it('stays correct when a user iterator serializes another head while being read', () => {
    const inner: Uint8Array[] = [];
    const fields = {
      *[Symbol.iterator](): Generator<[string, string]> {
        yield ['A', '1'];
        inner.push(serializeResponseHead(204, { Inner: 'yes' }));
        yield ['B', '2'];
      },
    };
    const outer = serializeResponseHead(200, fields);
    expect(text(outer)).toBe('HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n');
    expect(text(inner[0]!)).toBe('HTTP/1.1 204 No Content\r\nInner: yes\r\n\r\n');
  });
});

describe('serializeRequestHead', () => {
  it('writes the request line and fields', () => {
    expect(
      text(serializeRequestHead('POST', '/up?x=1', { Host: 'a', 'Transfer-Encoding': 'chunked' })),
    ).toBe('POST /up?x=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n');
    expect(text(serializeRequestHead('OPTIONS', '*', [], { version: '1.0' }))).toBe(
      'OPTIONS * HTTP/1.0\r\n\r\n',
    );
    expect(
      text(serializeRequestHead('CONNECT', 'example.com:443', { Host: 'example.com:443' })),
    ).toBe('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
  });

  it.each([
    ['GET /', '/', 'ERR_H1_INVALID_METHOD'],
    ['', '/', 'ERR_H1_INVALID_METHOD'],
    ['G\r\nET', '/', 'ERR_H1_INVALID_METHOD'],
    ['GET', '', 'ERR_H1_INVALID_TARGET'],
    ['GET', '/a b', 'ERR_H1_INVALID_TARGET'],
    ['GET', '/a\r\nHost: evil', 'ERR_H1_INVALID_TARGET'],
    ['GET', '/a\tb', 'ERR_H1_INVALID_TARGET'],
    ['GET', '/caf\u00e9', 'ERR_H1_INVALID_TARGET'],
  ])('rejects method %j with target %j', (method, target, code) => {
    expect(codeOf(thrown(() => serializeRequestHead(method, target, {})))).toBe(code);
  });
});

describe('serializeFieldLines', () => {
  it('writes a field section ending in the empty line, and an empty section as CRLF', () => {
    expect(
      text(
        serializeFieldLines([
          ['Checksum', 'abc'],
          ['X', '1'],
        ]),
      ),
    ).toBe('Checksum: abc\r\nX: 1\r\n\r\n');
    expect(text(serializeFieldLines({}))).toBe('\r\n');
  });
});
