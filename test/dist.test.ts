// The built artefacts, as a consumer gets them: every package's ESM and CJS entry loads under
// plain Node (outside vitest's transform), exports the same names, and ships its declarations.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const packages = readdirSync(join(root, 'packages')).map((dir) => join(root, 'packages', dir));

describe.each(packages)('dist of %s', (dir) => {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

  it('has ESM and CJS, each with its own declarations, behind its exports map, and no runtime dependency outside h1kit', () => {
    const entry = manifest.exports['.'];
    for (const file of [
      entry.import.default,
      entry.import.types,
      entry.require.default,
      entry.require.types,
      manifest.types,
    ])
      expect(existsSync(join(dir, file))).toBe(true);
    // A require must not be typed by an ESM declaration (TS1471 under node16).
    expect(entry.import.types).toMatch(/\.d\.ts$/);
    expect(entry.require.types).toMatch(/\.d\.cts$/);
    expect(manifest.sideEffects).toBe(false);
    // The supported lines, as scripts/node-lines.mjs installs them and CI tests each.
    expect(manifest.engines.node).toBe('^20.0.0 || ^22.0.0 || ^24.0.0 || ^26.0.0');
    const foreign = Object.keys(manifest.dependencies ?? {}).filter(
      (name) => !name.startsWith('@h1kit/'),
    );
    expect(foreign).toEqual([]);
  });

  it('loads as ESM and as CJS with the same exports and the same H1Error class', () => {
    const script = `
      const esm = Object.keys(await import(${JSON.stringify(join(dir, manifest.exports['.'].import.default))})).sort();
      const { createRequire } = await import('node:module');
      const cjs = Object.keys(createRequire(import.meta.url)(${JSON.stringify(join(dir, manifest.exports['.'].require.default))})).sort();
      console.log(JSON.stringify({ esm, cjs }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      // A built package that kept the child's event loop alive fails here, not by a hang.
      timeout: 20_000,
    });
    const { esm, cjs } = JSON.parse(out);
    expect(esm.length).toBeGreaterThan(0);
    expect(cjs).toEqual(esm);
  });
});
