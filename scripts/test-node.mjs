// Runs the test suite (and, with --fuzz N, the fuzz pass of N cases per property) on one supported
// Node.js line, installing that line's binary first where it is missing (scripts/node-lines.mjs).
//   pnpm test:node 24                 build, then every test under Node 24
//   pnpm test:node 26 --no-build      the same without building (CI builds once for every line)
//   pnpm test:node 22 --fuzz 2000     tests, then the short fuzz pass
//   pnpm test:node 24 -- path/filter  vitest filters after `--`
import { spawnSync } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { LINES, nodeBin } from './node-lines.mjs';
import { root } from './packages.mjs';

const args = process.argv.slice(2);
const line = args.shift();
if (line === undefined || !LINES.includes(line)) {
  console.error(
    `usage: pnpm test:node <${LINES.join('|')}> [--no-build] [--fuzz N] [-- vitest filters]`,
  );
  process.exit(2);
}
const dash = args.indexOf('--');
const filters = dash === -1 ? [] : args.splice(dash).slice(1);
const build = !args.includes('--no-build');
const fuzzAt = args.indexOf('--fuzz');
const fuzzRuns = fuzzAt === -1 ? undefined : args[fuzzAt + 1];

const bin = nodeBin(line);
const node = join(bin, 'node');
// Child processes the tests start by name (`node`, example servers) must get the same line.
const env = { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` };
const run = (argv) => {
  const started = performance.now();
  const result = spawnSync(node, argv, { stdio: 'inherit', cwd: root, env });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    console.error(
      `node ${line}: ${argv.slice(0, 2).join(' ')} failed (exit ${result.status}) after ${seconds} s`,
    );
    process.exit(result.status ?? 1);
  }
  console.log(`node ${line}: ${argv.slice(0, 2).join(' ')} passed in ${seconds} s`);
};

const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
console.log(
  `node ${line}: ${version} (llhttp ${spawnSync(node, ['-p', 'process.versions.llhttp'], { encoding: 'utf8' }).stdout.trim()})`,
);
if (build) run([join(root, 'scripts/build.mjs')]);
run([join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...filters]);
if (fuzzRuns !== undefined) run([join(root, 'scripts/fuzz.mjs'), '--runs', fuzzRuns]);
