// Global fast-check settings for every property test. `pnpm fuzz` raises the number of runs, or
// gives each property a time budget (H1_FUZZ_MS) instead; it also picks the seed (H1_SEED) for
// the whole run, so that a failure replays with `pnpm fuzz --target NAME --seed S`.
import fc from 'fast-check';

const seed = process.env.H1_SEED === undefined ? undefined : Number(process.env.H1_SEED);
const timeBudget =
  process.env.H1_FUZZ_MS === undefined ? undefined : Number(process.env.H1_FUZZ_MS);
fc.configureGlobal({
  ...(timeBudget === undefined
    ? { numRuns: Number(process.env.H1_PROPERTY_RUNS ?? '100') }
    : {
        // As many cases as the time allows: the run stops at the budget, and having found
        // nothing by then is a pass, not a failure.
        numRuns: Number.MAX_SAFE_INTEGER,
        interruptAfterTimeLimit: timeBudget,
        markInterruptAsFailure: false,
      }),
  ...(seed === undefined ? {} : { seed }),
});
