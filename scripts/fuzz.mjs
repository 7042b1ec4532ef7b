// Runs the fuzz targets in fuzz/targets with a fixed budget of generated cases per property.
//   pnpm fuzz                 50 000 cases per property, a fresh random seed
//   pnpm fuzz --runs 2000     the short pass CI runs
//   H1_SEED=123 pnpm fuzz     replays one seed (fast-check prints it on failure)
// Inputs that once broke something live in fuzz/corpus and are replayed by every run.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { root } from './packages.mjs';

const args = process.argv.slice(2);
const at = args.indexOf('--runs');
const runs = at === -1 ? '50000' : args[at + 1];
if (!/^[0-9]+$/.test(runs ?? '')) throw new Error('--runs needs a number');
const filters = args.filter((_, i) => i !== at && i !== at + 1);

console.log(
  `fuzz: ${runs} cases per property${process.env.H1_SEED ? `, seed ${process.env.H1_SEED}` : ''}`,
);
const vitest = join(root, 'node_modules/vitest/vitest.mjs');
// vitest ORs its filters, so a name given here selects among the targets, never beside them.
const targets = filters.length === 0 ? ['fuzz/targets/'] : filters.map((f) => `fuzz/targets/${f}`);
const result = spawnSync(process.execPath, [vitest, 'run', ...targets, '--testTimeout', '0'], {
  stdio: 'inherit',
  cwd: root,
  env: { ...process.env, H1_PROPERTY_RUNS: runs },
});
process.exit(result.status ?? 1);
