// `pnpm bench`: every benchmark, one process each, then one record of the run. Each
// packages/*/bench/*.bench.ts is bundled by esbuild with the @h1kit packages taken from source and
// run in a process of its own, so that one benchmark's JIT state and heap never colour another's.
// Every comparison a benchmark reports (scripts/bench-kit.ts) is also collected, and the run ends
// with the table of every target, results.json (the machine, the Node version, the date, every
// figure with its spread) and report.svg (scripts/bench-report.mjs).
//   pnpm bench                      every benchmark; writes bench/results.json and bench/report.svg
//   pnpm bench --quick              fewer, shorter rounds (a look, not a measurement to quote)
//   pnpm bench echo server          only the benchmarks whose path holds one of the words
//   pnpm bench --node 24            on another supported Node line (scripts/node-lines.mjs)
//   pnpm bench --baseline <rev>     a benchmark that knows how (duplex's echo) also runs <rev>'s
//                                   servers beside this tree's, in the same rounds
// Only a whole run at full length writes bench/; a quick, filtered or baseline run writes its
// results.json and report.svg to .bench-out/, so that the committed report is always a whole run.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { basename, delimiter, join, relative } from 'node:path';
import { build } from 'esbuild';
import { writeReport } from './bench-report.mjs';
import { LINES, nodeBin } from './node-lines.mjs';
import { root, workspacePackages } from './packages.mjs';

const usage = 'usage: pnpm bench [--quick] [--node <line>] [--baseline <rev>] [filter...]';
const args = process.argv.slice(2);
const flag = (name) => {
  const at = args.indexOf(name);
  if (at === -1) return undefined;
  const value = args[at + 1];
  if (value === undefined || value.startsWith('--')) {
    console.error(`${name} needs a value\n${usage}`);
    process.exit(2);
  }
  args.splice(at, 2);
  return value;
};
if (args.includes('--help') || args.includes('-h')) {
  console.log(usage);
  process.exit(0);
}
const quick = args.includes('--quick');
if (quick) args.splice(args.indexOf('--quick'), 1);
const baseline = flag('--baseline');
const line = flag('--node') ?? process.versions.node.split('.')[0];
if (!LINES.includes(line)) {
  console.error(`unsupported Node line ${line}; supported: ${LINES.join(', ')}\n${usage}`);
  process.exit(2);
}
const unknown = args.find((arg) => arg.startsWith('--'));
if (unknown) {
  console.error(`unknown option ${unknown}\n${usage}`);
  process.exit(2);
}
const filters = args;

// The order of the list: the parts first, then the server, the client and the whole.
const ORDER = ['serialize', 'decode', 'reader', 'echo', 'server', 'client', 'memory', 'scaling'];
const rank = (file) => {
  const at = ORDER.indexOf(basename(file, '.bench.ts'));
  return at === -1 ? ORDER.length : at;
};
const files = [];
for (const pkg of workspacePackages()) {
  const dir = join(pkg.dir, 'bench');
  if (!existsSync(dir)) continue;
  for (const file of readdirSync(dir)) {
    const path = join(dir, file);
    if (!file.endsWith('.bench.ts')) continue;
    if (filters.length === 0 || filters.some((f) => path.includes(f))) files.push(path);
  }
}
files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
if (files.length === 0) {
  console.error(`no benchmark matches ${filters.join(' ')}\n${usage}`);
  process.exit(2);
}

const whole = filters.length === 0 && !quick && baseline === undefined;
const out = join(root, '.bench-out');
const destination = whole ? join(root, 'bench') : out;
mkdirSync(out, { recursive: true });
mkdirSync(destination, { recursive: true });

const bin = nodeBin(line);
const node = join(bin, 'node');
const nodeVersion = execFileSync(node, ['-p', 'process.version'], { encoding: 'utf8' }).trim();
// Server processes a benchmark forks run on its own binary; anything started by name too.
const env = { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` };
if (quick) {
  // Each benchmark reads H1_BENCH_QUICK (bench-kit's `quick`) to cut its volumes and loads too.
  env.H1_BENCH_QUICK = '1';
  env.H1_BENCH_ROUNDS ??= '2';
  env.H1_BENCH_SECONDS ??= '1';
  env.H1_BENCH_TIME_SCALE ??= '0.15';
}
// One file per run: two runs at once (another terminal) must not truncate each other's records.
const collected = join(out, `results-${process.pid}.jsonl`);
rmSync(collected, { force: true });
env.H1_BENCH_RESULTS = collected;

const aliasFor = (base) =>
  Object.fromEntries(
    workspacePackages().map((p) => [p.name, join(base, relative(root, p.dir), 'src/index.ts')]),
  );
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
}
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

const git = (...argv) => {
  try {
    return execFileSync('git', argv, { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
};
const tool = (command, argv) => {
  try {
    return execFileSync(command, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .trim()
      .split('\n')[0];
  } catch (error) {
    // wrk -v prints its version and exits 1.
    const text = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim().split('\n')[0];
    return text || undefined;
  }
};
const started = new Date();
const commit = git('rev-parse', '--short', 'HEAD');
const dirty = (git('status', '--porcelain', '--untracked-files=no') ?? '') !== '';
console.log(
  `node ${nodeVersion} (line ${line}), ${platform()}/${arch()}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown cpu'}; commit ${commit ?? 'unknown'}${dirty ? ' with local changes' : ''}${quick ? '; --quick' : ''}`,
);
if (baseline) console.log(`baseline: ${baseline} (${git('rev-parse', '--short', baseline)})`);

