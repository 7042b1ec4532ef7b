/**
 * Full-duplex routes for express 5: the handler reads the request body while it writes the
 * response, after the route's middleware (auth, logging) has run, async or not.
 *
 * @packageDocumentation
 * @module @h1kit/express
 */
export { H1Error } from '@h1kit/duplex';
export type {
  DuplexHandler,
  DuplexMethod,
  DuplexRoute,
  ExpressDuplex,
  H1kitExpressOptions,
} from './integration.js';
export { h1kitExpress } from './integration.js';
