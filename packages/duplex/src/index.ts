/**
 * Full-duplex HTTP/1.1: hijack from node:http, the exchange, a standalone server and a client.
 *
 * @packageDocumentation
 * @module @h1kit/duplex
 */
export { H1Error } from '@h1kit/headers';
export type { AgentOptions } from './client/agent.js';
export { Agent, defaultAgent } from './client/agent.js';
export { ClientExchange } from './client/client.js';
export type { RequestOptions } from './client/options.js';
export { request } from './client/request.js';
export type { ClientResponse } from './client/response.js';
export { DuplexErrorCode } from './errors.js';
export type { IncomingBody, IncomingBodyState } from './io/incoming.js';
export type { FieldPairs, FieldRecord, RequestHead, ResponseHead } from './io/message.js';
export type { OutgoingBody } from './io/outgoing.js';
export { hideBodyFields } from './server/body-fields.js';
export type { Deadline, ExchangeInit, RespondOptions } from './server/exchange.js';
export { DuplexExchange } from './server/exchange.js';
export type { HijackCallOptions } from './server/hijack.js';
export { enableHijack, hijack } from './server/hijack.js';
export type { HijackControl } from './server/hijack-control.js';
export type {
  HijackedExchangeOptions,
  HijackHandler,
  HijackOptions,
} from './server/hijacked-request.js';
export { HijackedRequest } from './server/hijacked-request.js';
export type { Handler, ServerOptions } from './server/server.js';
export { createServer, H1Server } from './server/server.js';
