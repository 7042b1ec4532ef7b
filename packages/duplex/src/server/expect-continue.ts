import type { Duplex } from 'node:stream';
import type { HttpVersion } from '@h1kit/headers';

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

/**
 * What has been done about a request's Expect field (a request without one has no
 * ExpectContinue): 100-continue not yet answered (`waiting`) or answered (`continued`); or an
 * expectation this server does not meet (`unmet`: another value, or HTTP/1.0, where 100 Continue
 * does not exist).
 */
export type ExpectState = 'waiting' | 'continued' | 'unmet';

/**
 * Answers `Expect: 100-continue` once, and only before the final response head: on the first
 * read of the body, or when a 2xx is sent while the body is still to come (a 2xx says the body
 * is wanted). Any other final status lets the client keep its body.
 */
export class ExpectContinue {
  state: ExpectState;

  /**
   * `expect` is the request's Expect field, every value when it was sent more than once;
   * `continued` says a 100 Continue already went out (node:http's, before a hijack).
   */
  constructor(
    expect: string | string[],
    version: HttpVersion,
    private readonly socket: Duplex,
    continued = false,
  ) {
    const continues =
      typeof expect === 'string' && expect.toLowerCase() === '100-continue' && version === '1.1';
    this.state = !continues ? 'unmet' : continued ? 'continued' : 'waiting';
  }

  /** Sends 100 Continue if the client waits for it; `finalSent` says the final head went out. */
  answer(finalSent: boolean): void {
    if (this.state !== 'waiting' || finalSent) return;
    this.state = 'continued';
    this.socket.write(CONTINUE);
  }

  /** A client that was told to wait and never got 100 Continue may never send its body. */
  get bodyMayNeverCome(): boolean {
    return this.state === 'waiting' || this.state === 'unmet';
  }
}
