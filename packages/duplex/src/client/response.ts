// The response a client exchange resolves with: its head, read lazily, and its body.
import type { IncomingBody } from '../io/incoming.js';
import {
  type FieldPairs,
  type FieldRecord,
  type Inspect,
  inspectCustom,
  type ResponseHead,
  recordOf,
  shownWhole,
} from '../io/message.js';

/**
 * The final response to a `request()`: its head, and its body, readable while the request body is
 * still being written. Any status is a response: a 404 or a 500 resolves, it does not reject.
 *
 * @example
 * ```ts
 * import { type ClientResponse, request } from '@h1kit/duplex';
 * const response: ClientResponse = await request('http://127.0.0.1:8080/report').response;
 * if (response.status !== 200) throw new Error(`${response.status} ${response.reason}`);
 * let text = '';
 * for await (const chunk of response.body) text += chunk;
 * console.log(response.trailers); // after a chunked body: e.g. [['Server-Timing', 'db;dur=53']]
 * ```
 */
export interface ClientResponse extends ResponseHead {
  /** The decoded response body. */
  body: IncomingBody;
  /** Response trailer fields, once `body` has ended. */
  readonly trailers: FieldPairs;
}

/** The response as `response` resolves it: `headers` and `trailers` are read when first asked for. */
export class ReceivedResponse implements ClientResponse {
  readonly status: number;
  readonly reason: string;
  readonly version: ResponseHead['version'];
  readonly fields: FieldPairs;
  private record: FieldRecord | undefined;

  constructor(
    head: Omit<ResponseHead, 'headers'>,
    private readonly rawFields: readonly string[],
    readonly body: IncomingBody,
  ) {
    this.status = head.status;
    this.reason = head.reason;
    this.version = head.version;
    this.fields = head.fields;
  }

  get headers(): FieldRecord {
    this.record ??= recordOf(this.rawFields);
    return this.record;
  }

  get trailers(): FieldPairs {
    return this.body.trailers;
  }

  // Getters live on the prototype, where JSON and util.inspect do not look: show them whole.
  toJSON(): object {
    const { status, reason, version, fields, headers } = this;
    return { status, reason, version, fields, headers };
  }

  [inspectCustom](depth: number, options: object, inspect: Inspect): string {
    return shownWhole('ClientResponse', this.toJSON(), depth, options, inspect);
  }
}
