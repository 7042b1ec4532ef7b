// An express app with one full-duplex route: an upload to /upper is answered upper-cased while it
// is still coming in, after an async auth middleware let it through. Other routes are express's.
//
//   pnpm build && node examples/express-upper.mjs 8080
//   curl -sN -T . -H 'Authorization: Bearer demo' http://127.0.0.1:8080/upper   (type lines)
import { pathToFileURL } from 'node:url';
import { h1kitExpress } from '@h1kit/express';
import express from 'express';

async function authenticate(req, res, next) {
  await Promise.resolve(); // a token or session lookup would wait here
  if (req.get('authorization') !== 'Bearer demo') {
    res.status(401).json({ error: 'send Authorization: Bearer demo' });
    return;
  }
  next();
}

export function uppercaseApp() {
  const app = express();
  // First, so that its selection runs before any middleware can make node:http read a body.
  const duplex = h1kitExpress(app);
  app.use(express.json());
  app.get('/', (_req, res) => {
    res.json({ try: 'PUT /upper with a streaming body' });
  });
  duplex.route({
    method: ['PUT', 'POST'],
    path: '/upper',
    middleware: [authenticate],
    handler: async (exchange) => {
      const out = exchange.respond(200, { 'Content-Type': 'text/plain' });
      for await (const piece of exchange.body) {
        out.write(Buffer.from(piece).toString('latin1').toUpperCase());
      }
      out.end();
    },
  });
  return { app, duplex };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.argv[2] ?? 8080);
  uppercaseApp().app.listen(port, '127.0.0.1', () =>
    console.log(`listening on http://127.0.0.1:${port}/upper`),
  );
}
