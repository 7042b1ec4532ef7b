import { fc, test } from '@fast-check/vitest';
import {
  type Framing,
  framing,
  H1Error,
  serializeRequestHead,
  serializeResponseHead,
} from '@h1kit/headers';
import { describe, expect, it } from 'vitest';
import {
  type LlhttpFraming,
  llhttpDiffers,
  llhttpFraming,
  llhttpVersion,
} from '../../../testkit/oracles/llhttp.js';

type Pairs = Array<[string, string]>;

function outcome(fn: () => Framing): Framing | string {
  try {
    return fn();
  } catch (error) {
    expect(error).toBeInstanceOf(H1Error);
    return (error as H1Error).code;
  }
}

describe('framing examples (RFC 9112 section 6)', () => {
  it.each<[string, Parameters<typeof framing>[0], Framing | string]>([
    ['a request without body fields', { method: 'GET', headers: { Host: 'a' } }, { kind: 'none' }],
    [
      'a request with Content-Length',
      { method: 'POST', headers: { 'Content-Length': '12' } },
      { kind: 'length', length: 12 },
    ],
    [
      'Content-Length with leading zeros',
      { method: 'POST', headers: { 'content-length': '007' } },
      { kind: 'length', length: 7 },
    ],
    [
      'identical Content-Length fields',
      {
        method: 'POST',
        headers: [
          ['Content-Length', '5'],
          ['Content-Length', '5'],
        ],
      },
      { kind: 'length', length: 5 },
    ],
    [
      'an identical Content-Length list',
      { method: 'POST', headers: { 'Content-Length': '5 , 5' } },
      { kind: 'length', length: 5 },
    ],
    [
      'a numeric Content-Length',
      { method: 'POST', headers: { 'Content-Length': 3 } },
      { kind: 'length', length: 3 },
    ],
    [
      'chunked',
      { method: 'POST', headers: { 'Transfer-Encoding': 'chunked' } },
      { kind: 'chunked' },
    ],
    [
      'chunked in any case, after another coding',
      { method: 'POST', headers: { 'transfer-encoding': 'gzip, CHUNKED' } },
      { kind: 'chunked' },
    ],
    [
      'codings spread over two fields',
      {
        method: 'POST',
        headers: [
          ['Transfer-Encoding', 'gzip'],
          ['Transfer-Encoding', 'chunked'],
        ],
      },
      { kind: 'chunked' },
    ],
    [
      'a coding with parameters',
      { method: 'POST', headers: { 'Transfer-Encoding': 'foo;a=1;b="x y", chunked' } },
      { kind: 'chunked' },
    ],
    ['a response without body fields', { status: 200, headers: {} }, { kind: 'close' }],
    [
      'a response whose final coding is not chunked',
      { status: 200, headers: { 'Transfer-Encoding': 'gzip' } },
      { kind: 'close' },
    ],
    [
      'a response with Content-Length',
      { status: 200, headers: { 'Content-Length': '0' } },
      { kind: 'length', length: 0 },
    ],
    [
      'a response to HEAD',
      { method: 'HEAD', status: 200, headers: { 'Content-Length': '99' } },
      { kind: 'none' },
    ],
    ['a 204 response', { status: 204, headers: { 'Content-Length': '99' } }, { kind: 'none' }],
    [
      'a 304 response',
      { status: 304, headers: { 'Transfer-Encoding': 'chunked' } },
      { kind: 'none' },
    ],
    ['a 1xx response', { status: 103, headers: { Link: '</a>' } }, { kind: 'none' }],
    [
      'a 2xx response to CONNECT',
      { method: 'CONNECT', status: 200, headers: {} },
      { kind: 'none' },
    ],
    [
      'a 4xx response to CONNECT',
      { method: 'CONNECT', status: 407, headers: { 'Content-Length': '2' } },
      { kind: 'length', length: 2 },
    ],
    [
      'Transfer-Encoding with Content-Length',
      { method: 'POST', headers: { 'Transfer-Encoding': 'chunked', 'Content-Length': '5' } },
      'ERR_H1_CONFLICTING_FRAMING',
    ],
    [
      'Content-Length with Transfer-Encoding in a response',
      { status: 200, headers: { 'Content-Length': '5', 'Transfer-Encoding': 'chunked' } },
      'ERR_H1_CONFLICTING_FRAMING',
    ],
    [
      'differing Content-Length fields',
      {
        method: 'POST',
        headers: [
          ['Content-Length', '5'],
          ['Content-Length', '6'],
        ],
      },
      'ERR_H1_INVALID_CONTENT_LENGTH',
    ],
    [
      'a differing Content-Length list',
      { method: 'POST', headers: { 'Content-Length': '5, 6' } },
      'ERR_H1_INVALID_CONTENT_LENGTH',
    ],
    [
      'a signed Content-Length',
      { method: 'POST', headers: { 'Content-Length': '+5' } },
      'ERR_H1_INVALID_CONTENT_LENGTH',
    ],
    [
      'a negative Content-Length',
      { method: 'POST', headers: { 'Content-Length': '-1' } },
      'ERR_H1_INVALID_CONTENT_LENGTH',
    ],
    [
      'a hex Content-Length',
      { method: 'POST', headers: { 'Content-Length': '0x10' } },
      'ERR_H1_INVALID_CONTENT_LENGTH',
    ],
    [
      'an empty Content-Length',
      { method: 'POST', headers: { 'Content-Length': '' } },
      'ERR_H1_INVALID_CONTENT_LENGTH',
    ],
    [
      'an empty Content-Length list element',
      { method: 'POST', headers: { 'Content-Length': '5,,5' } },
      'ERR_H1_INVALID_CONTENT_LENGTH',
    ],
    [
      'a Content-Length beyond 2^53',
      { method: 'POST', headers: { 'Content-Length': '9007199254740993' } },
      'ERR_H1_INVALID_CONTENT_LENGTH',
    ],
    [
      'chunked twice',
      { method: 'POST', headers: { 'Transfer-Encoding': 'chunked, chunked' } },
      'ERR_H1_INVALID_TRANSFER_ENCODING',
    ],
    [
      'chunked twice over two fields',
      {
        status: 200,
        headers: [
          ['Transfer-Encoding', 'chunked'],
          ['Transfer-Encoding', 'chunked'],
        ],
      },
      'ERR_H1_INVALID_TRANSFER_ENCODING',
    ],
    [
      'a request whose final coding is not chunked',
      { method: 'POST', headers: { 'Transfer-Encoding': 'chunked, gzip' } },
      'ERR_H1_INVALID_TRANSFER_ENCODING',
    ],
    [
      'a request with only gzip',
      { method: 'POST', headers: { 'Transfer-Encoding': 'gzip' } },
      'ERR_H1_INVALID_TRANSFER_ENCODING',
    ],
    [
      'an empty Transfer-Encoding',
      { method: 'POST', headers: { 'Transfer-Encoding': ' , ' } },
      'ERR_H1_INVALID_TRANSFER_ENCODING',
    ],
    [
      'an empty coding list element',
      { status: 200, headers: { 'Transfer-Encoding': 'chunked,' } },
      'ERR_H1_INVALID_TRANSFER_ENCODING',
    ],
    [
      'chunked with a parameter',
      { method: 'POST', headers: { 'Transfer-Encoding': 'chunked;q=1' } },
      'ERR_H1_INVALID_TRANSFER_ENCODING',
    ],
    [
      'a malformed coding',
      { method: 'POST', headers: { 'Transfer-Encoding': 'chun ked' } },
      'ERR_H1_INVALID_TRANSFER_ENCODING',
    ],
    [
      'a malformed coding parameter',
      { method: 'POST', headers: { 'Transfer-Encoding': 'chunked;x' } },
      'ERR_H1_INVALID_TRANSFER_ENCODING',
    ],
    [
      'an unterminated quoted parameter',
      { method: 'POST', headers: { 'Transfer-Encoding': 'a;x="y, chunked' } },
      'ERR_H1_INVALID_TRANSFER_ENCODING',
    ],
    [
      'Transfer-Encoding in HTTP/1.0',
      { method: 'POST', version: '1.0', headers: { 'Transfer-Encoding': 'chunked' } },
      'ERR_H1_INVALID_TRANSFER_ENCODING',
    ],
  ])('%s', (_why, input, expected) => {
    expect(outcome(() => framing(input))).toEqual(expected);
  });
});

