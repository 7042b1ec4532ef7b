import type { ServerResponse } from 'node:http';
import { H1Error } from '@h1kit/headers';
import { DuplexErrorCode } from '../errors.js';

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
