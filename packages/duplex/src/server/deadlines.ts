// Deadlines for one exchange, as Go's ResponseController sets them: absolute times, each
// cleared or moved at will, each a timer made only once set. A read deadline bounds the arrival
// of the request body; a write deadline bounds the completion of the response.
import { H1Error } from '@h1kit/headers';
import { DuplexErrorCode } from '../errors.js';

/**
 * A deadline: a Date, milliseconds since the epoch (as `Date.now()` gives), or null for none.
 * Absolute, as Go's are: moving one later is setting it again. Anything else (NaN, a string)
 * throws `ERR_H1_INVALID_DEADLINE` and leaves the deadline already set in place.
 *
 * @example
 * ```ts
 * import { createServer, type Deadline } from '@h1kit/duplex';
 * createServer(async (exchange) => {
 *   const deadline: Deadline = new Date(Date.now() + 10_000);
 *   exchange.setReadDeadline(deadline); // the body must all arrive within 10 s
 *   // too late: the loop throws ERR_H1_READ_TIMEOUT, and the client is answered 408
 *   for await (const chunk of exchange.body) await store(chunk);
 *   exchange.setWriteDeadline(Date.now() + 5_000); // a number works too; null clears one
 *   exchange.respond(204).end();
 * });
 * ```
 */
export type Deadline = Date | number | null;

/** What a passed deadline is told to. */
export interface DeadlineOwner {
  readDeadlinePassed(): void;
  writeDeadlinePassed(): void;
}

export class Deadlines {
  private read: NodeJS.Timeout | undefined;
  private write: NodeJS.Timeout | undefined;

  constructor(private readonly owner: DeadlineOwner) {}

  setRead(deadline: Deadline): void {
    // Checked first: a refused deadline leaves the one already set in place.
    const at = timeOf(deadline, 'read');
    clearTimeout(this.read);
    this.read = at === undefined ? undefined : this.timer(at, this.readPassed);
  }

  setWrite(deadline: Deadline): void {
    const at = timeOf(deadline, 'write');
    clearTimeout(this.write);
    this.write = at === undefined ? undefined : this.timer(at, this.writePassed);
  }

  clear(): void {
    clearTimeout(this.read);
    clearTimeout(this.write);
    this.read = undefined;
    this.write = undefined;
  }

  private timer(at: number, passed: () => void): NodeJS.Timeout {
    // One already passed fires at once, on the next turn of the event loop, as Go's does.
    const timer = setTimeout(passed, Math.max(0, at - Date.now()));
    // A deadline alone does not keep the process alive: the connection it guards does.
    timer.unref();
    return timer;
  }

  private readonly readPassed = (): void => {
    this.read = undefined;
    this.owner.readDeadlinePassed();
  };

  private readonly writePassed = (): void => {
    this.write = undefined;
    this.owner.writeDeadlinePassed();
  };
}

/** The deadline in ms since the epoch (undefined for none), or `ERR_H1_INVALID_DEADLINE`. */
function timeOf(deadline: Deadline, which: 'read' | 'write'): number | undefined {
  if (deadline === null) return undefined;
  const at = typeof deadline === 'number' ? deadline : deadline?.getTime?.();
  if (typeof at !== 'number' || !Number.isFinite(at)) {
    throw new H1Error(
      DuplexErrorCode.INVALID_DEADLINE,
      `a ${which} deadline is a Date, milliseconds since the epoch, or null; got ${String(deadline)}`,
    );
  }
  return at;
}

/** `ERR_H1_READ_TIMEOUT`: the request body did not arrive by its read deadline. */
export function readTimedOut(): H1Error {
  return new H1Error(
    DuplexErrorCode.READ_TIMEOUT,
    'the request body did not arrive by its read deadline (readTimeout, setReadDeadline)',
  );
}

/** `ERR_H1_WRITE_TIMEOUT`: the response was not complete by its write deadline. */
export function writeTimedOut(): H1Error {
  return new H1Error(
    DuplexErrorCode.WRITE_TIMEOUT,
    'the response was not complete by its write deadline (writeTimeout, setWriteDeadline)',
  );
}