const contentLength = fc.oneof(
  fc.nat({ max: 4000 }).map(String),
  fc.constantFrom(
    '0',
    '007',
    ' 5',
    '5 ',
    '5, 5',
    '5,6',
    '',
    '-1',
    '+5',
    '0x5',
    '5a',
    '1_0',
    '99999999999999999999',
    '5,',
    ',5',
  ),
);
const transferEncoding = fc.constantFrom(
  'chunked',
  'Chunked',
  'CHUNKED',
  'gzip, chunked',
  'chunked, gzip',
  'gzip',
  'chunked, chunked',
  '',
  ',',
  'identity',
  ' chunked',
  'chunked ',
  'x y',
  'chunked;q=1',
  'gzip,chunked',
  'deflate, gzip, chunked',
  'chunkedx',
  'chunked,',
);
const bodyFields = fc.array(
  fc.oneof(
    contentLength.map((v): [string, string] => ['Content-Length', v]),
    transferEncoding.map((v): [string, string] => ['Transfer-Encoding', v]),
    fc.constant<[string, string]>(['X-Other', 'chunked']),
  ),
  { maxLength: 3 },
);

/**
 * Where `framing` accepts what llhttp rejects (listed in the package README): llhttp rejects any
 * repeated Content-Length and any list in it, even of one identical value, which RFC 9110
 * section 8.6 allows.
 */
