// Runs every packages/*/bench/*.bench.ts (or those whose path contains an argument). Each file is
// bundled by esbuild with the @h1kit packages taken from source, then run in its own process so
// that one benchmark's JIT state and heap never colour another's.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { build } from 'esbuild';
import { root, workspacePackages } from './packages.mjs';

// --baseline <rev>: each benchmark is also bundled from a checkout of <rev>, and a benchmark that
// knows how (duplex's echo) runs that commit's servers beside this tree's, in the same rounds.
// --quick: fewer and shorter rounds (H1_BENCH_ROUNDS=2, H1_BENCH_SECONDS=1 unless set), for a
// look at the figures rather than a measurement to quote.
const quick = process.argv.includes('--quick');
const args = process.argv.slice(2).filter((arg) => arg !== '--quick');
const at = args.indexOf('--baseline');
const baseline = at === -1 ? undefined : args[at + 1];
if (at !== -1 && !baseline) throw new Error('--baseline needs a commit');
const filters = args.filter((_, i) => at === -1 || (i !== at && i !== at + 1));
const out = join(root, '.bench-out');
mkdirSync(out, { recursive: true });
const aliasFor = (base) =>
  Object.fromEntries(
    workspacePackages().map((p) => [p.name, join(base, relative(root, p.dir), 'src/index.ts')]),
  );
const alias = aliasFor(root);
let baselineRoot;
if (baseline) {
  baselineRoot = join(out, 'baseline');
  rmSync(baselineRoot, { recursive: true, force: true });
  mkdirSync(baselineRoot, { recursive: true });
  // The commit's files only; its imports of node_modules resolve to this tree's.
  execFileSync('sh', ['-c', `git archive ${baseline} | tar -x -C ${baselineRoot}`], {
    cwd: root,
    stdio: 'inherit',
  });
  console.log(
    `baseline: ${baseline} (${execFileSync('git', ['rev-parse', '--short', baseline], { cwd: root, encoding: 'utf8' }).trim()})`,
  );
}

const files = [];
for (const pkg of workspacePackages()) {
  const dir = join(pkg.dir, 'bench');
  if (!existsSync(dir)) continue;
  for (const file of readdirSync(dir).sort()) {
    const path = join(dir, file);
    if (
      file.endsWith('.bench.ts') &&
      (filters.length === 0 || filters.some((f) => path.includes(f)))
    )
      files.push(path);
  }
}
if (files.length === 0) throw new Error(`no benchmark matches ${filters.join(' ')}`);

console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
const bundle = (entry, outfile, aliases) =>
  build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    alias: aliases,
    nodePaths: [join(root, 'node_modules')],
    external: ['tinybench', 'fast-check', 'undici'],
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'warning',
  });

for (const file of files) {
  const name = `${basename(join(file, '../..'))}-${basename(file, '.ts')}.mjs`;
  const outfile = join(out, name);
  await bundle(file, outfile, alias);
  const env = { ...process.env };
  if (quick) {
    env.H1_BENCH_ROUNDS ??= '2';
    env.H1_BENCH_SECONDS ??= '1';
  }
  const old = baselineRoot && join(baselineRoot, relative(root, file));
  if (old && existsSync(old)) {
    env.H1_BENCH_BASELINE = join(out, `baseline-${name}`);
    await bundle(old, env.H1_BENCH_BASELINE, aliasFor(baselineRoot));
  }
  console.log(`\n# ${file.slice(root.length)}`);
  execFileSync(process.execPath, ['--expose-gc', outfile], { stdio: 'inherit', cwd: root, env });
}
