import type { IncomingMessage, Server } from 'node:http';
import {
  DuplexErrorCode,
  type DuplexExchange,
  enableHijack,
  H1Error,
  type HijackControl,
  type HijackedExchangeOptions,
  type HijackedRequest,
  hideBodyFields,
  hijack,
} from '@h1kit/duplex';
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import { RouteProbe } from './route-probe.js';

// How a duplex route runs. The integration's middleware is the app's first layer, so express
// calls it inside node:http's 'request' event. It asks a probe router whether the request is for
// a duplex route; if so, it hijacks the request there, while node:http has read no byte of the
// body, keeping the response answerable (`keepResponse`), and hides the body's fields from body
// parsers. The app's middleware then runs as for any route, async or not, and may still answer
// (a 401). The route's last handler gets the hijacked connection as a `DuplexExchange`.

/**
 * A duplex route's handler: the exchange, after every middleware before it. What it throws or
 * rejects with goes to `onError` (the client gets a 500 when no response began).
 *
 * @example
 * ```ts
 * const echo: DuplexHandler = (exchange, req) => {
 *   exchange.body.pipe(exchange.respond(200, { 'Content-Type': req.get('content-type') ?? 'text/plain' }));
 * };
 * ```
 */
export type DuplexHandler = (exchange: DuplexExchange, req: Request) => void | Promise<void>;

/**
 * Methods a duplex route may take: an OPTIONS request is the router's own to answer.
 *
 * @example
 * ```ts
 * const methods: DuplexMethod[] = ['PUT', 'POST'];
 * duplex.route({ method: methods, path: '/upload', handler: store });
 * ```
 */
export type DuplexMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'QUERY';

/**
 * A duplex route: where it is, the middleware that runs first, and its handler.
 *
 * @example
 * ```ts
 * duplex.route({
 *   method: 'PUT',
 *   path: '/files/:name',
 *   middleware: [requireSession], // async is fine
 *   exchange: { readTimeout: 60_000 },
 *   handler: (exchange, req) => store(req.params.name, exchange),
 * });
 * ```
 */
export interface DuplexRoute {
  method: DuplexMethod | readonly DuplexMethod[];
  /** An express path, matched as the app matches its routes (case and strict routing included). */
  path: string | RegExp;
  /** Run before the handler, as on any express route (auth, logging). */
  middleware?: readonly RequestHandler[];
  handler: DuplexHandler;
  /** Limits and deadlines of this route's exchanges; default the integration's `exchange`. */
  exchange?: HijackedExchangeOptions;
}

/**
 * Options of `h1kitExpress(app, options)`.
 *
 * @example
 * ```ts
 * const duplex = h1kitExpress(app, {
 *   exchange: { readTimeout: 30_000 },
 *   onError: (error, req) => logger.warn({ err: error, url: req.originalUrl }),
 * });
 * ```
 */
export interface H1kitExpressOptions {
  /** Limits and deadlines of every duplex exchange, as `hijacked.exchange(options)` takes them. */
  exchange?: HijackedExchangeOptions;
  /**
   * Told of what a duplex handler throws or rejects with, after the client got a 500 (when no
   * response had begun) and the connection closed. Default: `console.error`, as express logs.
   */
  onError?: (error: Error, req: Request) => void;
}

/**
 * The duplex routes of one express app.
 *
 * @example
 * ```ts
 * const duplex = h1kitExpress(app);
 * duplex.route({ method: 'POST', path: '/echo', handler: (x) => x.body.pipe(x.respond(200)) });
 * const server = app.listen(8080);
 * process.on('SIGTERM', async () => {
 *   server.close();
 *   await duplex.close(); // the exchanges in flight run to their end
 * });
 * ```
 */
export interface ExpressDuplex {
  /** Adds a full-duplex route to the app. */
  route(route: DuplexRoute): ExpressDuplex;
  /**
   * Readies a server made with `http.createServer(app)` (or https) for duplex routes; call it
   * before the server accepts connections. `app.listen()` does it by itself.
   */
  attach(server: Server): void;
  /**
   * Drains: resolves once every duplex exchange in flight has ended; a new duplex request is
   * answered 503 from now on. Close the servers as usual.
   */
  close(): Promise<void>;
}

interface Selected {
  pending: Promise<HijackedRequest>;
  restoreFields: () => void;
}

const selected = new WeakMap<IncomingMessage, Selected>();
const integrated = new WeakSet<Express>();
const ignore = (): void => {};

