// What a client request sends before its body: the method as node:http would send it, the
// fields the URL implies (Host, Basic credentials), the framing, and the serialized head.
import { type FieldInput, type Framing, H1Error, serializeRequestHead } from '@h1kit/headers';
import { DuplexErrorCode } from '../errors.js';
import { clientRequestPlan } from '../io/framing-plan.js';
import { DEFAULT_HEAD_LIMITS } from '../io/llhttp.js';
import {
  checkHeadSize,
  type FieldPairs,
  fieldLists,
  fieldPairsOf,
  hasField,
} from '../io/message.js';

/** Methods sent upper-cased whatever case they are given in, as node:http does; others as given. */
const STANDARD_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
]);
/** Methods that carry no body unless asked to. */
const BODYLESS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'DELETE', 'CONNECT']);

export interface HeadInput {
  method?: string;
  headers?: FieldInput;
  body?: boolean;
  target?: string;
  maxRequestHeadBytes?: number;
}

export interface PlannedRequest {
  method: string;
  head: Uint8Array;
  framing: Framing;
  /** The request asked for the connection to close after it. */
  closes: boolean;
  /** The request carries Upgrade: only then may the answer be 101 (RFC 9110 section 15.2.2). */
  upgrade: boolean;
}

/**
 * Plans a request to `url`: Throws `H1Error` on a field, method or target the serializer refuses,
 * on credentials in the URL that do not decode, and on a head over `maxRequestHeadBytes`.
 */
export function planRequest(url: URL, input: HeadInput, expectContinue: boolean): PlannedRequest {
  const given = input.method ?? 'GET';
  const upper = given.toUpperCase();
  const method = STANDARD_METHODS.has(upper) ? upper : given;
  let fields = fieldPairsOf(input.headers ?? {});
  if (!hasField(fields, 'host')) fields = [['Host', url.host], ...fields];
  const credentials = basicCredentials(url);
  if (credentials !== undefined && !hasField(fields, 'authorization')) {
    fields.push(['Authorization', credentials]);
  }
  // An Upgrade request's body, if any, is the new protocol's: none unless asked for.
  const bodyByDefault = !BODYLESS.has(method) && !hasField(fields, 'upgrade');
  const plan = clientRequestPlan(method, fields, input.body ?? bodyByDefault);
  let planned: FieldPairs = plan.fields;
  // Expect: 100-continue unless the fields carry an Expect already.
  if (expectContinue && plan.framing.kind !== 'none' && !hasField(planned, 'expect')) {
    planned = [...planned, ['Expect', '100-continue']];
  }
  // CONNECT names its tunnel's end in authority form (RFC 9112 section 3.2.3).
  const target = input.target ?? (method === 'CONNECT' ? url.host : `${url.pathname}${url.search}`);
  const head = serializeRequestHead(method, target, planned);
  checkHeadSize(
    head,
    input.maxRequestHeadBytes ?? DEFAULT_HEAD_LIMITS.maxHeadBytes,
    'maxRequestHeadBytes',
  );
  return {
    method,
    head,
    framing: plan.framing,
    closes: fieldLists(planned, 'connection', 'close'),
    upgrade: hasField(planned, 'upgrade'),
  };
}

/**
 * `user:password@` in the URL as a Basic Authorization value, as node:http's `http.request`
 * sends it (percent-decoded first); undefined when the URL carries none.
 */
function basicCredentials(url: URL): string | undefined {
  if (url.username === '' && url.password === '') return undefined;
  let pair: string;
  try {
    pair = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  } catch (error) {
    throw new H1Error(
      DuplexErrorCode.INVALID_URL,
      'the credentials in the URL are not valid percent-encoding',
      undefined,
      { cause: error },
    );
  }
  return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
}
