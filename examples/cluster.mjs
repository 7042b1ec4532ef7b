// The standalone server under node:cluster: every worker serves the same port, as with any
// net.Server; the primary hands out connections (round-robin on Linux).
//
//   pnpm build && node examples/cluster.mjs 8080 2
//   curl http://127.0.0.1:8080/       (repeat: the pid changes from worker to worker)
import cluster from 'node:cluster';
import { createServer } from '@h1kit/duplex';

const port = Number(process.argv[2] ?? 8080);
const workers = Number(process.argv[3] ?? 2);

if (cluster.isPrimary) {
  let listening = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('message', (message) => {
      // Port 0 is one free port shared by all workers: say it once every worker listens.
      if (message.port !== undefined && ++listening === workers) {
        console.log(`listening on http://127.0.0.1:${message.port} with ${workers} workers`);
      }
    });
  }
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const server = createServer((exchange) => {
    const text = `served by worker ${process.pid}\n`;
    exchange
      .respond(200, { 'Content-Type': 'text/plain', 'Content-Length': text.length })
      .end(text);
  });
  const address = await server.listen(port, '127.0.0.1');
  process.send({ port: address.port });
}
