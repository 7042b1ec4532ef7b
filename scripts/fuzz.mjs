// Runs the fuzz targets in fuzz/targets, each in a vitest run of its own, on a budget of cases
// or of time, with one seed for the whole run so that any failure can be replayed exactly.
//   pnpm fuzz                          50 000 cases per property, a fresh random seed
//   pnpm fuzz --runs 2000              the short pass CI runs
//   pnpm fuzz --seconds 600            ten minutes in all, shared evenly by the properties
//   pnpm fuzz --target chunked --seed 42    one target (the file's stem), one seed
// The seed is printed first; a failing target prints the command that replays it. Inputs that once
// broke something live in fuzz/corpus and are replayed by every run.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './packages.mjs';

const args = process.argv.slice(2);
/** The value after `flag`, or undefined; the flag and its value are taken off `args`. */
function option(flag) {
  const at = args.indexOf(flag);
  if (at === -1) return undefined;
  const value = args[at + 1];
  if (value === undefined) fail(`${flag} needs a value`);
  args.splice(at, 2);
  return value;
}
function fail(message) {
  console.error(`fuzz: ${message}`);
  process.exit(2);
}
const whole = (flag, value) => {
  if (!/^[0-9]+$/.test(value)) fail(`${flag} needs a whole number, got ${value}`);
  return Number(value);
};

const runsText = option('--runs');
const secondsText = option('--seconds');
const target = option('--target');
const seedText = option('--seed') ?? process.env.H1_SEED;
if (runsText !== undefined && secondsText !== undefined) {
  fail('--runs and --seconds are two budgets: give one of them');
}
if (args.length > 0) fail(`unknown arguments: ${args.join(' ')}`);

const dir = join(root, 'fuzz/targets');
const targets = readdirSync(dir)
  .filter((file) => file.endsWith('.fuzz.test.ts'))
  .sort()
  .map((file) => ({ name: file.replace('.fuzz.test.ts', ''), file: join('fuzz/targets', file) }));
const chosen = target === undefined ? targets : targets.filter((t) => t.name === target);
if (chosen.length === 0) {
  fail(`no target "${target}"; the targets are ${targets.map((t) => t.name).join(', ')}`);
}

// fast-check takes a 32-bit seed; one for the whole run, printed before anything else.
const seed =
  seedText === undefined ? Math.floor(Math.random() * 0x7fffffff) : whole('--seed', seedText);
const env = { ...process.env, H1_SEED: String(seed) };
let budget;
if (secondsText !== undefined) {
  // Properties are counted in the sources: each gets an even share of the time.
  const seconds = whole('--seconds', secondsText);
  const properties = chosen.reduce(
    (n, t) => n + (readFileSync(join(root, t.file), 'utf8').match(/\btest\.prop\(/g)?.length ?? 0),
    0,
  );
  const perProperty = Math.max(1, Math.floor((seconds * 1000) / Math.max(1, properties)));
  env.H1_FUZZ_MS = String(perProperty);
  delete env.H1_PROPERTY_RUNS;
  budget = `${seconds} s in all, ${perProperty} ms for each of ${properties} properties`;
} else {
  const runs = runsText === undefined ? 50_000 : whole('--runs', runsText);
  env.H1_PROPERTY_RUNS = String(runs);
  budget = `${runs} cases per property`;
}
console.log(`fuzz: seed ${seed}; ${budget}; targets ${chosen.map((t) => t.name).join(', ')}`);

const vitest = join(root, 'node_modules/vitest/vitest.mjs');
const failed = [];
for (const { name, file } of chosen) {
  const started = performance.now();
  const result = spawnSync(process.execPath, [vitest, 'run', file, '--testTimeout', '0'], {
    stdio: 'inherit',
    cwd: root,
    env,
  });
  const took = ((performance.now() - started) / 1000).toFixed(1);
  if (result.status === 0) {
    console.log(`fuzz: ${name} passed in ${took} s`);
  } else {
    failed.push(name);
    const again = runsText === undefined && secondsText === undefined ? '' : ` ${budgetFlag()}`;
    console.log(`fuzz: ${name} FAILED; replay: pnpm fuzz --target ${name} --seed ${seed}${again}`);
  }
}
function budgetFlag() {
  return runsText !== undefined ? `--runs ${runsText}` : `--seconds ${secondsText}`;
}
if (failed.length > 0) {
  console.log(`fuzz: ${failed.length} of ${chosen.length} targets failed (seed ${seed})`);
  process.exit(1);
}
console.log(`fuzz: every target passed (seed ${seed})`);
