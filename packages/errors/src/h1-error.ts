// A class expression bound to another name, so that the class itself is named H1Error (what
// util.inspect and stack traces print) while the exported H1Error can be the registered one.
const H1ErrorClass = class H1Error extends Error {
  /** Stable code naming the fault, e.g. `ERR_H1_INVALID_CHUNK_SIZE`. */
  readonly code: string;
  /** Byte offset in the stream (or in the input given) where the fault was found, when known. */
  readonly offset: number | undefined;

  /** `options.cause` becomes the standard `Error.prototype.cause`: what led to this fault. */
  constructor(code: string, message: string, offset?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.offset = offset;
  }

  override get name(): string {
    return 'H1Error';
  }
};

// One class per process. The ESM and the CJS build of this package are two module instances,
// and a bundler may inline a copy of it into an application: each would define its own class,
// and `instanceof` would fail across them. So the first copy to load registers its class under a
// global key and every copy (this one included) exports whatever is registered there.
const registry = globalThis as unknown as Record<symbol, typeof H1ErrorClass | undefined>;
const key = Symbol.for('h1kit.H1Error');
registry[key] ??= H1ErrorClass;

/**
 * The one error type of h1kit. Every rejection of input by any h1kit package is an `H1Error`
 * whose `code` is stable and documented (each package lists its own codes), so callers can branch
 * on it without parsing messages.
 *
 * @example
 * ```ts
 * import { H1Error } from '@h1kit/errors';
 * try {
 *   throw new H1Error('ERR_APP_BAD_RANGE', 'range ends before it starts', 6);
 * } catch (error) {
 *   if (error instanceof H1Error) console.log(error.code, error.offset); // ERR_APP_BAD_RANGE 6
 * }
 * ```
 */
export const H1Error: typeof H1ErrorClass = registry[key];
/**
 * An `H1Error` instance: `code`, `offset` and the standard `message` and `cause`.
 *
 * @example
 * ```ts
 * import type { H1Error } from '@h1kit/errors';
 * function describe(error: H1Error): string {
 *   return `${error.code} at ${error.offset ?? '?'}: ${error.message}`;
 * }
 * ```
 */
export type H1Error = InstanceType<typeof H1ErrorClass>;
