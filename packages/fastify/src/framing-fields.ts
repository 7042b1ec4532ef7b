import type { IncomingMessage } from 'node:http';

// fastify parses a body when a request has a Content-Type, a Transfer-Encoding or a non-zero
// Content-Length. The body of a duplex route belongs to its exchange, and node:http reads none of
// it, so these fields are hidden from fastify's body step alone: from the route's last preParsing
// hook to the plugin's preValidation hook, which runs first. Every hook before and after sees them.

const FRAMING = ['content-type', 'content-length', 'transfer-encoding'] as const;
type Saved = Partial<Record<(typeof FRAMING)[number], string | undefined>>;
const hidden = new WeakMap<IncomingMessage, Saved>();

export function hideFraming(req: IncomingMessage): void {
  const saved: Saved = {};
  for (const name of FRAMING) {
    if (!(name in req.headers)) continue;
    saved[name] = req.headers[name] as string | undefined;
    delete req.headers[name];
  }
  hidden.set(req, saved);
}

export function restoreFraming(req: IncomingMessage): void {
  const saved = hidden.get(req);
  if (!saved) return;
  hidden.delete(req);
  Object.assign(req.headers, saved);
}
