// Fuzz targets for @h1kit/headers: robustness on arbitrary input, and agreement with llhttp on
// generated heads. `pnpm fuzz` runs them with a large budget; `pnpm test` with a small one.
import { fc, test } from '@fast-check/vitest';
import {
  H1Error,
  parseFieldLines,
  serializeFieldLines,
  serializeRequestHead,
} from '@h1kit/headers';
import { describe, expect, it } from 'vitest';
import { fieldPairs, segment } from '../../testkit/arbitraries/http.js';
import { bytes } from '../../testkit/bytes.js';
import { llhttpParse } from '../../testkit/oracles/llhttp.js';
import { loadCorpus } from '../corpus.js';

const fieldByte = fc.constantFrom(
  0x41,
  0x61,
  0x3a,
  0x20,
  0x09,
  0x0d,
  0x0a,
  0x00,
  0x7f,
  0xff,
  0x2d,
  0x28,
);

function ourParse(bytes: Uint8Array): Array<[string, string]> | 'reject' {
  try {
    return parseFieldLines(bytes);
  } catch (error) {
    if (!(error instanceof H1Error)) throw error;
    return 'reject';
  }
}

describe('fuzz: field sections', () => {
  it.each(loadCorpus('field-lines'))('corpus: $why', ({ input }) => {
    const ours = ourParse(bytes(input));
    const theirs = llhttpParse('request', [bytes(`GET / HTTP/1.1\r\n${input}`)], {
      finish: false,
      single: true,
    });
    if (ours !== 'reject') expect(theirs.messages[0]?.headers).toEqual(ours.flat());
  });

  test.prop([
    fc
      .array(fieldByte, { maxLength: 64 })
      .map((b) => Uint8Array.from([...b, 0x0d, 0x0a, 0x0d, 0x0a])),
  ])('never throws anything but H1Error, and what it accepts llhttp reads the same', (bytes) => {
    const ours = ourParse(bytes);
    if (ours === 'reject') return;
    const head = Buffer.concat([Buffer.from('GET / HTTP/1.1\r\n'), bytes]);
    const theirs = llhttpParse('request', [head], { finish: false, single: true });
    expect(theirs.error).toBeUndefined();
    expect(theirs.messages[0]?.headers).toEqual(ours.flat());
  });

  test.prop([fieldPairs(16), fc.array(fc.nat(), { maxLength: 8 })])(
    'serialized heads parse back through llhttp under every segmentation',
    (pairs, cuts) => {
      const head = serializeRequestHead('POST', '/x', pairs);
      const theirs = llhttpParse('request', segment(head, cuts), { finish: false, single: true });
      expect(theirs.messages[0]?.headers).toEqual(pairs.flat());
      expect(parseFieldLines(serializeFieldLines(pairs))).toEqual(pairs);
    },
  );
});
