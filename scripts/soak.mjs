// pnpm soak [--seconds N] [--in-flight N]: 1,000 full-duplex exchanges in flight (by default) for
// N seconds (default 30) against the standalone server, then against enableHijack on node:http:
// one path after the other, each a client process and a server process of its own (node
// --expose-gc), on 127.0.0.1. Every exchange echoes checksummed data the client (h1kit's
// request(), keep-alive Agent) verifies. A path fails on any error, on handles not back where
// they started, or on memory after a GC past its bound, on either side (soak/measure.ts says
// which). The packages are taken from source, bundled as for `pnpm bench`, into files of this
// run's own (others may soak the same tree at the same time).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { root, workspacePackages } from './packages.mjs';

const args = process.argv.slice(2);
function option(flag, fallback) {
  const at = args.indexOf(flag);
  if (at === -1) return fallback;
  const value = args[at + 1];
  if (!/^[1-9][0-9]*$/.test(value ?? '')) {
    console.error(`soak: ${flag} needs a positive whole number`);
    process.exit(2);
  }
  return Number(value);
}
const seconds = option('--seconds', 30);
const inFlight = option('--in-flight', 1000);

// Each exchange holds a socket in each process: the file limit must take that, and then some.
// Node raises its soft limit to the hard one as it starts, so what a shell spawned from here sees
// is what the soak's processes get; only a hard limit under the need stops the soak.
const needed = inFlight + 256;
const ulimit = (flag) => {
  const text = execFileSync('sh', ['-c', `ulimit ${flag}`], { encoding: 'utf8' }).trim();
  return text === 'unlimited' ? Number.POSITIVE_INFINITY : Number(text);
};
const limit = ulimit('-Sn');
if (limit < needed) {
  console.error(
    `soak: ${inFlight} exchanges in flight need about ${needed} open files, and the limit is ${limit} ` +
      `(hard limit ${ulimit('-Hn')}). Raise it (ulimit -n ${needed}, as root or in ` +
      `/etc/security/limits.conf), or give --in-flight ${Math.max(1, Math.floor((limit - 256) / 2))}.`,
  );
  process.exit(2);
}

const out = join(root, '.bench-out');
mkdirSync(out, { recursive: true });
const outfile = join(out, `soak-${process.pid}.mjs`);
const serverFile = join(out, `soak-server-${process.pid}.mjs`);
const cleanUp = () => {
  rmSync(outfile, { force: true });
  rmSync(serverFile, { force: true });
};
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    cleanUp();
    process.exit(130);
  });
}
const alias = Object.fromEntries(
  workspacePackages().map((p) => [p.name, join(root, relative(root, p.dir), 'src/index.ts')]),
);
for (const [entry, file] of [
  ['soak/soak.ts', outfile],
  ['soak/server.ts', serverFile],
]) {
  await build({
    entryPoints: [join(root, entry)],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    alias,
    logLevel: 'warning',
  });
}

console.log(
  `soak: node ${process.version}, ${inFlight} in flight, ${seconds} s per path, open-file limit ${limit}`,
);
const failed = [];
for (const path of ['standalone', 'hijack']) {
  const argv = ['--expose-gc', outfile, path, String(seconds), String(inFlight), serverFile];
  // The soak's own watchdog ends a stalled run; this bound is for one that cannot even do that.
  const result = spawnSync(process.execPath, argv, {
    stdio: 'inherit',
    cwd: root,
    timeout: (seconds + 120) * 1000,
    killSignal: 'SIGKILL',
  });
  if (result.status !== 0) {
    const why = result.error
      ? `${result.error.message}`
      : result.signal
        ? `killed by ${result.signal}`
        : `exit ${result.status}`;
    console.log(`soak: ${path} failed (${why})`);
    failed.push(path);
  }
}
if (failed.length > 0) {
  console.log(`soak: FAILED on ${failed.join(' and ')}`);
  process.exit(1);
}
console.log('soak: both paths passed');