/**
 * Full-duplex routes for an express 5 app. Call it right after `express()`, before any
 * `app.use()` or route: it adds the first layer, which must run before anything can make
 * node:http read a body, and throws `H1Error` (`ERR_H1_HIJACK_UNSAFE`) otherwise.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { h1kitExpress } from '@h1kit/express';
 *
 * const app = express();
 * const duplex = h1kitExpress(app); // first
 * app.use(express.json()); // never sees a duplex route's body
 * duplex.route({
 *   method: 'POST',
 *   path: '/upper',
 *   middleware: [authenticate],
 *   handler: async (exchange) => {
 *     const out = exchange.respond(200, { 'Content-Type': 'text/plain' });
 *     for await (const piece of exchange.body) out.write(Buffer.from(piece).toString().toUpperCase());
 *     out.end();
 *   },
 * });
 * app.listen(8080);
 * ```
 */
export function h1kitExpress(app: Express, options: H1kitExpressOptions = {}): ExpressDuplex {
  if (integrated.has(app)) {
    throw new H1Error(DuplexErrorCode.INVALID_OPTION, 'h1kitExpress(app) was already called');
  }
  if (app.router.stack.length > 0) {
    throw new H1Error(
      DuplexErrorCode.HIJACK_UNSAFE,
      'call h1kitExpress(app) before any app.use() or route: its selection must be the first layer, run while node:http has read no byte of a body (a middleware before it may wait and let node:http read on)',
    );
  }
  integrated.add(app);
  const probe = new RouteProbe<DuplexRoute>(app);
  const controls = new Map<Server, HijackControl>();
  const onError =
    options.onError ??
    ((error: Error, req: Request) =>
      console.error(
        `@h1kit/express: duplex route ${req.method} ${req.originalUrl} failed:`,
        error,
      ));

  app.use(function h1kitSelect(req: Request, res: Response, next: NextFunction): void {
    if (probe.match(req, res) === undefined) {
      next();
      return;
    }
    let pending: Promise<HijackedRequest>;
    try {
      pending = hijack(req, res, { keepResponse: true });
    } catch (error) {
      next(explainUnattached(error));
      return;
    }
    // A refusal (503 while closing, 400 for a head node:http let through) may come while the
    // middleware still runs; the handler, if reached, sees it.
    pending.catch(ignore);
    selected.set(req, { pending, restoreFields: hideBodyFields(req) });
    next();
  });

  const attach = (server: Server): void => {
    if (!controls.has(server)) controls.set(server, enableHijack(server));
  };
  // app.listen() makes its server and starts listening in one call: the server accepts nothing
  // before the call returns, so it is readied in time.
  const listen = app.listen;
  app.listen = function listenWithDuplex(this: Express, ...args: unknown[]) {
    const server = Reflect.apply(listen, this, args) as Server;
    attach(server);
    return server;
  } as Express['listen'];

  const duplex: ExpressDuplex = {
    route(route) {
      addRoute(app, probe, route, options.exchange, onError);
      return duplex;
    },
    attach,
    async close() {
      await Promise.all([...controls.values()].map((control) => control.close()));
    },
  };
  return duplex;
}

function addRoute(
  app: Express,
  probe: RouteProbe<DuplexRoute>,
  route: DuplexRoute,
  defaults: HijackedExchangeOptions | undefined,
  onError: (error: Error, req: Request) => void,
): void {
  const methods = [route.method].flat().map((method) => String(method).toLowerCase());
  if (methods.length === 0 || methods.some((method) => method === 'options' || !(method in app))) {
    throw new H1Error(
      DuplexErrorCode.INVALID_OPTION,
      `duplex route ${String(route.path)}: methods ${JSON.stringify(route.method)} are not ones a duplex route takes`,
    );
  }
  const exchangeOptions = { ...defaults, ...route.exchange };
  const handler = route.handler;
  const serve = (req: Request, _res: Response, next: NextFunction): void => {
    const selection = selected.get(req);
    if (!selection) {
      next(
        new H1Error(
          DuplexErrorCode.HIJACK_UNSAFE,
          `duplex route ${String(route.path)} reached without its request selected by @h1kit/express (mounted under another app or router?); declare duplex routes on the app given to h1kitExpress`,
        ),
      );
      return;
    }
    selected.delete(req);
    selection.restoreFields();
    selection.pending.then(
      (hijacked) =>
        hijacked.run(
          async () => {
            await handler(hijacked.exchange(exchangeOptions), req);
          },
          (error) => onError(error, req),
        ),
      // Refused on the wire already (the hijack closing, or a head node:http let through).
      ignore,
    );
  };
  probe.add({ methods, path: route.path, route });
  const entry = app.route(route.path as string) as unknown as Record<
    string,
    (...handlers: RequestHandler[]) => void
  >;
  for (const method of methods) entry[method]!(...(route.middleware ?? []), serve);
}

/** hijack() on a server nobody readied: say what to do, in express's terms. */
function explainUnattached(error: unknown): unknown {
  if (!(error instanceof H1Error) || !/enableHijack/.test(error.message)) return error;
  return new H1Error(
    DuplexErrorCode.HIJACK_UNSAFE,
    '@h1kit/express: this server was not readied for duplex routes; start it with app.listen(), or call duplex.attach(server) before it accepts connections',
  );
}
