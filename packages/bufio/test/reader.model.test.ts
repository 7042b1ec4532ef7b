// Model-based tests of BufferedReader: any sequence of calls, over any byte stream delivered in
// any segmentation (at once or turns apart, with a `head`), gives what a plain model over the
// concatenated bytes gives (the model is in reader-model.ts).
import { fc, test } from '@fast-check/vitest';
import { BufferedReader } from '@h1kit/bufio';
import { describe } from 'vitest';
import { delivery, streamBytes } from '../../../testkit/arbitraries/bufio.js';
import { loopback, socketPair, turns } from './helpers.js';
import { commands, drainMatches, Model, runOverReadable } from './reader-model.js';

const size = fc.integer({ min: 16, max: 64 });

describe('BufferedReader against the model', () => {
  test.prop([delivery(), size, fc.commands(commands(64), { maxCommands: 40, size: 'medium' })])(
    'any calls over any segmentation of a Readable give the results of the model over the bytes',
    ({ bytes, delivery: d }, size, cmds) => runOverReadable(bytes, d, size, cmds, BufferedReader),
  );

  const socketRuns = Math.max(20, Math.floor(fc.readConfigureGlobal().numRuns ?? 100) / 5);
  test.prop(
    [
      delivery(streamBytes(3000), ['end']),
      size,
      fc.commands(commands(64), { maxCommands: 40, size: 'medium' }),
    ],
    { numRuns: socketRuns },
  )(
    'the same over a loopback socket the peer writes segment by segment, then ends',
    async ({ bytes, delivery: d }, size, cmds) => {
      const l = await loopback();
      try {
        const { client, peer } = await socketPair(l);
        const reader = new BufferedReader(peer, { size, head: d.head });
        const writing = (async () => {
          for (let i = 0; i < d.segments.length; i++) {
            client.write(d.segments[i]!);
            if (d.later[i]) await turns();
          }
          client.end();
        })();
        const model = new Model(bytes, size, 'end');
        await fc.asyncModelRun(() => ({ model, real: reader }), cmds);
        await drainMatches(model, reader);
        await writing;
      } finally {
        await l.close();
      }
    },
  );
});
