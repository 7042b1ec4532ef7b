// What a user installs, checked as a user would meet it: every package packed with `pnpm pack`
// (which turns workspace:* into versions), each tarball's files and types checked, then all of them
// installed into a scratch project outside the workspace, where each package is imported with
// `import` and with `require` and type-checked under node16 (ESM and CJS) and bundler resolution.
// Needs a build first (`pnpm build`). Exits non-zero, naming the package, on the first fault.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, workspacePackages } from './packages.mjs';

// One value each package exports beside H1Error, used to see that the import is the real module.
const probes = {
  '@h1kit/errors': 'H1Error',
  '@h1kit/headers': 'serializeResponseHead',
  '@h1kit/chunked': 'ChunkedDecoder',
  '@h1kit/bufio': 'BufferedReader',
  '@h1kit/duplex': 'createServer',
  '@h1kit/fastify': 'h1kitFastify',
  '@h1kit/express': 'h1kitExpress',
  h1kit: 'main',
};
// The frameworks the integrations plug into, as their users have them (peer dependencies).
const peers = ['fastify@5.12.8', 'express@5.3.0', '@types/express@5.0.6'];
// A tarball holds what a user runs and reads, nothing of the sources, tests or benchmarks.
const allowed = /^package\/(dist\/.+|README\.md|LICENSE|package\.json)$/;

const scratch = mkdtempSync(join(tmpdir(), 'h1kit-pack-'));
const run = (command, args, cwd) =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const fail = (message) => {
  console.error(`pack-check: ${message}`);
  process.exit(1);
};

try {
  const tarballs = join(scratch, 'tarballs');
  mkdirSync(tarballs);
  const packages = workspacePackages().filter((pkg) => !pkg.manifest.private);
  for (const pkg of packages) {
    const name = pkg.name;
    if (!(name in probes)) fail(`${name} has no probe export listed in scripts/pack-check.mjs`);
    const before = new Set(readdirSync(tarballs));
    run('pnpm', ['pack', '--pack-destination', tarballs], pkg.dir);
    const tarball = readdirSync(tarballs).find((file) => !before.has(file));
    if (!tarball) fail(`pnpm pack wrote no tarball for ${name}`);
    pkg.tarball = join(tarballs, tarball);
    const files = run('tar', ['-tzf', pkg.tarball]).trim().split('\n');
    const stray = files.filter((file) => !allowed.test(file));
    if (stray.length > 0) fail(`${name}'s tarball holds ${stray.join(', ')}`);
    for (const needed of ['package/LICENSE', 'package/README.md', 'package/dist/index.d.cts']) {
      if (!files.includes(needed)) fail(`${name}'s tarball lacks ${needed.slice(8)}`);
    }
    try {
      run(process.execPath, [
        join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js'),
        pkg.tarball,
        '--format',
        'ascii',
        '--no-color',
      ]);
    } catch (error) {
      fail(`attw finds ${name}'s types wrong:\n${error.stdout}${error.stderr}`);
    }
    console.log(`pack-check: ${name}: ${files.length} files, attw clean`);
  }

  const project = join(scratch, 'project');
  mkdirSync(project);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'h1kit-scratch', private: true, version: '0.0.0' }),
  );
  // The tarballs satisfy each other's @h1kit dependencies; only the frameworks come from the
  // registry.
  run(
    'npm',
    ['install', '--no-audit', '--no-fund', ...peers, ...packages.map((pkg) => pkg.tarball)],
    project,
  );

  const names = packages.map((pkg) => pkg.name);
  // The same checks after either loader: each probe is a function, and there is one H1Error class
  // for the whole tree (the dependencies are imported, not bundled).
  const verify = (loader) =>
    [
      `const names = ${JSON.stringify(names)};`,
      `const probes = ${JSON.stringify(names.map((name) => probes[name]))};`,
      'loaded.forEach((ns, i) => {',
      "  if (typeof ns[probes[i]] !== 'function') throw new Error(names[i] + ': no ' + probes[i]);",
      "  if (ns.H1Error !== loaded[0].H1Error) throw new Error(names[i] + ': a second H1Error');",
      '});',
      `console.log('${loader}: ok');`,
      '',
    ].join('\n');
  const esm =
    names.map((name, i) => `import * as p${i} from '${name}';\n`).join('') +
    `const loaded = [${names.map((_, i) => `p${i}`).join(', ')}];\n${verify('import')}`;
  const cjs = `const loaded = ${JSON.stringify(names)}.map((name) => require(name));\n${verify('require')}`;
  writeFileSync(join(project, 'esm.mjs'), esm);
  writeFileSync(join(project, 'cjs.cjs'), cjs);
  process.stdout.write(run(process.execPath, ['esm.mjs'], project));
  process.stdout.write(run(process.execPath, ['cjs.cjs'], project));

  // Types: each package's probe and H1Error used with their declared types, in each mode.
  const typed = (style) =>
    names
      .map((name, i) => {
        const spec =
          style === 'require'
            ? `import p${i} = require('${name}');\n`
            : `import * as p${i} from '${name}';\n`;
        return `${spec}export const e${i}: Error = new p${i}.H1Error('ERR_H1_PACK_CHECK', 'typed');\nexport const f${i}: unknown = p${i}.${probes[name]};\nexport const c${i}: string = e${i}.name;\n`;
      })
      .join('');
  writeFileSync(join(project, 'node16-esm.mts'), typed('import'));
  writeFileSync(join(project, 'node16-cjs.cts'), typed('require'));
  writeFileSync(join(project, 'bundler.ts'), typed('import'));
  const compilerOptions = {
    strict: true,
    noEmit: true,
    target: 'ES2022',
    lib: ['ES2023'],
    types: ['node'],
    typeRoots: [join(root, 'node_modules/@types')],
  };
  const configs = {
    'tsconfig.node16.json': {
      compilerOptions: { ...compilerOptions, module: 'node16', moduleResolution: 'node16' },
      files: ['node16-esm.mts', 'node16-cjs.cts'],
    },
    'tsconfig.bundler.json': {
      compilerOptions: { ...compilerOptions, module: 'esnext', moduleResolution: 'bundler' },
      files: ['bundler.ts'],
    },
  };
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  for (const [file, config] of Object.entries(configs)) {
    writeFileSync(join(project, file), JSON.stringify(config, null, 2));
    try {
      run(process.execPath, [tsc, '-p', file], project);
    } catch (error) {
      fail(`tsc -p ${file} in the scratch project:\n${error.stdout}${error.stderr}`);
    }
    console.log(`pack-check: ${file}: types check`);
  }
  console.log(`pack-check: ${names.length} packages pack, install, load and type-check`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
