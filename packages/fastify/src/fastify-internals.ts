// The one module of @h1kit/fastify that reaches into fastify: the hook lists of an instance, which
// say whether the plugin's selection runs before anything can make node:http read the body.
// fastify keeps them under a private symbol; it is found by its description and checked, and a
// fastify without it makes the plugin fail at registration, naming the version.

import { DuplexErrorCode, H1Error } from '@h1kit/duplex';
import type { FastifyInstance } from 'fastify';

/** The hook functions of one encapsulation context, by hook name, in the order they run. */
export type HookLists = Record<string, readonly unknown[]>;

/** The hook lists of `instance`'s context. */
export function hooksOf(instance: FastifyInstance): HookLists {
  for (let at: object | null = instance; at; at = Object.getPrototypeOf(at)) {
    const key = Object.getOwnPropertySymbols(at).find((s) => s.description === 'fastify.hooks');
    const hooks = key && (at as Record<symbol, unknown>)[key];
    if (hooks && Array.isArray((hooks as HookLists).onRequest)) return hooks as HookLists;
  }
  throw new H1Error(
    DuplexErrorCode.UNSUPPORTED_RUNTIME,
    `@h1kit/fastify cannot see the hooks of fastify ${instance.version}, so it cannot make sure its selection runs first; it supports fastify 5`,
  );
}
