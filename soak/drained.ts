// Both soak processes write with backpressure: the server its echo, the client its request body.
import type { Writable } from 'node:stream';

/** Resolves on 'drain'; rejects if the stream fails or closes first. */
export function drained(stream: Writable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error): void => {
      stream.off('drain', onDrain);
      stream.off('error', done);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = (): void => done();
    const onClose = (): void => done(new Error('the stream closed while a write waited to drain'));
    stream.on('drain', onDrain);
    stream.on('error', done);
    stream.on('close', onClose);
  });
}