function acceptedOnlyByUs(pairs: Pairs): boolean {
  const lengths = pairs.filter(([n]) => n === 'Content-Length').map(([, v]) => v);
  return lengths.length > 1 || lengths.some((v) => v.includes(','));
}

/**
 * Where `framing` rejects what llhttp accepts, on purpose (also in the README): Transfer-Encoding
 * in HTTP/1.0 (RFC 9112 section 6.1 calls it faulty framing), an empty Transfer-Encoding (llhttp
 * 9.3 only),
 * empty list elements, codings that are not tokens, parameters on chunked, and chunked twice in
 * a response (llhttp rejects it in requests only), all of which parsers read differently.
 */
function rejectedOnlyByUs(pairs: Pairs, version: '1.0' | '1.1'): boolean {
  const codings = pairs.filter(([n]) => n === 'Transfer-Encoding').flatMap(([, v]) => v.split(','));
  if (codings.filter((c) => c.trim().toLowerCase() === 'chunked').length > 1) return true;
  return pairs.some(([n, v]) => {
    if (n !== 'Transfer-Encoding') return false;
    const elements = v.split(',').map((e) => e.trim());
    return (
      version === '1.0' ||
      elements.some(
        (e) => !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+(\s*;.*)?$/.test(e) || /^chunked\s*;/i.test(e),
      )
    );
  });
}

/** The law: both accept with the same framing, or both reject, but for the listed cases. */
function expectAgreement(
  ours: Framing | string,
  theirs: LlhttpFraming,
  pairs: Pairs,
  version: '1.0' | '1.1',
): void {
  if (typeof ours === 'string') {
    if (theirs.kind !== 'error') expect(rejectedOnlyByUs(pairs, version)).toBe(true);
    return;
  }
  if (theirs.kind === 'error') {
    expect(acceptedOnlyByUs(pairs)).toBe(true);
    return;
  }
  expect(ours.kind === 'length' && ours.length === 0 ? 'none' : ours.kind).toBe(theirs.kind);
  if (ours.kind === 'length' && theirs.kind === 'length' && ours.length! < 4096) {
    expect(theirs.length).toBe(ours.length);
  }
}

describe('framing agrees with llhttp', () => {
  test.prop([
    fc.constantFrom('GET', 'POST', 'PUT'),
    fc.constantFrom<'1.0' | '1.1'>('1.1', '1.1', '1.0'),
    bodyFields,
  ])(
    'agreement with llhttp on requests: same framing and length or both reject, but for the listed cases',
    (method, version, pairs) => {
      const ours = outcome(() => framing({ method, version, headers: pairs }));
      const theirs = llhttpFraming(
        'request',
        serializeRequestHead(method, '/', [['Host', 'h'], ...pairs], { version }),
      );
      expectAgreement(ours, theirs, pairs, version);
    },
  );

  test.prop([fc.constantFrom(200, 201, 204, 304, 404, 500), fc.boolean(), bodyFields])(
    'agreement with llhttp on responses: same framing and length or both reject, but for the listed cases',
    (status, toHead, pairs) => {
      const method = toHead ? 'HEAD' : 'GET';
      const ours = outcome(() => framing({ method, status, headers: pairs }));
      // llhttp skips the body of a HEAD response, 204 and 304 before it looks at any framing field.
      if (toHead || status === 204 || status === 304) {
        expect(ours).toEqual({ kind: 'none' });
        return;
      }
      const theirs = llhttpFraming('response', serializeResponseHead(status, pairs));
      expectAgreement(ours, theirs, pairs, '1.1');
    },
  );

  it('the listed differences are real', () => {
    const dup = [
      ['Content-Length', '5'],
      ['Content-Length', '5'],
    ] as Pairs;
    expect(llhttpFraming('request', serializeRequestHead('POST', '/', dup)).kind).toBe('error');
    expect(framing({ method: 'POST', headers: dup })).toEqual({ kind: 'length', length: 5 });
    const http10 = serializeRequestHead(
      'POST',
      '/',
      { 'Transfer-Encoding': 'chunked' },
      { version: '1.0' },
    );
    expect(llhttpFraming('request', http10).kind).toBe('chunked');
    // Version by version: llhttp 9.3 (Node 20) reads no body; 9.4 (Node 22, 24, 26) refuses, as we do.
    const emptyCoding = serializeRequestHead('POST', '/', { 'Transfer-Encoding': '' });
    expect(llhttpFraming('request', emptyCoding).kind, `llhttp ${llhttpVersion}`).toBe(
      llhttpDiffers.refusesEmptyTransferEncoding ? 'error' : 'none',
    );
    expect(() => framing({ method: 'POST', headers: { 'Transfer-Encoding': '' } })).toThrow(
      H1Error,
    );
  });
});
