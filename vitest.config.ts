import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests run against each package's TypeScript source, so `pnpm test` needs no build step for
// them; the dist smoke test (scripts/test) checks the built artefacts separately.
const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url));
const alias: Record<string, string> = {};
for (const dir of readdirSync(packagesDir)) {
  const manifest = JSON.parse(readFileSync(`${packagesDir}${dir}/package.json`, 'utf8'));
  alias[manifest.name] = `${packagesDir}${dir}/src/index.ts`;
}

export default defineConfig({
  resolve: { alias },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'fuzz/**/*.test.ts',
      'examples/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    setupFiles: ['testkit/setup.ts'],
  },
});
