import type { IncomingMessage } from 'node:http';

// A framework reads a body when a request says it has one: Content-Type, Content-Length or
// Transfer-Encoding. The body of a hijacked request is not node:http's to give, so a framework
// that runs between the hijack and the handler must not look for it there.

const BODY_FIELDS = ['content-type', 'content-length', 'transfer-encoding'] as const;

/**
 * Removes the fields that announce a body from `req.headers` (node:http's parsed copy; the
 * hijacked request's own head keeps them all), so that a framework's body parsers skip the
 * request of a hijack made with `keepResponse`. Returns the function that puts them back.
 *
 * @example
 * ```ts
 * import { hideBodyFields, hijack } from '@h1kit/duplex';
 * const pending = hijack(req, res, { keepResponse: true });
 * const restore = hideBodyFields(req); // express.json() and the like now see no body
 * // ... the framework's middleware runs ...
 * restore(); // the handler sees req.headers as sent
 * ```
 */
export function hideBodyFields(req: IncomingMessage): () => void {
  const headers = req.headers;
  const saved: Array<[string, string | string[] | undefined]> = [];
  for (const name of BODY_FIELDS) {
    if (!(name in headers)) continue;
    saved.push([name, headers[name]]);
    delete headers[name];
  }
  return () => {
    for (const [name, value] of saved.splice(0)) headers[name] = value;
  };
}
