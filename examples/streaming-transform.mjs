// Go's classic Hijacker use, on a stock node:http server: an upload to /upper is answered
// with the upload upper-cased, line by line, while the upload is still coming in.
//
//   pnpm build && node examples/streaming-transform.mjs 8080
//   curl -sN -T . -H 'Expect:' http://127.0.0.1:8080/upper     (type lines; each comes back at once)
import { createServer } from 'node:http';
import { Transform } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { enableHijack } from '@h1kit/duplex';

export function uppercaseServer() {
  const server = createServer((_req, res) =>
    res.end('PUT or POST to /upper streams your upload back upper-cased\n'),
  );
  enableHijack(
    server,
    (req) => req.url === '/upper' && (req.method === 'PUT' || req.method === 'POST'),
    (hijacked) => {
      const exchange = hijacked.exchange();
      const upper = new Transform({
        transform: (chunk, _enc, done) => done(null, chunk.toString('latin1').toUpperCase()),
      });
      exchange.body.pipe(upper).pipe(exchange.respond(200, { 'Content-Type': 'text/plain' }));
    },
  );
  return server;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.argv[2] ?? 8080);
  uppercaseServer().listen(port, '127.0.0.1', () =>
    console.log(`listening on http://127.0.0.1:${port}/upper`),
  );
}
