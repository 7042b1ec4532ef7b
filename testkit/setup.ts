// Global fast-check settings for every property test. `pnpm fuzz` raises the number of runs;
// the seed is printed by fast-check on failure, and H1_SEED replays it.
import fc from 'fast-check';

const runs = Number(process.env.H1_PROPERTY_RUNS ?? '100');
const seed = process.env.H1_SEED === undefined ? undefined : Number(process.env.H1_SEED);
fc.configureGlobal({ numRuns: runs, ...(seed === undefined ? {} : { seed }) });
