// After respond(101) and detach() the socket and every byte past the request head belong to the
// caller: the exchange neither reads nor pauses nor resumes the socket any more.
import { describe, expect, it } from 'vitest';
import { inTime, rawClient, sleep, standaloneServers } from './helpers.js';

const serve = standaloneServers();

describe('a detached tunnel', () => {
  it('loses no byte to a listener added late, though its request had an unread body', async () => {
    let received = '';
    let listening!: () => void;
    const gotTunnel = new Promise<void>((resolve) => {
      listening = resolve;
    });
    const { port } = await serve((exchange) => {
      exchange.respond(101, { Upgrade: 'echo', Connection: 'Upgrade' });
      const { socket, head } = exchange.detach();
      received += Buffer.from(head).toString('latin1');
      // The body's own start (on the next turn) must not set the socket flowing meanwhile.
      setTimeout(() => {
        socket.on('data', (chunk: Buffer) => {
          received += chunk.toString('latin1');
          if (received.includes('TUNNEL')) listening();
        });
      }, 100);
    });
    const client = await rawClient(port);
    client.write(
      'POST / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\nContent-Length: 5\r\n\r\nhello',
    );
    await client.until((t) => t.includes('\r\n\r\n'));
    await sleep(20);
    client.write('TUNNEL');
    await inTime(gotTunnel, 'the bytes after the head, at the late listener');
    expect(received).toBe('helloTUNNEL');
    client.close();
  });
});
