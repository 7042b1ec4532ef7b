/**
 * The Date field value (RFC 9110 section 6.6.1, IMF-fixdate) for responses sent this second:
 * formatted once a second, not once a response.
 */
let current = '';
let expires = 0;

export function httpDate(): string {
  const now = Date.now();
  if (now >= expires) {
    current = new Date(now).toUTCString();
    expires = now - (now % 1000) + 1000;
  }
  return current;
}
