// `h1kit bench`: the benchmarks are the repository's (scripts/bench.mjs, with its peers and
// baselines), not part of the published package; from a clone this runs them with this Node.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Failure, systemText } from '../errors.js';
import type { Io } from '../io.js';

/** Runs scripts/bench.mjs with `argv` as given; resolves with its exit code. */
export async function benchCommand(argv: readonly string[], io: Io): Promise<number> {
  const found = benchScript();
  if (found === undefined) {
    throw new Failure(
      'the benchmarks live in the h1kit repository: clone https://github.com/h1kit/h1kit and run h1kit bench (or pnpm bench) there',
    );
  }
  const inherit = io.stdout === process.stdout && io.stderr === process.stderr;
  const child = spawn(process.execPath, [found.script, ...argv], {
    cwd: found.root,
    stdio: inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });
  if (!inherit) {
    child.stdout?.pipe(io.stdout, { end: false });
    child.stderr?.pipe(io.stderr, { end: false });
  }
  // A signal sent to h1kit alone (kill, a supervisor) reaches the benchmarks too; h1kit itself
  // stays to report how they ended.
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
      (resolveExit, reject) => {
        child.once('error', reject);
        child.once('close', (exitCode, exitSignal) => resolveExit([exitCode, exitSignal]));
      },
    ).catch((error: unknown) => {
      throw new Failure(`cannot run ${found.script}: ${systemText(error)}`);
    });
    if (signal !== null) throw new Failure(`the benchmarks were stopped by ${signal}`);
    return code ?? 1;
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}

/**
 * scripts/bench.mjs of the repository this package sits in, if it sits in one: the package's
 * own directory must be the repository's packages/cli, so that an installed h1kit never runs
 * some other project's scripts/bench.mjs.
 */
function benchScript(): { script: string; root: string } | undefined {
  const packageDir = ownPackageDir();
  if (packageDir === undefined) return undefined;
  const root = resolve(packageDir, '..', '..');
  const script = join(root, 'scripts', 'bench.mjs');
  const cli = join(root, 'packages', 'cli');
  if (!existsSync(script) || !existsSync(cli)) return undefined;
  if (realpathSync(cli) !== realpathSync(packageDir)) return undefined;
  return { script, root };
}

/** The directory of h1kit's package.json, found upwards from this module (src/ or dist/). */
function ownPackageDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 4; depth++) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if (JSON.parse(readFileSync(manifest, 'utf8')).name === 'h1kit') return dir;
      } catch {
        // Not ours if it does not parse; keep looking upwards.
      }
    }
    dir = dirname(dir);
  }
  return undefined;
}
