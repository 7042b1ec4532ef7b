import type { IncomingMessage } from 'node:http';
import {
  DuplexErrorCode,
  type DuplexExchange,
  enableHijack,
  H1Error,
  type HijackedExchangeOptions,
  type HijackedRequest,
  hideBodyFields,
  hijack,
} from '@h1kit/duplex';
import type {
  FastifyInstance,
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
  HTTPMethods,
  RouteShorthandOptions,
} from 'fastify';
import { hooksOf } from './fastify-internals.js';

// How a duplex route runs. fastify routes a request synchronously inside node:http's 'request'
// event and calls the first onRequest hook there: the plugin's. For a duplex route it hijacks
// the request at that moment, while node:http has read no byte of the body, keeping the
// ServerResponse answerable (`keepResponse`). fastify's hooks then run as for any route, async or
// not, and any of them may still answer through the reply (a 401). Its body step is skipped, the
// body belonging to the exchange, and the route's handler gets the hijacked connection as a
// `DuplexExchange`.

/**
 * A duplex route's handler: the exchange, after every onRequest, preValidation and preHandler
 * hook. What it throws or rejects with goes to the plugin's `onError` (the client gets a 500 when
 * no response began).
 *
 * @example
 * ```ts
 * const echo: DuplexHandler = async (exchange, request) => {
 *   request.log.info('echoing');
 *   exchange.body.pipe(exchange.respond(200, { 'Content-Type': 'text/plain' }));
 * };
 * ```
 */
export type DuplexHandler = (
  this: FastifyInstance,
  exchange: DuplexExchange,
  request: FastifyRequest,
) => void | Promise<void>;

/**
 * A duplex route: fastify's route options (hooks, constraints, config, logLevel...) with a
 * handler that gets a `DuplexExchange`. A body schema is refused, there being no parsed body.
 *
 * @example
 * ```ts
 * app.duplex({
 *   method: 'PUT',
 *   url: '/upload/:name',
 *   schema: { params: { type: 'object', properties: { name: { type: 'string' } } } },
 *   exchange: { readTimeout: 60_000 },
 *   preHandler: requireToken,
 *   handler: (exchange, request) => store(request.params, exchange),
 * });
 * ```
 */
export interface DuplexRouteOptions extends Omit<RouteShorthandOptions, 'schema'> {
  method: HTTPMethods | HTTPMethods[];
  url: string;
  handler: DuplexHandler;
  /** Schemas of the querystring, params and headers, validated before the handler as usual. */
  schema?: Omit<NonNullable<RouteShorthandOptions['schema']>, 'body'>;
  /** Limits and deadlines of this route's exchanges; default the plugin's `exchange`. */
  exchange?: HijackedExchangeOptions;
}

/**
 * Options of the `@h1kit/fastify` plugin.
 *
 * @example
 * ```ts
 * await app.register(h1kitFastify, {
 *   exchange: { readTimeout: 30_000, writeTimeout: 30_000 },
 *   onError: (error, request) => request.log.warn({ err: error }, 'duplex upload failed'),
 * });
 * ```
 */
export interface H1kitFastifyOptions {
  /** Limits and deadlines of every duplex exchange, as `hijacked.exchange(options)` takes them. */
  exchange?: HijackedExchangeOptions;
  /**
   * Told of what a duplex handler throws or rejects with, after the client got a 500 (when no
   * response had begun) and the connection closed. Default: `request.log.error`.
   */
  onError?: (error: Error, request: FastifyRequest) => void;
}

const kDuplex = Symbol('h1kit.fastify.duplex');
const held = new WeakMap<IncomingMessage, Promise<HijackedRequest>>();
// fastify parses a body when a request announces one; a duplex route's body is its exchange's.
// Its body fields are hidden from fastify's body step alone, from the route's last preParsing
// hook to the plugin's preValidation hook: every hook before and after sees them.
const hiddenFields = new WeakMap<IncomingMessage, () => void>();

const ignore = (): void => {};

