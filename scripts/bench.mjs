// Runs every packages/*/bench/*.bench.ts (or those whose path contains an argument). Each file is
// bundled by esbuild with the @h1kit packages taken from source, then run in its own process so
// that one benchmark's JIT state and heap never colour another's.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import { root, workspacePackages } from './packages.mjs';

const filters = process.argv.slice(2);
const out = join(root, '.bench-out');
mkdirSync(out, { recursive: true });
const alias = Object.fromEntries(
  workspacePackages().map((p) => [p.name, join(p.dir, 'src/index.ts')]),
);

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
for (const file of files) {
  const outfile = join(out, `${basename(join(file, '../..'))}-${basename(file, '.ts')}.mjs`);
  await build({
    entryPoints: [file],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    alias,
    external: ['tinybench', 'fast-check'],
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'warning',
  });
  console.log(`\n# ${file.slice(root.length)}`);
  execFileSync(process.execPath, ['--expose-gc', outfile], { stdio: 'inherit', cwd: root });
}
