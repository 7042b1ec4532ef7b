// The laws of the decoder and encoder, each checked on generated input.
import { fc, test } from '@fast-check/vitest';
import { ChunkedDecoder, encodeChunk, encodeLastChunk } from '@h1kit/chunked';
import { describe, expect } from 'vitest';
import {
  chunkExtList,
  chunkedBody,
  mutate,
  mutation,
} from '../../../testkit/arbitraries/chunked.js';
import { fieldPairs, segment } from '../../../testkit/arbitraries/http.js';
import { text } from '../../../testkit/bytes.js';
import { h1kitDecode, modelDecode, RFC_9112 } from '../../../testkit/oracles/chunked.js';

const cuts = fc.array(fc.nat(), { maxLength: 24 });
/** Each segment in an ArrayBuffer of its own, so that a view's `buffer` names its push. */
const ownBuffers = (parts: Uint8Array[]): Uint8Array[] => parts.map((p) => p.slice());

/** Bytes a chunked parser finds interesting, and some it should not. */
const wireByte = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(...Buffer.from('0123456789abcdefABCDEF\r\n;=" \t\\:xX+-')),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);

describe('chunked laws', () => {
  test.prop([
    fc.array(fc.tuple(fc.uint8Array({ maxLength: 64 }), chunkExtList()), { maxLength: 8 }),
    fieldPairs(4),
    fc.uint8Array({ maxLength: 8 }),
    cuts,
  ])(
    'encode then decode gives back every payload, chunk-ext, trailer and the rest, under any re-segmentation',
    (chunks, trailers, after, cutPoints) => {
      const wire = Buffer.concat([
        ...chunks.flatMap(([data, ext]) => encodeChunk(data, ext)),
        encodeLastChunk(trailers),
        after,
      ]);
      const seen: unknown[] = [];
      const decoder = new ChunkedDecoder({ onChunkExt: (ext, size) => seen.push([ext, size]) });
      const payload: Uint8Array[] = [];
      const segments = segment(wire, cutPoints);
      let rest: Uint8Array[] = [];
      let trailersOut: Array<[string, string]> = [];
      for (let i = 0; i < segments.length; i++) {
        const result = decoder.push(segments[i]!);
        payload.push(...result.data);
        if (result.done) {
          rest = [result.rest, ...segments.slice(i + 1)];
          trailersOut = result.trailers;
          break;
        }
      }
      decoder.finish();
      expect(Buffer.concat(payload)).toEqual(Buffer.concat(chunks.map(([data]) => data)));
      expect(trailersOut).toEqual(trailers);
      expect(Buffer.concat(rest)).toEqual(Buffer.from(after));
      const sent = chunks.filter(([data, ext]) => data.length > 0 && ext.length > 0);
      expect(seen).toEqual(sent.map(([data, ext]) => [ext, data.length]));
    },
  );

  test.prop([chunkedBody({ bws: true }), cuts])(
    'zero-copy: every data view is a view of the push it came from',
    (body, cutPoints) => {
      const decoder = new ChunkedDecoder();
      let payload = '';
      for (const part of ownBuffers(segment(body.wire, cutPoints))) {
        for (const view of decoder.push(part).data) {
          expect(view.buffer).toBe(part.buffer);
          expect(view.byteOffset).toBeGreaterThanOrEqual(part.byteOffset);
          expect(view.byteOffset + view.length).toBeLessThanOrEqual(part.byteOffset + part.length);
          expect(view.length).toBeGreaterThan(0);
          payload += text(view);
        }
      }
      expect(payload).toBe(body.payload);
    },
  );

  test.prop([chunkedBody({ bws: true, rest: true }), cuts, fc.boolean()])(
    'zero-copy keeps the kind: views (and rest) of a Buffer push are Buffers, of a plain Uint8Array plain ones',
    (body, cutPoints, asBuffer) => {
      const decoder = new ChunkedDecoder();
      for (const part of segment(body.wire, cutPoints)) {
        const bytes = asBuffer ? Buffer.from(part) : Uint8Array.from(part);
        const result = decoder.push(bytes);
        for (const view of [...result.data, ...(result.done ? [result.rest] : [])]) {
          expect(Buffer.isBuffer(view)).toBe(asBuffer);
          expect(view.buffer).toBe(bytes.buffer);
        }
        if (result.done) break;
      }
    },
  );

  test.prop([fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), cuts])(
    'a gathered chunk: encodeChunk of several views is one chunk of their concatenation, each view passed by reference',
    (views, cutPoints) => {
      const pieces = encodeChunk(views);
      const nonEmpty = views.filter((v) => v.length > 0);
      if (nonEmpty.length === 0) {
        expect(pieces).toEqual([]);
        return;
      }
      expect(pieces.slice(1, -1)).toHaveLength(nonEmpty.length);
      for (const [i, view] of nonEmpty.entries()) expect(pieces[i + 1]).toBe(view);
      const wire = Buffer.concat([...pieces, encodeLastChunk()]);
      const decoder = new ChunkedDecoder();
      const payload: Uint8Array[] = [];
      let done = false;
      for (const part of segment(wire, cutPoints)) {
        const result = decoder.push(part);
        payload.push(...result.data);
        done = result.done;
      }
      expect(done).toBe(true);
      expect(Buffer.concat(payload)).toEqual(Buffer.concat(views));
      // One size line: the size of everything gathered.
      expect(text(pieces[0]!)).toBe(`${Buffer.concat(views).length.toString(16)}\r\n`);
    },
  );

  test.prop([fc.array(wireByte, { maxLength: 200 }).map((b) => Uint8Array.from(b)), cuts])(
    'arbitrary bytes: success or H1Error only, never more payload than input, never a hang',
    (wire, cutPoints) => {
      // h1kitDecode rethrows anything that is not an H1Error; every push must return.
      const outcome = h1kitDecode(segment(wire, cutPoints));
      if (outcome.ok) {
        expect(outcome.payload.length + outcome.rest.length).toBeLessThanOrEqual(wire.length);
      }
    },
  );

  test.prop([chunkedBody({ bws: true, rest: true }), fc.array(mutation(), { maxLength: 3 }), cuts])(
    'any re-segmentation gives the same outcome, error code and offset included',
    (body, mutations, cutPoints) => {
      const wire = mutate(body, mutations);
      const whole = h1kitDecode([wire]);
      expect(h1kitDecode(ownBuffers(segment(wire, cutPoints)))).toEqual(whole);
    },
  );

  test.prop([
    chunkedBody({ bws: true, rest: true }),
    fc.array(mutation(), { minLength: 1, maxLength: 2 }),
  ])(
    'agrees with the RFC 9112 model on valid and mutated bodies: verdict, payload, trailers, rest',
    (body, mutations) => {
      const wire = mutate(body, mutations);
      const ours = h1kitDecode([wire]);
      const model = modelDecode(wire, RFC_9112);
      expect(ours.ok).toBe(model.ok);
      if (ours.ok) expect(ours).toEqual(model);
    },
  );

  test.prop([chunkedBody({ bws: true, rest: true })])(
    'accepts every generated body with its payload and trailers',
    (body) => {
      expect(h1kitDecode([body.wire])).toMatchObject({
        ok: true,
        payload: body.payload,
        trailers: body.trailers,
      });
    },
  );
});
