import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express } from 'express';

// Which duplex route a request is for must be known inside node:http's 'request' event, before
// any middleware can wait: afterwards node:http reads the body on. Express's own router decides
// it, so that paths, parameters, case and trailing slashes match exactly as the app's routing
// will: a router holding only the duplex routes' method and path, dispatched on a stand-in.

/** A duplex route as the probe knows it. */
export interface ProbedRoute<T> {
  readonly methods: readonly string[];
  readonly path: string | RegExp;
  readonly route: T;
}

export class RouteProbe<T> {
  private readonly router: ReturnType<typeof express.Router>;
  private found: T | undefined;

  constructor(app: Express) {
    this.router = express.Router({
      caseSensitive: app.enabled('case sensitive routing'),
      strict: app.enabled('strict routing'),
    });
  }

  add({ methods, path, route }: ProbedRoute<T>): void {
    const mark = (): void => {
      this.found = route;
    };
    const entry = this.router.route(path as string);
    for (const method of methods) {
      (entry as unknown as Record<string, (handler: () => void) => void>)[method]!(mark);
    }
  }

  /**
   * The duplex route `req` will reach, if any. The router writes its state (params, baseUrl,
   * next, route) onto the stand-in, whose prototype is `req`, and never onto `req`. Synchronous:
   * a router dispatches its layers in the caller's turn until one of them waits, and the mark
   * does not; a request nothing matches ends in a later turn, unseen.
   */
  match(req: IncomingMessage, res: ServerResponse): T | undefined {
    // An OPTIONS request that matches no layer is answered by the router itself; duplex routes
    // take no OPTIONS, so it is never probed.
    if (req.method === 'OPTIONS') return undefined;
    this.found = undefined;
    const standIn = Object.create(req) as IncomingMessage;
    this.router(standIn as never, res as never, ignore);
    const found = this.found;
    this.found = undefined;
    return found;
  }
}

const ignore = (): void => {};
