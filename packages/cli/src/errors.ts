// The two ways a command fails and the one line each is reported as: a command line it cannot
// use (exit 2, the convention of getopt tools) or a failure while running (exit 1).
import { H1Error } from '@h1kit/headers';

/** Exit code for a command line that cannot be used (unknown option, bad value). */
export const USAGE_EXIT = 2;
/** Exit code for a failure at run time (unreachable host, TLS, protocol error). */
export const FAILURE_EXIT = 1;

/** A command line h1kit cannot use; reported as `h1kit: <message>`, exit code 2. */
export class UsageError extends Error {
  override get name(): string {
    return 'UsageError';
  }
}

/** A failure already phrased for the user; reported as `h1kit: <message>`, exit code 1. */
export class Failure extends Error {
  override get name(): string {
    return 'Failure';
  }
}

/** What Node's socket error codes mean, in the words a user of a command line expects. */
const SOCKET_CODES = new Map<string, string>(
  Object.entries({
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset by the peer',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'host name lookup failed (temporary)',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ETIMEDOUT: 'timed out',
    EADDRINUSE: 'address already in use',
    EADDRNOTAVAIL: 'address not available on this machine',
    EACCES: 'permission denied',
    ENOENT: 'no such file',
    EISDIR: 'is a directory',
  }),
);

/**
 * Certificate codes that a self-signed or private CA causes, where `-k` is the usual answer. Said
 * in our words: Node 24 and later add advice of their own to the message, which differs by line.
 */
const UNTRUSTED = new Map<string, string>(
  Object.entries({
    DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
    SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in the chain',
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'certificate not signed by a trusted CA',
    UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'issuer certificate not known here',
  }),
);

/** Node's error code of `error`, if it has one. */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A Node error as a short phrase: the meaning of its code where known, else its message. */
export function systemText(error: unknown): string {
  const code = codeOf(error);
  const meaning = code === undefined ? undefined : SOCKET_CODES.get(code);
  if (meaning !== undefined) return meaning;
  const message = error instanceof Error ? error.message : String(error);
  return oneLine(message);
}

/** Messages from OpenSSL and friends can span lines; the report is one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/**
 * The one line reported for a failure at run time: an `H1Error` names its code (what scripts
 * match on), with the cause spelt out for connect and TLS failures.
 */
export function failureLine(error: unknown, where?: string): string {
  if (error instanceof H1Error) {
    const cause = (error as { cause?: unknown }).cause;
    if (error.code === 'ERR_H1_CONNECT_FAILED' && cause !== undefined) {
      return `cannot connect to ${where ?? 'the server'}: ${systemText(cause)} (${error.code})`;
    }
    if (error.code === 'ERR_H1_TLS_FAILED' && cause !== undefined) {
      const untrusted = UNTRUSTED.get(codeOf(cause) ?? '');
      const why = untrusted === undefined ? systemText(cause) : `${untrusted}; -k skips the check`;
      return `TLS handshake with ${where ?? 'the server'} failed: ${why} (${error.code})`;
    }
    return `${error.code}: ${oneLine(error.message)}`;
  }
  if (error instanceof Error) return oneLine(error.message);
  return oneLine(String(error));
}

/** User text inside a message, quoted and escaped, so that it cannot break the one line. */
export function quote(text: string): string {
  return JSON.stringify(text);
}

/** The same escape without the quotes, for option names. */
export function bare(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}
