// Three readers of a chunked body for tests, all returning the same outcome shape: h1kit's
// ChunkedDecoder, llhttp (through the llhttp oracle, after a fixed request head), and a model —
// a whole-input reading of RFC 9112 section 7.1 written with regular expressions, sharing no code
// with the decoder. The model has a dialect switch: strict RFC grammar (what h1kit implements)
// or llhttp's reading, whose every difference is one named flag below.
import { ChunkedDecoder, type ChunkedDecoderOptions, H1Error } from '@h1kit/chunked';
import { text as latin1 } from '../bytes.js';
import { llhttpParse } from './llhttp.js';

export type Outcome =
  | { ok: true; payload: string; trailers: Array<[string, string]>; rest: string }
  | { ok: false; code: string; offset?: number | undefined };

export interface Dialect {
  /** BWS around `;` and `=` in chunk-ext (RFC 9112 allows it; llhttp rejects it). */
  bws: boolean;
  /**
   * A chunk-ext value read as token chars then at most one quoted-string, either part empty
   * (`a=`, `a=b"c"`): not in the grammar; llhttp reads values so.
   */
  looseExtValue: boolean;
  /**
   * An empty chunk-ext name when `=` or `;` follows (`;=v`, `;;a`): not in the grammar; llhttp
   * accepts it, though not an empty name right before CR.
   */
  emptyExtName: boolean;
  /** Content-Length or Transfer-Encoding as trailer fields refused (llhttp refuses them). */
  refuseFramingTrailers: boolean;
}

export const RFC_9112: Dialect = {
  bws: true,
  looseExtValue: false,
  emptyExtName: false,
  refuseFramingTrailers: false,
};
export const LLHTTP: Dialect = {
  bws: false,
  looseExtValue: true,
  emptyExtName: true,
  refuseFramingTrailers: true,
};

export const CHUNKED_HEAD = 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';

/** h1kit over `segments`, one push each, then `finish()` if the message has not ended. */
export function h1kitDecode(segments: Uint8Array[], options?: ChunkedDecoderOptions): Outcome {
  const decoder = new ChunkedDecoder(options);
  let payload = '';
  try {
    for (let i = 0; i < segments.length; i++) {
      const result = decoder.push(segments[i]!);
      for (const view of result.data) payload += latin1(view);
      if (result.done) {
        const rest =
          latin1(result.rest) +
          segments
            .slice(i + 1)
            .map(latin1)
            .join('');
        return { ok: true, payload, trailers: result.trailers, rest };
      }
    }
    decoder.finish();
  } catch (error) {
    if (!(error instanceof H1Error)) throw error;
    return { ok: false, code: error.code, offset: error.offset };
  }
  throw new Error('finish() returned inside the message');
}

/** llhttp over the fixed head and `segments`; `rest` is not observable there and left empty. */
export function llhttpDecode(segments: Uint8Array[]): Outcome {
  const result = llhttpParse('request', [Buffer.from(CHUNKED_HEAD), ...segments], {
    single: true,
  });
  const message = result.messages[0];
  if (!message?.complete) return { ok: false, code: result.error?.code ?? 'INCOMPLETE' };
  const trailers: Array<[string, string]> = [];
  for (let i = 0; i < message.trailers.length; i += 2) {
    trailers.push([message.trailers[i]!, message.trailers[i + 1]!]);
  }
  return { ok: true, payload: message.body.toString('latin1'), trailers, rest: '' };
}

const TCHAR = "[-!#$%&'*+.^_`|~0-9A-Za-z]";
const QUOTED_STRING =
  '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"';
const FIELD_LINE = new RegExp(`(${TCHAR}+):([\\t \\x21-\\x7e\\x80-\\xff]*)\\r\\n`, 'y');

function sizeLinePattern(dialect: Dialect): RegExp {
  const ws = dialect.bws ? '[ \\t]*' : '';
  const value = dialect.looseExtValue
    ? `${TCHAR}*(?:${QUOTED_STRING})?`
    : `(?:${TCHAR}+|${QUOTED_STRING})`;
  const named = `${TCHAR}+(?:${ws}=${ws}${value})?`;
  const item = dialect.emptyExtName ? `(?:${named}|=${value}|(?=;))` : named;
  const ext = `(?:${ws};${ws}${item})*`;
  return new RegExp(`([0-9A-Fa-f]+)${ext}\\r\\n`, 'y');
}

/** The model: reads `wire` whole as one chunked body, limits aside. */
export function modelDecode(wire: Uint8Array, dialect: Dialect = RFC_9112): Outcome {
  const text = latin1(wire);
  const sizeLine = sizeLinePattern(dialect);
  const reject: Outcome = { ok: false, code: 'MODEL_REJECTS' };
  let pos = 0;
  let payload = '';
  for (;;) {
    sizeLine.lastIndex = pos;
    const match = sizeLine.exec(text);
    if (match === null) return reject;
    pos = sizeLine.lastIndex;
    const size = Number.parseInt(match[1]!, 16);
    if (size === 0) break;
    if (size > text.length - pos - 2) return reject;
    payload += text.slice(pos, pos + size);
    pos += size;
    if (text.slice(pos, pos + 2) !== '\r\n') return reject;
    pos += 2;
  }
  const trailers: Array<[string, string]> = [];
  while (text.slice(pos, pos + 2) !== '\r\n') {
    FIELD_LINE.lastIndex = pos;
    const match = FIELD_LINE.exec(text);
    if (match === null) return reject;
    const name = match[1]!;
    if (dialect.refuseFramingTrailers && /^(content-length|transfer-encoding)$/i.test(name)) {
      return reject;
    }
    trailers.push([name, match[2]!.replace(/^[\t ]+|[\t ]+$/g, '')]);
    pos = FIELD_LINE.lastIndex;
  }
  return { ok: true, payload, trailers, rest: text.slice(pos + 2) };
}
