// `pnpm docs`: the TypeDoc API reference of every package into docs/api (HTML) and docs/api.json;
// the entry points are the workspace's packages, so a new one is documented without an edit here.
// TypeDoc fails on any warning (typedoc.json). Then every export must have a doc comment (the run
// fails naming those without), and each is checked for an `@example`: those without one are
// listed, and with `--require-examples` they fail the run too.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root, workspacePackages } from './packages.mjs';

const requireExamples = process.argv.includes('--require-examples');
execFileSync(
  process.execPath,
  [
    join(root, 'node_modules/typedoc/bin/typedoc'),
    ...workspacePackages().flatMap((pkg) => ['--entryPoints', join(pkg.dir, 'src/index.ts')]),
    '--json',
    join(root, 'docs/api.json'),
  ],
  { cwd: root, stdio: 'inherit' },
);

const project = JSON.parse(readFileSync(join(root, 'docs/api.json'), 'utf8'));
const hasExample = (comment) => (comment?.blockTags ?? []).some((tag) => tag.tag === '@example');
let exports = 0;
const undocumented = [];
const lacking = [];
for (const module of project.children ?? []) {
  for (const reflection of module.children ?? []) {
    // A re-export of another package's declaration (H1Error everywhere) is documented there.
    if (reflection.variant === 'reference') continue;
    exports++;
    const comment =
      reflection.comment ?? reflection.signatures?.find((signature) => signature.comment)?.comment;
    const summary = (comment?.summary ?? []).map((part) => part.text).join('');
    if (summary.trim() === '') undocumented.push(`${module.name} ${reflection.name}`);
    if (!hasExample(comment)) lacking.push(`${module.name} ${reflection.name}`);
  }
}
console.log(
  `docs: docs/api/index.html; ${exports - lacking.length} of ${exports} exports have an @example`,
);
if (undocumented.length > 0) {
  console.log(`docs: without a doc comment:\n  ${undocumented.join('\n  ')}`);
  process.exitCode = 1;
}
if (lacking.length > 0) {
  console.log(`docs: without an @example:\n  ${lacking.join('\n  ')}`);
  if (requireExamples) process.exitCode = 1;
}
