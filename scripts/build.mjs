// Builds every package: esbuild bundles src/index.ts to dist/index.js (ESM) and dist/index.cjs
// (CJS); tsc writes the declarations (.d.ts, ESM), copied as .d.cts for `require`. Packages build
// in dependency order because tsc resolves @h1kit imports through the workspace links to the
// dependencies' dist/*.d.ts.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { root, workspacePackages } from './packages.mjs';

const tsc = join(root, 'node_modules/typescript/bin/tsc');
const only = process.argv.slice(2);

for (const pkg of workspacePackages()) {
  if (only.length > 0 && !only.some((name) => pkg.name.endsWith(name))) continue;
  const started = performance.now();
  const dist = join(pkg.dir, 'dist');
  rmSync(dist, { recursive: true, force: true });
  const common = {
    entryPoints: [join(pkg.dir, 'src/index.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    packages: 'external',
    // The package's own tsconfig, whose empty `paths` leaves @h1kit imports to node_modules (and
    // so external): the root one maps them to sources, which esbuild would bundle.
    tsconfig: join(pkg.dir, 'tsconfig.build.json'),
    logLevel: 'warning',
  };
  await build({ ...common, format: 'esm', outfile: join(dist, 'index.js') });
  // CJS has no import.meta: give the one module that needs its URL (createRequire) the file URL.
  await build({
    ...common,
    format: 'cjs',
    outfile: join(dist, 'index.cjs'),
    define: { 'import.meta.url': '__h1kitModuleUrl' },
    banner: { js: 'const __h1kitModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
  });
  const bin = join(pkg.dir, 'src/bin.ts');
  if (existsSync(bin)) {
    await build({ ...common, entryPoints: [bin], format: 'esm', outfile: join(dist, 'bin.js') });
  }
  execFileSync(process.execPath, [tsc, '-p', join(pkg.dir, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  writeCommonJsDeclarations(dist);
  console.log(`built ${pkg.name} in ${Math.round(performance.now() - started)} ms`);
}

// In a "type": "module" package a .d.ts is an ESM declaration, so a `require` that resolved to it
// would be typed as importing ESM (TS1471, "masquerading as ESM"). Each declaration is copied as a
// .d.cts whose relative imports name the .cjs files, which TypeScript maps to their .d.cts.
function writeCommonJsDeclarations(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      writeCommonJsDeclarations(path);
    } else if (entry.name.endsWith('.d.ts')) {
      const text = readFileSync(path, 'utf8').replace(
        /(from\s*|import\(\s*)(['"])(\.{1,2}\/[^'"]*?)\.js\2/g,
        '$1$2$3.cjs$2',
      );
      writeFileSync(`${path.slice(0, -'.d.ts'.length)}.d.cts`, text);
    }
  }
}
