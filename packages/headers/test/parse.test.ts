import { fc, test } from '@fast-check/vitest';
import { H1Error, parseFieldLines, serializeFieldLines } from '@h1kit/headers';
import { describe, expect, it } from 'vitest';
import { fieldPairs, segment } from '../../../testkit/arbitraries/http.js';
import { bytes } from '../../../testkit/bytes.js';
import { llhttpParse } from '../../../testkit/oracles/llhttp.js';

function failure(
  input: string,
  limits?: Parameters<typeof parseFieldLines>[1],
): { code: string; offset: number | undefined } {
  try {
    parseFieldLines(bytes(input), limits);
  } catch (error) {
    expect(error).toBeInstanceOf(H1Error);
    return { code: (error as H1Error).code, offset: (error as H1Error).offset };
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe('parseFieldLines', () => {
  it.each([
    [{ maxFields: Number.NaN }],
    [{ maxFields: -1 }],
    [{ maxFields: 1.5 }],
    [{ maxBytes: Number.NaN }],
    [{ maxBytes: -1 }],
    [{ offset: -1 }],
  ])(
    'refuses a limit it cannot apply (%o) with INVALID_LIMITS instead of parsing unbounded',
    (limits) => {
      let caught: unknown;
      try {
        parseFieldLines(bytes('A: 1\r\n\r\n'), limits);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(H1Error);
      expect((caught as H1Error).code).toBe('ERR_H1_INVALID_LIMITS');
    },
  );

  it('takes Infinity as no limit', () => {
    expect(
      parseFieldLines(bytes('A: 1\r\n\r\n'), {
        maxFields: Number.POSITIVE_INFINITY,
        maxBytes: Number.POSITIVE_INFINITY,
      }),
    ).toEqual([['A', '1']]);
  });

  it('parses field lines in order, keeping case and repeats, trimming OWS', () => {
    expect(
      parseFieldLines(
        bytes('A: 1\r\nSet-Cookie: x\r\nset-cookie:y\r\nB:\t two words \t\r\nE:\r\n\r\n'),
      ),
    ).toEqual([
      ['A', '1'],
      ['Set-Cookie', 'x'],
      ['set-cookie', 'y'],
      ['B', 'two words'],
      ['E', ''],
    ]);
  });

  it('parses an empty section and keeps obs-text as latin1', () => {
    expect(parseFieldLines(bytes('\r\n'))).toEqual([]);
    expect(parseFieldLines(bytes('X: caf\u00e9\r\n\r\n'))).toEqual([['X', 'caf\u00e9']]);
  });

  it('reads from a view without looking outside it', () => {
    const wire = bytes('junkA: 1\r\n\r\njunk');
    expect(parseFieldLines(wire.subarray(4, 12))).toEqual([['A', '1']]);
  });

  it.each([
    ['obs-fold', 'A: 1\r\n  continued\r\n\r\n', 'ERR_H1_INVALID_FIELD_LINE', 6],
    ['whitespace before the colon', 'A : 1\r\n\r\n', 'ERR_H1_INVALID_FIELD_LINE', 1],
    ['tab before the colon', 'A\t: 1\r\n\r\n', 'ERR_H1_INVALID_FIELD_LINE', 1],
    ['a bare LF ending a line', 'A: 1\nB: 2\r\n\r\n', 'ERR_H1_INVALID_FIELD_LINE', 4],
    ['a bare CR inside a value', 'A: 1\r2\r\n\r\n', 'ERR_H1_INVALID_FIELD_LINE', 5],
    ['a bare LF ending the section', 'A: 1\r\n\n', 'ERR_H1_INVALID_FIELD_LINE', 6],
    ['a NUL in a value', 'A: 1\u00002\r\n\r\n', 'ERR_H1_INVALID_FIELD_LINE', 4],
    ['a line without colon', 'A\r\n\r\n', 'ERR_H1_INVALID_FIELD_LINE', 1],
    ['an empty name', ': 1\r\n\r\n', 'ERR_H1_INVALID_FIELD_LINE', 0],
    ['a separator in a name', 'A(B: 1\r\n\r\n', 'ERR_H1_INVALID_FIELD_LINE', 1],
    ['bytes after the empty line', 'A: 1\r\n\r\nX', 'ERR_H1_INVALID_FIELD_LINE', 8],
    ['no empty line', 'A: 1\r\n', 'ERR_H1_INCOMPLETE_FIELD_SECTION', 6],
    ['a cut line', 'A: 1', 'ERR_H1_INCOMPLETE_FIELD_SECTION', 4],
    ['nothing', '', 'ERR_H1_INCOMPLETE_FIELD_SECTION', 0],
  ])('rejects %s with its code and offset', (_why, input, code, offset) => {
    expect(failure(input)).toEqual({ code, offset });
  });

  it('enforces byte and field-count limits before parsing, offsetting errors by the base', () => {
    expect(failure('A: 1\r\nB: 2\r\n\r\n', { maxBytes: 10 })).toEqual({
      code: 'ERR_H1_HEADERS_TOO_LARGE',
      offset: 10,
    });
    expect(failure('A: 1\r\nB: 2\r\n\r\n', { maxFields: 1 })).toEqual({
      code: 'ERR_H1_TOO_MANY_FIELDS',
      offset: 6,
    });
    expect(failure('A : 1\r\n\r\n', { offset: 1000 })).toEqual({
      code: 'ERR_H1_INVALID_FIELD_LINE',
      offset: 1001,
    });
    expect(parseFieldLines(bytes('A: 1\r\n\r\n'), { maxBytes: 8, maxFields: 1 })).toEqual([
      ['A', '1'],
    ]);
  });

  test.prop([fieldPairs(20)])(
    'round trip: parseFieldLines(serializeFieldLines(x)) gives x back',
    (pairs) => {
      expect(parseFieldLines(serializeFieldLines(pairs))).toEqual(pairs);
    },
  );

  test.prop([fc.uint8Array({ maxLength: 200 })])(
    'never throws anything but H1Error on arbitrary bytes',
    (input) => {
      try {
        const fields = parseFieldLines(input);
        expect(Array.isArray(fields)).toBe(true);
      } catch (error) {
        expect(error).toBeInstanceOf(H1Error);
      }
    },
  );

  test.prop([fieldPairs(8), fc.array(fc.nat(), { maxLength: 6 })])(
    'agreement with llhttp: fields of a head as llhttp reads them',
    (pairs, cuts) => {
      const section = serializeFieldLines(pairs);
      const head = Buffer.concat([Buffer.from('GET / HTTP/1.1\r\n'), section]);
      const { messages, error } = llhttpParse('request', segment(head, cuts), {
        finish: false,
        single: true,
      });
      expect(error).toBeUndefined();
      expect(parseFieldLines(section)).toEqual(pairs);
      expect(messages[0]?.headers).toEqual(pairs.flat());
    },
  );

  test.prop([
    fc.string({
      unit: fc.constantFrom('A', ':', ' ', '\t', '\r', '\n', '\u0000', 'é', '('),
      maxLength: 24,
    }),
  ])(
    'agreement with llhttp on what a field section may be: whatever we accept, llhttp accepts alike',
    (body) => {
      const section = `${body}\r\n\r\n`;
      let ours: Array<[string, string]> | undefined;
      try {
        ours = parseFieldLines(bytes(section));
      } catch (error) {
        expect(error).toBeInstanceOf(H1Error);
      }
      if (ours === undefined) return;
      const { messages, error } = llhttpParse('request', [bytes(`GET / HTTP/1.1\r\n${section}`)], {
        finish: false,
        single: true,
      });
      expect(error).toBeUndefined();
      expect(messages[0]?.headers).toEqual(ours.flat());
    },
  );
});