/** One line on stderr between benchmarks: where the run is, and how long it has taken. */
function progress(done, label) {
  const width = 24;
  const filled = Math.round((width * done) / files.length);
  const seconds = Math.round((Date.now() - started.getTime()) / 1000);
  const elapsed = `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  process.stderr.write(
    `\n[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${files.length} ${elapsed}  ${label}\n`,
  );
}

const failed = [];
for (const [i, file] of files.entries()) {
  const name = `${basename(join(file, '../..'))}/${basename(file, '.bench.ts')}`;
  progress(i, name);
  const outfile = join(out, `${name.replace('/', '-')}.bench.mjs`);
  await bundle(file, outfile, aliasFor(root));
  const childEnv = { ...env, H1_BENCH_NAME: name };
  const old = baselineRoot && join(baselineRoot, relative(root, file));
  if (old && existsSync(old)) {
    childEnv.H1_BENCH_BASELINE = join(out, `baseline-${basename(outfile)}`);
    await bundle(old, childEnv.H1_BENCH_BASELINE, aliasFor(baselineRoot));
  }
  console.log(`\n# ${name} (${relative(root, file)})`);
  const code = await new Promise((resolve) => {
    const child = spawn(node, ['--expose-gc', outfile], {
      stdio: 'inherit',
      cwd: root,
      env: childEnv,
    });
    child.on('close', (exitCode, signal) => resolve(signal ? 128 : exitCode));
  });
  if (code !== 0) {
    console.error(`bench: ${name} failed (exit ${code})`);
    failed.push(name);
  }
}
progress(files.length, 'done');

const comparisons = existsSync(collected)
  ? readFileSync(collected, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((text) => JSON.parse(text))
  : [];
rmSync(collected, { force: true });
const results = {
  machine: {
    platform: platform(),
    arch: arch(),
    kernel: release(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    wrk: tool('wrk', ['-v']),
    go: tool('go', ['version']),
  },
  node: { version: nodeVersion, line },
  date: started.toISOString(),
  seconds: Math.round((Date.now() - started.getTime()) / 1000),
  commit: commit === undefined ? undefined : `${commit}${dirty ? '+local changes' : ''}`,
  quick,
  filters,
  failed,
  comparisons,
};
const resultsFile = join(destination, 'results.json');
writeFileSync(resultsFile, `${JSON.stringify(results, null, 1)}\n`);
const svgFile = join(destination, 'report.svg');
writeReport(results, svgFile);

// Every target of the run in one table: what a reader of the README wants to check at a glance.
console.log('\n== targets ==');
let met = 0;
let missed = 0;
for (const c of comparisons) {
  for (const t of c.targets) {
    const verdict = t.met ? 'met' : 'MISSED';
    if (t.met) met++;
    else missed++;
    console.log(
      `  ${verdict.padEnd(6)} ${t.value.toFixed(2)}x (${t.kind} ${t.ratio}x) ${t.ours} vs ${t.peer}: ${c.title}`,
    );
  }
  for (const l of c.limits) {
    if (l.met) met++;
    else missed++;
    const bound = l.max === undefined ? `at least ${l.min}` : `at most ${l.max}`;
    console.log(
      `  ${(l.met ? 'met' : 'MISSED').padEnd(6)} ${l.value.toFixed(1)} ${c.unit} (${bound}) ${l.ours}: ${c.title}`,
    );
  }
}
console.log(
  `  ${met} met, ${missed} missed, in ${results.seconds} s\n` +
    `wrote ${relative(root, resultsFile)} and ${relative(root, svgFile)}${whole ? '' : ' (not a whole full-length run, so not bench/)'}`,
);
if (failed.length > 0) {
  console.error(`bench: ${failed.join(', ')} failed`);
  process.exit(1);
}
