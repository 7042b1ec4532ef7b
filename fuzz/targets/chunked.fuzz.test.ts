// Fuzz targets for @h1kit/chunked: agreement with llhttp (Node's parser) on generated bodies and on
// mutations of them. Where the two disagree, the disagreement must be one of the differences
// listed in the package README, each a named flag of the model dialects in
// testkit/oracles/chunked.ts: the RFC 9112 dialect must predict h1kit and the llhttp dialect must
// predict llhttp.
import { fc, test } from '@fast-check/vitest';
import { ChunkedErrorCode } from '@h1kit/chunked';
import { describe, expect, it } from 'vitest';
import { chunkedBody, mutate, mutation } from '../../testkit/arbitraries/chunked.js';
import { segment } from '../../testkit/arbitraries/http.js';
import { bytes } from '../../testkit/bytes.js';
import {
  CHUNKED_HEAD,
  h1kitDecode,
  LLHTTP,
  llhttpDecode,
  modelDecode,
  type Outcome,
  RFC_9112,
} from '../../testkit/oracles/chunked.js';
import { llhttpParse } from '../../testkit/oracles/llhttp.js';
import { loadCorpus } from '../corpus.js';

const cuts = fc.array(fc.nat(), { maxLength: 16 });

/** The differential rule: the same reading, or a disagreement the dialects account for. */
function expectAgreement(wire: Uint8Array, ours: Outcome, theirs: Outcome): void {
  if (ours.ok && theirs.ok) {
    expect(ours.payload).toBe(theirs.payload);
    expect(ours.trailers).toEqual(theirs.trailers);
    return;
  }
  if (ours.ok === theirs.ok) return;
  expect({ h1kit: ours.ok, model: modelDecode(wire, RFC_9112).ok }).toEqual({
    h1kit: ours.ok,
    model: ours.ok,
  });
  expect({ llhttp: theirs.ok, model: modelDecode(wire, LLHTTP).ok }).toEqual({
    llhttp: theirs.ok,
    model: theirs.ok,
  });
}

describe('fuzz: chunked bodies against llhttp', () => {
  it.each(loadCorpus('chunked'))('corpus: $why', ({ input }) => {
    const wire = bytes(input);
    const ours = h1kitDecode([wire]);
    expect(h1kitDecode([...wire].map((b) => Uint8Array.of(b)))).toEqual(ours);
    expect(ours.ok).toBe(modelDecode(wire, RFC_9112).ok);
    expectAgreement(wire, ours, llhttpDecode([wire]));
  });

  test.prop([chunkedBody({ rest: true }), cuts])(
    'valid bodies: llhttp and h1kit accept with the same payload and trailers, any segmentation',
    (body, cutPoints) => {
      const segments = segment(body.wire, cutPoints);
      const ours = h1kitDecode(segments);
      const theirs = llhttpDecode(segments);
      expect(ours).toMatchObject({ ok: true, payload: body.payload, trailers: body.trailers });
      expect(theirs).toMatchObject({ ok: true, payload: body.payload, trailers: body.trailers });
    },
  );

  test.prop([
    fc.boolean().chain((bws) => chunkedBody({ bws, rest: true })),
    fc.array(mutation(), { minLength: 1, maxLength: 3 }),
    cuts,
  ])(
    'mutated bodies: both accept alike or both reject, else a listed difference explains it',
    (body, mutations, cutPoints) => {
      const wire = mutate(body, mutations);
      const segments = segment(wire, cutPoints);
      expectAgreement(wire, h1kitDecode(segments), llhttpDecode(segments));
    },
  );
});

describe('deliberate differences from llhttp, one pinned example each', () => {
  const both = (text: string) => {
    const wire = bytes(text);
    return { h1kit: h1kitDecode([wire]).ok, llhttp: llhttpDecode([wire]).ok };
  };

  it('BWS around ";" and "=" in chunk-ext: RFC 9112 grammar, accepted; llhttp refuses', () => {
    expect(both('5 ;a=b\r\nhello\r\n0\r\n\r\n')).toEqual({ h1kit: true, llhttp: false });
    expect(both('5; a = "b" ;c\r\nhello\r\n0\r\n\r\n')).toEqual({ h1kit: true, llhttp: false });
  });

  it('a chunk-ext value is a token or a quoted-string: llhttp also takes empty or mixed ones', () => {
    expect(both('5;a=\r\nhello\r\n0\r\n\r\n')).toEqual({ h1kit: false, llhttp: true });
    expect(both('5;a=b"c"\r\nhello\r\n0\r\n\r\n')).toEqual({ h1kit: false, llhttp: true });
    expect(both('5;a="b"c\r\nhello\r\n0\r\n\r\n')).toEqual({ h1kit: false, llhttp: false });
  });

  it('an empty chunk-ext name is outside the grammar: refused; llhttp accepts it before = or ;', () => {
    expect(both('5;=b\r\nhello\r\n0\r\n\r\n')).toEqual({ h1kit: false, llhttp: true });
    expect(both('5;;a\r\nhello\r\n0\r\n\r\n')).toEqual({ h1kit: false, llhttp: true });
    expect(both('5;a;\r\nhello\r\n0\r\n\r\n')).toEqual({ h1kit: false, llhttp: false });
  });

  it('framing fields in the trailer section are returned as fields; llhttp refuses', () => {
    expect(both('0\r\nContent-Length: 5\r\n\r\n')).toEqual({ h1kit: true, llhttp: false });
    expect(both('0\r\nTransfer-Encoding: chunked\r\n\r\n')).toEqual({ h1kit: true, llhttp: false });
  });

  it('chunk-ext bytes are limited per message; llhttp (Node) limits them per chunk', () => {
    const chunk = `1;${'e'.repeat(999)}\r\nx\r\n`;
    const wire = bytes(`${chunk.repeat(17)}0\r\n\r\n`);
    expect(h1kitDecode([wire])).toMatchObject({
      code: ChunkedErrorCode.CHUNK_EXTENSIONS_TOO_LARGE,
    });
    expect(llhttpDecode([wire]).ok).toBe(true);
    expect(both(`1;${'e'.repeat(16385)}\r\nx\r\n0\r\n\r\n`)).toEqual({
      h1kit: false,
      llhttp: false,
    });
  });

  it('a chunk-size above 2^53 - 1 is refused at once; llhttp reads sizes up to 2^64 - 1', () => {
    const line = bytes('20000000000000\r\n');
    expect(h1kitDecode([line])).toMatchObject({ code: ChunkedErrorCode.CHUNK_SIZE_TOO_LARGE });
    const theirs = llhttpParse('request', [bytes(CHUNKED_HEAD), line], { finish: false });
    expect(theirs.error).toBeUndefined();
  });
});
