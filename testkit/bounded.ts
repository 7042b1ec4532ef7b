// Bounded waits: a test states its failure with an assertion, never by timing out. Every wait on
// something the code under test must do goes through `inTime` (or `within`, when running out of
// time is an outcome the test asserts on itself).
import { assert } from 'vitest';

/** The bound on a wait for something that must happen promptly: a hang otherwise. */
export const BOUND_MS = 3000;

/** Resolves with the promise's value, or with `timedOut` if it has not settled within `ms`. */
export function within<T, U>(promise: Promise<T>, ms: number, timedOut: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<U>((resolve) => {
    timer = setTimeout(() => resolve(timedOut), ms);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

/**
 * The promise's value; fails the test, naming `what` it waited for, if the promise has not
 * settled within `ms`. For waits on the code under test whose failure would otherwise be a hang.
 */
export async function inTime<T>(promise: Promise<T>, what: string, ms = BOUND_MS): Promise<T> {
  const late = Symbol('late');
  const result = await within(promise, ms, late);
  if (result === late) assert.fail(`${what} did not come within ${ms} ms`);
  return result as T;
}

/**
 * The items of `source` for a `for await` loop, each awaited with `inTime`: a stream that stalls
 * (never yields its next item nor ends) fails the test, naming `what` was read.
 */
export async function* eachInTime<T>(
  source: AsyncIterable<T>,
  what: string,
  ms = BOUND_MS,
): AsyncGenerator<T, void, undefined> {
  const items = source[Symbol.asyncIterator]();
  for (let count = 0; ; count++) {
    const next = await inTime(items.next(), `${what} (after ${count} items)`, ms);
    if (next.done) return;
    yield next.value;
  }
}
