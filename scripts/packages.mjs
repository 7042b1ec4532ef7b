// The workspace's packages in dependency order (a package comes after every @h1kit package it
// imports), read from their manifests so that adding a package needs no edit here.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

export function workspacePackages() {
  const dir = join(root, 'packages');
  const byName = new Map();
  for (const entry of readdirSync(dir)) {
    const manifest = JSON.parse(readFileSync(join(dir, entry, 'package.json'), 'utf8'));
    byName.set(manifest.name, { name: manifest.name, dir: join(dir, entry), manifest });
  }
  const ordered = [];
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name)) return;
    seen.add(name);
    const pkg = byName.get(name);
    for (const dep of Object.keys(pkg.manifest.dependencies ?? {})) if (byName.has(dep)) visit(dep);
    ordered.push(pkg);
  };
  for (const name of [...byName.keys()].sort()) visit(name);
  return ordered;
}
