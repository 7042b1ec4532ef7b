/**
 * A fastify plugin for full-duplex routes: the handler reads the request body while it writes
 * the response, after fastify's own onRequest, preValidation and preHandler hooks (auth, logging)
 * have run.
 *
 * @packageDocumentation
 * @module @h1kit/fastify
 */
import type { DuplexRouteOptions } from './plugin.js';

export { H1Error } from '@h1kit/duplex';
export type { DuplexHandler, DuplexRouteOptions, H1kitFastifyOptions } from './plugin.js';
export { h1kitFastify, h1kitFastify as default } from './plugin.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Adds a full-duplex route (added by `@h1kit/fastify`): fastify's route options, with a
     * handler that gets a `DuplexExchange`.
     *
     * @example
     * ```ts
     * app.duplex({ method: 'POST', url: '/echo', handler: (exchange) => {
     *   exchange.body.pipe(exchange.respond(200));
     * } });
     * ```
     */
    duplex(route: DuplexRouteOptions): FastifyInstance;
  }
}
