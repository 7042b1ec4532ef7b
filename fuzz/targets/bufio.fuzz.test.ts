// Fuzz target for @h1kit/bufio: the reader model of the package tests with longer streams,
// larger buffers and longer call sequences. `pnpm fuzz` runs it with a large budget.
import { fc, test } from '@fast-check/vitest';
import { BufferedReader } from '@h1kit/bufio';
import { describe } from 'vitest';
import { commands, runOverReadable } from '../../packages/bufio/test/reader-model.js';
import { delivery, streamBytes } from '../../testkit/arbitraries/bufio.js';

describe('fuzz: BufferedReader against its model', () => {
  test.prop([
    delivery(streamBytes(4000)),
    fc.integer({ min: 16, max: 512 }),
    fc.commands(commands(512), { maxCommands: 200, size: 'large' }),
  ])(
    'long streams, large buffers, long call sequences: the reader agrees with the model',
    ({ bytes, delivery: d }, size, cmds) => runOverReadable(bytes, d, size, cmds, BufferedReader),
  );
});
