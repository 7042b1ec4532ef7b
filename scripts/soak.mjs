// pnpm soak [--seconds N] [--in-flight N]: 1,000 full-duplex exchanges in flight (by default) for
// N seconds (default 30) against the standalone server, then against enableHijack on node:http,
// each path in a process of its own; every exchange echoes checksummed data the client verifies.
// A path fails on any error, on handles not back where they started, or on RSS after a GC more
// than 64 MiB over where it began. The packages are taken from source, bundled as for `pnpm bench`.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { root, workspacePackages } from './packages.mjs';

const args = process.argv.slice(2);
function option(flag, fallback) {
  const at = args.indexOf(flag);
  if (at === -1) return fallback;
  const value = args[at + 1];
  if (!/^[0-9]+$/.test(value ?? '')) {
    console.error(`soak: ${flag} needs a whole number`);
    process.exit(2);
  }
  return Number(value);
}
const seconds = option('--seconds', 30);
const inFlight = option('--in-flight', 1000);

// Each exchange holds a client and a server socket: the file limit must take both, and then some.
const limit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
if (Number.isFinite(limit) && limit < 2 * inFlight + 256) {
  console.error(
    `soak: ${inFlight} exchanges need about ${2 * inFlight + 256} open files; ulimit -n is ${limit} (raise it, or give --in-flight)`,
  );
  process.exit(2);
}

const out = join(root, '.bench-out');
mkdirSync(out, { recursive: true });
const outfile = join(out, 'soak.mjs');
await build({
  entryPoints: [join(root, 'soak/soak.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  alias: Object.fromEntries(
    workspacePackages().map((p) => [p.name, join(root, relative(root, p.dir), 'src/index.ts')]),
  ),
  logLevel: 'warning',
});

let failed = 0;
for (const path of ['standalone', 'hijack']) {
  const result = spawnSync(
    process.execPath,
    ['--expose-gc', outfile, path, String(seconds), String(inFlight)],
    { stdio: 'inherit', cwd: root },
  );
  if (result.status !== 0) failed++;
}
if (failed > 0) {
  console.log(`soak: ${failed} of 2 paths failed`);
  process.exit(1);
}
console.log('soak: both paths passed');
