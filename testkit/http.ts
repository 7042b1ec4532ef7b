// A plain GET through node:http's client, for tests that only need a response's body.
import { request } from 'node:http';

/** One GET on a connection of its own (no agent), over TCP or a Unix socket; resolves with the body. */
export function getText(where: { port: number } | { socketPath: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', ...where, agent: false }, (res) => {
      let text = '';
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end();
  });
}
