import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { H1Error } from '@h1kit/headers';
import { DuplexErrorCode } from '../errors.js';
import { closeGracefully } from '../io/close.js';
import { detachResponse, replaceDestroySoon } from './node-http.js';

/** After a hijack, the ServerResponse must not write to the connection it no longer owns. */
export function neutralize(res: ServerResponse): void {
  const refuse = (): never => {
    throw new H1Error(
      DuplexErrorCode.HIJACKED,
      'the request was hijacked; write to the hijacked connection instead',
    );
  };
  for (const method of [
    'write',
    'end',
    'writeHead',
    'flushHeaders',
    'writeContinue',
    'writeProcessing',
    'writeEarlyHints',
  ] as const) {
    Object.defineProperty(res, method, { value: refuse, configurable: true, writable: true });
  }
}

/**
 * The ServerResponse of a request hijacked with `keepResponse`, left able to answer until the
 * connection is taken: a framework's hooks run after the hijack and may refuse the request (a
 * 401, say) through it. node:http reads nothing more of the connection, so such an answer says
 * `Connection: close`, and the connection closes gracefully after it.
 */
export class HeldResponse {
  private readonly res: ServerResponse;
  private readonly socket: Socket;
  private readonly restore: () => void;
  private closed = false;

  constructor(res: ServerResponse, socket: Socket) {
    this.res = res;
    this.socket = socket;
    res.shouldKeepAlive = false;
    this.restore = replaceDestroySoon(socket, this.close);
    // node:http's own end of the connection may not run at all: a hook can set Connection itself.
    res.once('finish', this.close);
  }

  /** Whether anything of a response went out (or is queued) through the ServerResponse. */
  get answered(): boolean {
    return this.res.headersSent || this.res.writableEnded;
  }

  /**
   * The connection is being taken: from now on the ServerResponse refuses every write. Throws
   * `H1Error` (`ERR_H1_HIJACKED`) if it already answered, since the connection then carries
   * that response.
   */
  release(): void {
    if (this.answered) {
      throw new H1Error(
        DuplexErrorCode.HIJACKED,
        'the request was already answered through its ServerResponse; the connection closes after that answer',
      );
    }
    this.restore();
    this.res.off('finish', this.close);
    detachResponse(this.res, this.socket);
    neutralize(this.res);
  }

  private readonly close = (): void => {
    if (this.closed) return;
    this.closed = true;
    this.restore();
    closeGracefully(this.socket);
  };
}
