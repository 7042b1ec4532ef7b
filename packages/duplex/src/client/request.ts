// The client's way in: the URL checked (and its parse kept for the next call), the exchange made.
import { H1Error } from '@h1kit/headers';
import { DuplexErrorCode } from '../errors.js';
import { ClientExchange } from './client.js';
import type { RequestOptions } from './options.js';

/**
 * Starts a full-duplex request; see `ClientExchange`. Returns at once: the connection (pooled by
 * the agent) and the response come later, through `exchange.response`. Throws `H1Error` for a URL
 * that is not http: or https:, or a string that is not a URL (`ERR_H1_INVALID_URL`), an unusable
 * option, or a head the serializer refuses.
 *
 * @example
 * ```ts
 * import { request } from '@h1kit/duplex';
 * const exchange = request('http://127.0.0.1:8080/echo', { method: 'POST' });
 * exchange.body.write('line 1\n');
 * const response = await exchange.response; // the head; the request body may still be open
 * exchange.body.end();
 * for await (const chunk of response.body) process.stdout.write(chunk);
 * ```
 */
export function request(url: string | URL, options: RequestOptions = {}): ClientExchange {
  const target = typeof url === 'string' ? parsedUrl(url) : url;
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new H1Error(
      DuplexErrorCode.INVALID_URL,
      `only http: and https: URLs, got ${target.protocol}`,
    );
  }
  return new ClientExchange(target, options);
}

// Callers tend to ask for the same URL again and again; the parse is kept for the last one (the
// URL object never leaves this module, so nobody can change it under us).
let lastUrlText: string | undefined;
let lastUrl: URL | undefined;

function parsedUrl(text: string): URL {
  if (text !== lastUrlText) {
    // The URL constructor's TypeError would be the one error here that is not an H1Error.
    if (!URL.canParse(text)) {
      throw new H1Error(DuplexErrorCode.INVALID_URL, `not a URL: ${JSON.stringify(text)}`);
    }
    lastUrl = new URL(text);
    lastUrlText = text;
  }
  return lastUrl!;
}
