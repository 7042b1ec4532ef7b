// One H1Error across the built packages, as a consumer loads them: plain Node (outside vitest's
// transform and aliases), ESM and CJS builds side by side, errors thrown by one package checked
// against the class another exports. Needs `node scripts/build.mjs` first, as test/dist.test.ts.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = (pkg: string, file: string): string => join(root, 'packages', pkg, 'dist', file);

/**
 * Loads the given builds in order in a fresh Node process, makes each package throw a real
 * H1Error, and reports for every (error, class) pair whether `instanceof` holds.
 */
function crossCheck(order: ReadonlyArray<'esm' | 'cjs'>): {
  sameClass: boolean;
  registeredIsFirst: boolean;
  pairs: Array<{ error: string; klass: string; instance: boolean; name: string; code: string }>;
} {
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    const load = async (format, pkg) =>
      format === 'esm'
        ? await import(${JSON.stringify(dist('PKG', 'index.js'))}.replace('PKG', pkg))
        : require(${JSON.stringify(dist('PKG', 'index.cjs'))}.replace('PKG', pkg));
    const order = ${JSON.stringify(order)};
    const other = (format) => (format === 'esm' ? 'cjs' : 'esm');
    // Each package from the build named in order, and from the other build too, so that both
    // module instances of every package are live.
    const mods = {};
    for (const format of order) {
      for (const pkg of ['errors', 'headers', 'bufio', 'chunked']) {
        mods[pkg + ':' + format] = await load(format, pkg);
      }
    }
    for (const format of order) {
      for (const pkg of ['errors', 'headers', 'bufio', 'chunked']) {
        mods[pkg + ':' + other(format)] ??= await load(other(format), pkg);
      }
    }
    const thrown = (f) => { try { f(); } catch (e) { return e; } throw new Error('no throw'); };
    const errors = {};
    for (const format of ['esm', 'cjs']) {
      const h = mods['headers:' + format], b = mods['bufio:' + format], c = mods['chunked:' + format];
      errors['headers:' + format] = thrown(() => h.parseFieldLines(Buffer.from('bad')));
      errors['bufio:' + format] = thrown(() => new b.BufferedWriter(new (require('node:stream').PassThrough)(), { size: -1 }));
      errors['chunked:' + format] = thrown(() => new c.ChunkedDecoder().push(Buffer.from('x\\r\\n')));
    }
    const classes = Object.fromEntries(Object.entries(mods).map(([k, m]) => [k, m.H1Error]));
    const pairs = [];
    for (const [error, e] of Object.entries(errors))
      for (const [klass, K] of Object.entries(classes))
        pairs.push({ error, klass, instance: e instanceof K, name: e.name, code: e.code });
    const all = Object.values(classes);
    const registered = globalThis[Symbol.for('h1kit.H1Error')];
    console.log(JSON.stringify({
      sameClass: all.every((K) => K === all[0]),
      registeredIsFirst: registered === classes['errors:' + order[0]],
      pairs,
    }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    // A built package that kept the child's event loop alive fails here, not by a hang.
    timeout: 20_000,
  });
  return JSON.parse(out);
}

describe('H1Error across builds and packages', () => {
  it.each([[['esm', 'cjs'] as const], [['cjs', 'esm'] as const]])(
    'is one class whichever build loads first (%j)',
    (order) => {
      const { sameClass, registeredIsFirst, pairs } = crossCheck(order);
      expect(sameClass).toBe(true);
      expect(registeredIsFirst).toBe(true);
      // 3 packages x 2 builds throwing, checked against 4 packages x 2 builds exporting.
      expect(pairs).toHaveLength(48);
      for (const pair of pairs) {
        expect(pair, `${pair.error} instanceof H1Error of ${pair.klass}`).toMatchObject({
          instance: true,
          name: 'H1Error',
        });
        expect(pair.code).toMatch(/^ERR_(H1|BUFIO)_/);
      }
    },
  );

  it('has its class body in @h1kit/errors alone: the other builds import it, not bundle it', () => {
    for (const dir of readdirSync(join(root, 'packages'))) {
      for (const file of ['index.js', 'index.cjs']) {
        const code = readFileSync(dist(dir, file), 'utf8');
        const registers = code.includes('h1kit.H1Error');
        expect(registers, `${dir}/dist/${file} registers H1Error`).toBe(dir === 'errors');
      }
    }
    expect(readFileSync(dist('headers', 'index.js'), 'utf8')).toMatch(/from "@h1kit\/errors"/);
    expect(readFileSync(dist('bufio', 'index.cjs'), 'utf8')).toMatch(/require\("@h1kit\/errors"\)/);
  });
});
