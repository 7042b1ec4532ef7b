import { STATUS_CODES } from 'node:http';
import { fc, test } from '@fast-check/vitest';
import { H1Error, serializeRequestHead, serializeResponseHead } from '@h1kit/headers';
import { describe, expect } from 'vitest';
import {
  type FieldShape,
  fieldName,
  fieldPairs,
  fieldValue,
  forbiddenValueChar,
  groupsKeepOrder,
  inShape,
  llhttpMethod,
  originTarget,
  token,
} from '../../../testkit/arbitraries/http.js';
import { llhttpParse } from '../../../testkit/oracles/llhttp.js';

const shape = fc.constantFrom<FieldShape>('object', 'pairs', 'flat', 'map');
// Reason phrases as llhttp reads them back: it drops nothing but the leading SP separator.
const reason = fc.string({
  unit: fc
    .integer({ min: 0x20, max: 0xff })
    .filter((c) => c !== 0x7f)
    .map((c) => String.fromCharCode(c)),
  maxLength: 30,
});

// JavaScript orders integer-like keys of an object first, so an object keeps the field order only
// when no name looks like an array index.
const arrayIndex = /^(0|[1-9][0-9]*)$/;

function asShape(pairs: Array<[string, string]>, wanted: FieldShape): FieldShape {
  if ((wanted === 'object' || wanted === 'map') && !groupsKeepOrder(pairs)) return 'pairs';
  if (wanted === 'object' && pairs.some(([name]) => arrayIndex.test(name))) return 'pairs';
  return wanted;
}

describe('serializeRequestHead', () => {
  test.prop([llhttpMethod(), originTarget(), fieldPairs(), shape, fc.boolean()])(
    'agreement with llhttp: method, target, version and every field line read back unchanged',
    (method, target, pairs, wanted, http10) => {
      const fields = inShape(pairs, asShape(pairs, wanted));
      const head = serializeRequestHead(
        method,
        target,
        fields as never,
        http10 ? { version: '1.0' } : undefined,
      );
      const { messages, error } = llhttpParse('request', [head], { finish: false, single: true });
      expect(error).toBeUndefined();
      const [message] = messages;
      expect(message?.method).toBe(method);
      expect(message?.url).toBe(target);
      expect(message?.versionMinor).toBe(http10 ? 0 : 1);
      expect(message?.headers).toEqual(pairs.flat());
    },
  );

  test.prop([token(), originTarget(), fieldName(), fieldValue(), fc.nat(), forbiddenValueChar()])(
    'a forbidden char anywhere in a field value throws H1Error and returns nothing',
    (method, target, name, value, at, bad) => {
      const i = at % (value.length + 1);
      const poisoned = value.slice(0, i) + String.fromCharCode(bad) + value.slice(i);
      let result: Uint8Array | undefined;
      expect(() => {
        result = serializeRequestHead(method, target, [[name, poisoned]]);
      }).toThrow(H1Error);
      expect(result).toBeUndefined();
    },
  );

  test.prop([fieldName(), fc.nat(), fc.integer({ min: 0, max: 0xffff })])(
    'a name with any char outside tchar throws H1Error',
    (name, at, c) => {
      fc.pre(
        !"!#$%&'*+-.^_`|~".includes(String.fromCharCode(c)) &&
          !/[0-9A-Za-z]/.test(String.fromCharCode(c)),
      );
      const i = at % (name.length + 1);
      const poisoned = name.slice(0, i) + String.fromCharCode(c) + name.slice(i);
      expect(() => serializeRequestHead('GET', '/', { [poisoned]: 'v' })).toThrow(H1Error);
    },
  );

  test.prop([
    originTarget(),
    fc.nat(),
    fc.oneof(fc.integer({ min: 0, max: 0x20 }), fc.integer({ min: 0x7f, max: 0xffff })),
  ])(
    'a request-target with whitespace, a CTL or a non-ASCII char throws H1Error',
    (target, at, c) => {
      const i = at % (target.length + 1);
      const poisoned = target.slice(0, i) + String.fromCharCode(c) + target.slice(i);
      expect(() => serializeRequestHead('GET', poisoned, [])).toThrow(H1Error);
    },
  );
});

/** The one response llhttp reads from `head`, asserting that it reads it without an error. */
function readBack(head: Uint8Array) {
  const { messages, error } = llhttpParse('response', [head], {
    finish: false,
    single: true,
    headResponse: true,
  });
  expect(error).toBeUndefined();
  return messages[0];
}

describe('serializeResponseHead', () => {
  test.prop([fc.integer({ min: 100, max: 999 }), reason, fieldPairs(), shape])(
    'agreement with llhttp: status, reason and every field line read back unchanged',
    (status, phrase, pairs, wanted) => {
      const fields = inShape(pairs, asShape(pairs, wanted));
      const message = readBack(serializeResponseHead(status, fields as never, { reason: phrase }));
      expect(message?.statusCode).toBe(status);
      expect(message?.statusMessage).toBe(phrase);
      expect(message?.headers).toEqual(pairs.flat());
    },
  );

  test.prop([
    fc.array(fc.tuple(fc.integer({ min: 100, max: 999 }), fc.option(reason)), {
      minLength: 1,
      maxLength: 20,
    }),
  ])(
    'agreement with llhttp: a status line from the cache reads back as one written anew, whatever statuses and reasons came before',
    (calls) => {
      for (const [status, phrase] of calls) {
        const options = phrase === null ? undefined : { reason: phrase };
        const message = readBack(serializeResponseHead(status, { 'Content-Length': 0 }, options));
        expect(message?.statusCode).toBe(status);
        expect(message?.statusMessage).toBe(phrase ?? STATUS_CODES[status] ?? '');
      }
    },
  );

  test.prop([
    fc.integer({ min: 100, max: 599 }),
    fieldName(),
    fieldValue(),
    fc.nat(),
    forbiddenValueChar(),
  ])(
    'a forbidden char in a field value throws H1Error and returns nothing',
    (status, name, value, at, bad) => {
      const i = at % (value.length + 1);
      const poisoned = value.slice(0, i) + String.fromCharCode(bad) + value.slice(i);
      let result: Uint8Array | undefined;
      expect(() => {
        result = serializeResponseHead(status, { 'x-ok': 'fine', [name]: [value, poisoned] });
      }).toThrow(H1Error);
      expect(result).toBeUndefined();
    },
  );

  test.prop([fc.anything()])(
    'never throws anything but H1Error, whatever the fields argument',
    (junk) => {
      try {
        serializeResponseHead(200, junk as never);
      } catch (error) {
        expect(error).toBeInstanceOf(H1Error);
      }
    },
  );
});
