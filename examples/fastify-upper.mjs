// A fastify app with one full-duplex route: an upload to /upper is answered upper-cased while it
// is still coming in, after the app's own auth hook let it through. Other routes are fastify's.
//
//   pnpm build && node examples/fastify-upper.mjs 8080
//   curl -sN -T . -H 'Authorization: Bearer demo' http://127.0.0.1:8080/upper   (type lines)
import { pathToFileURL } from 'node:url';
import h1kitFastify from '@h1kit/fastify';
import Fastify from 'fastify';

export async function uppercaseApp(options = {}) {
  const app = Fastify(options);
  // First, so that its selection runs before any hook can make node:http read a body.
  await app.register(h1kitFastify);
  app.addHook('onRequest', async (request, reply) => {
    if (request.headers.authorization !== 'Bearer demo') {
      await reply.code(401).send({ error: 'send Authorization: Bearer demo' });
    }
  });
  app.get('/', async () => ({ try: 'PUT /upper with a streaming body' }));
  app.duplex({
    method: ['PUT', 'POST'],
    url: '/upper',
    handler: async (exchange) => {
      const out = exchange.respond(200, { 'Content-Type': 'text/plain' });
      for await (const piece of exchange.body) {
        out.write(Buffer.from(piece).toString('latin1').toUpperCase());
      }
      out.end();
    },
  });
  return app;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = await uppercaseApp({ logger: true });
  await app.listen({ port: Number(process.argv[2] ?? 8080), host: '127.0.0.1' });
}
