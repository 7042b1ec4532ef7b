// H1Error itself, from source: its fields, and the global registration that makes every copy of
// the module export one class. The same, across the built ESM and CJS files of several packages,
// is checked in test/h1error.test.ts.

import { inspect } from 'node:util';
import { H1Error as FromBufio } from '@h1kit/bufio';
import { H1Error as FromChunked } from '@h1kit/chunked';
import { H1Error } from '@h1kit/errors';
import { H1Error as FromHeaders } from '@h1kit/headers';
import { describe, expect, it } from 'vitest';

type Module = typeof import('@h1kit/errors');
const source = new URL('../src/h1-error.ts', import.meta.url).pathname;
const registered = (): unknown =>
  (globalThis as Record<symbol, unknown>)[Symbol.for('h1kit.H1Error')];

describe('H1Error', () => {
  it('carries name, code, message, offset and cause', () => {
    const cause = new TypeError('inner');
    const error = new H1Error('ERR_H1_SOMETHING', 'went wrong', 42, { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('H1Error');
    expect(error.code).toBe('ERR_H1_SOMETHING');
    expect(error.message).toBe('went wrong');
    expect(error.offset).toBe(42);
    expect(error.cause).toBe(cause);
    expect(String(error)).toBe('H1Error: went wrong');
    expect(error.stack).toContain('went wrong');
  });

  it('prints as H1Error wherever Node names it: inspect, console, the constructor, the stack', () => {
    const error = new H1Error('ERR_H1_SOMETHING', 'went wrong');
    expect(error.constructor.name).toBe('H1Error');
    expect(inspect(error).split('\n')[0]).toBe('H1Error: went wrong');
    expect(error.stack?.split('\n')[0]).toBe('H1Error: went wrong');
  });

  it('leaves offset and cause undefined when not given', () => {
    const error = new H1Error('ERR_H1_SOMETHING', 'went wrong');
    expect(error.offset).toBeUndefined();
    expect(error.cause).toBeUndefined();
    expect('cause' in error).toBe(false);
  });

  it('keeps an offset of 0 and a falsy cause', () => {
    const error = new H1Error('ERR_H1_SOMETHING', 'x', 0, { cause: 0 });
    expect(error.offset).toBe(0);
    expect(error.cause).toBe(0);
  });

  it('is what is registered under Symbol.for("h1kit.H1Error")', () => {
    expect(registered()).toBe(H1Error);
  });

  it('is the class every package re-exports', () => {
    expect(FromHeaders).toBe(H1Error);
    expect(FromBufio).toBe(H1Error);
    expect(FromChunked).toBe(H1Error);
  });

  it('is exported again by a second instance of the module, not redefined', async () => {
    // A query makes the loader evaluate the file once more, as a second copy of the package (the
    // other build, or a bundled one) would be.
    const copy = (await import(`${source}?copy`)) as Module;
    expect(copy.H1Error).toBe(H1Error);
    expect(new copy.H1Error('ERR_H1_X', 'x')).toBeInstanceOf(H1Error);
  });

  it('would be a second class in a second copy without the registration', async () => {
    const registry = globalThis as Record<symbol, unknown>;
    const key = Symbol.for('h1kit.H1Error');
    delete registry[key];
    try {
      const alone = (await import(`${source}?alone`)) as Module;
      expect(alone.H1Error).not.toBe(H1Error);
      expect(new alone.H1Error('ERR_H1_X', 'x')).not.toBeInstanceOf(H1Error);
      expect(registry[key]).toBe(alone.H1Error);
    } finally {
      registry[key] = H1Error;
    }
  });
});