/** The plugin's onRequest hook, first of every context: hijacks a duplex route's request. */
function select(request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void {
  const config = request.routeOptions.config as unknown as Record<symbol, unknown>;
  if (config[kDuplex] !== true) {
    done();
    return;
  }
  let pending: Promise<HijackedRequest>;
  try {
    pending = hijack(request.raw, reply.raw, { keepResponse: true });
  } catch (error) {
    done(error as Error);
    return;
  }
  // A refusal (503 while closing, 400 for a head node:http let through) may come while the
  // hooks still run; the handler, if it runs, sees it.
  pending.catch(ignore);
  held.set(request.raw, pending);
  done();
}

/** The plugin's preValidation hook, first of every context: the body step is over. */
function restore(request: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  const restoreFields = hiddenFields.get(request.raw);
  if (restoreFields) {
    hiddenFields.delete(request.raw);
    restoreFields();
  }
  done();
}

/** A duplex route's last preParsing hook: fastify's body step must find no body to parse. */
function hide(
  request: FastifyRequest,
  _reply: FastifyReply,
  payload: unknown,
  done: (error: null, payload: unknown) => void,
): void {
  hiddenFields.set(request.raw, hideBodyFields(request.raw));
  done(null, payload);
}

function register(fastify: FastifyInstance, options: H1kitFastifyOptions): void {
  if ((fastify.initialConfig as { http2?: boolean }).http2) {
    throw new H1Error(
      DuplexErrorCode.INVALID_OPTION,
      '@h1kit/fastify serves HTTP/1.1 duplex routes; this fastify instance serves HTTP/2',
    );
  }
  const hooks = hooksOf(fastify);
  const before = ['onRequest', 'preValidation'].filter((name) => (hooks[name]?.length ?? 0) > 0);
  if (before.length > 0) {
    throw new H1Error(
      DuplexErrorCode.HIJACK_UNSAFE,
      `register @h1kit/fastify before any ${before.join(' or ')} hook: its selection must run first, while node:http has read no byte of a body (an earlier async hook would let it read on)`,
    );
  }
  const control = enableHijack(fastify.server);
  const onError =
    options.onError ??
    ((error: Error, request: FastifyRequest) =>
      request.log.error({ err: error }, 'duplex route failed'));
  fastify.addHook('onRequest', select);
  fastify.addHook('preValidation', restore);
  // fastify's close waits for the exchanges in flight; a new duplex request is answered 503.
  fastify.addHook('preClose', async () => {
    await control.close();
  });
  fastify.addHook('onClose', (_instance, done) => {
    control.disable();
    done();
  });
  fastify.decorate('duplex', function duplex(this: FastifyInstance, route: DuplexRouteOptions) {
    return addRoute(this, route, options.exchange, onError);
  });
}

function addRoute(
  instance: FastifyInstance,
  route: DuplexRouteOptions,
  defaults: HijackedExchangeOptions | undefined,
  onError: (error: Error, request: FastifyRequest) => void,
): FastifyInstance {
  const name = `duplex route ${String(route.method)} ${route.url}`;
  const hooks = hooksOf(instance);
  if (hooks.onRequest?.[0] !== select || hooks.preValidation?.[0] !== restore) {
    throw new H1Error(
      DuplexErrorCode.HIJACK_UNSAFE,
      `${name}: this context's first onRequest and preValidation hooks are not @h1kit/fastify's (a context created before the plugin was registered, or one that registered a hook first); declare the route where the plugin applies`,
    );
  }
  if ((route.schema as { body?: unknown } | undefined)?.body !== undefined) {
    throw new H1Error(
      DuplexErrorCode.INVALID_OPTION,
      `${name}: a duplex route has no parsed body to validate; its body is the exchange's`,
    );
  }
  const { handler, exchange, ...rest } = route;
  const exchangeOptions = { ...defaults, ...exchange };
  const preParsing = rest.preParsing === undefined ? [] : [rest.preParsing].flat();
  instance.route({
    ...rest,
    config: { ...rest.config, [kDuplex]: true },
    preParsing: [...preParsing, hide] as never,
    handler(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      serve(this, request, reply, handler, exchangeOptions, onError);
    },
  } as never);
  return instance;
}

function serve(
  instance: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
  handler: DuplexHandler,
  exchangeOptions: HijackedExchangeOptions,
  onError: (error: Error, request: FastifyRequest) => void,
): void {
  const pending = held.get(request.raw);
  if (!pending) {
    throw new H1Error(
      DuplexErrorCode.HIJACK_UNSAFE,
      'a duplex route ran without its request hijacked by @h1kit/fastify',
    );
  }
  held.delete(request.raw);
  // From here the connection is the exchange's: fastify sends nothing more.
  reply.hijack();
  const started = performance.now();
  pending.then(
    (hijacked) =>
      hijacked.run(
        async () => {
          const exchange = hijacked.exchange(exchangeOptions);
          exchange.done.then(
            () =>
              request.log.info(
                { responseTime: performance.now() - started },
                'duplex exchange completed',
              ),
            ignore,
          );
          await handler.call(instance, exchange, request);
        },
        (error) => onError(error, request),
      ),
    // Refused on the wire already (the hijack closing, or a head node:http let through).
    (error: Error) => request.log.info({ err: error }, 'duplex request refused'),
  );
}

/**
 * The plugin: adds `fastify.duplex(route)` and runs duplex routes after fastify's hooks. Register
 * it before any onRequest or preValidation hook (it refuses otherwise, at registration): its
 * selection must run while node:http has read no byte of the body. Not encapsulated, so its
 * decorator and hooks apply to the context that registers it and to that context's children.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import h1kitFastify from '@h1kit/fastify';
 *
 * const app = Fastify({ logger: true });
 * await app.register(h1kitFastify);
 * app.addHook('onRequest', authenticate); // runs before every duplex handler too
 * app.duplex({
 *   method: 'POST',
 *   url: '/upper',
 *   handler: async (exchange) => {
 *     const out = exchange.respond(200, { 'Content-Type': 'text/plain' });
 *     for await (const piece of exchange.body) out.write(Buffer.from(piece).toString().toUpperCase());
 *     out.end();
 *   },
 * });
 * await app.listen({ port: 8080 });
 * ```
 */
export const h1kitFastify: FastifyPluginCallback<H1kitFastifyOptions> = (
  fastify,
  options,
  done,
) => {
  try {
    register(fastify, options);
  } catch (error) {
    done(error as Error);
    return;
  }
  done();
};

// Not encapsulated, so that its hooks and decorator apply to the context that registers it.
Object.assign(h1kitFastify, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: '@h1kit/fastify',
  [Symbol.for('plugin-meta')]: { name: '@h1kit/fastify', fastify: '5.x' },
});
