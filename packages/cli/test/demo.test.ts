// `h1kit demo` runs its scripted full-duplex exchanges and exits by itself; `h1kit bench` finds
// the repository's benchmark script from a clone and says where the benchmarks are from elsewhere.

import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BIN, finished, linesOf, runCli, track } from './helpers.js';

describe('demo', () => {
  it('prints the ping-pong transcript and the checked trailer, then exits 0', async () => {
    const run = await runCli(['demo']);
    expect(run.stderr).toBe('');
    expect(run.code, run.stderr).toBe(0);
    const lines = linesOf(run.stdout);
    // Each line sent is followed by its answer, before the next line is sent.
    const sent = lines.filter((line) => line.startsWith('> ')).slice(0, 4);
    expect(sent).toEqual([
      '> hello',
      '> each line is answered',
      '> before the next one is sent',
      '> goodbye',
    ]);
    for (const [i, line] of sent.entries()) {
      expect(lines[lines.indexOf(line) + 1]).toBe(`< ${i + 1}: ${line.slice(2)}`);
    }
    expect(run.stdout).toMatch(/^< trailer Upload-Sha256: [0-9a-f]{64}$/m);
    expect(run.stdout).toContain('matches the SHA-256 of what was sent');
    expect(lines[lines.length - 1]).toBe('done: both servers closed.');
  });
});

describe('bench', () => {
  it('runs scripts/bench.mjs of the repository, passing the arguments through', async () => {
    // A filter nothing matches: the script itself says so, so it ran and got the arguments,
    // without running any benchmark.
    const run = await runCli(['bench', 'h1kit-no-such-benchmark']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('no benchmark matches');
    expect(run.stderr).toContain('h1kit-no-such-benchmark');
  });

  it('installed outside the repository, says where the benchmarks live and exits 1', async () => {
    // The package as npm installs it: node_modules/h1kit/{package.json,dist/bin.js}, its
    // @h1kit dependencies resolved through the workspace's links.
    const cliDir = dirname(dirname(BIN));
    const project = mkdtempSync(join(tmpdir(), 'h1kit-cli-installed-'));
    try {
      const installed = join(project, 'node_modules', 'h1kit');
      mkdirSync(join(installed, 'dist'), { recursive: true });
      copyFileSync(join(cliDir, 'package.json'), join(installed, 'package.json'));
      copyFileSync(BIN, join(installed, 'dist', 'bin.js'));
      symlinkSync(join(cliDir, 'node_modules'), join(installed, 'node_modules'));
      // A project of the user's own may well have a scripts/bench.mjs: it must not be run.
      mkdirSync(join(project, 'scripts'));
      copyFileSync(fileURLToPath(import.meta.url), join(project, 'scripts', 'bench.mjs'));
      const child = track(
        spawn(process.execPath, [join(installed, 'dist', 'bin.js'), 'bench', '--quick'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      );
      const run = await finished(child, 'the installed h1kit bench to exit');
      expect(run.code, run.stderr).toBe(1);
      expect(linesOf(run.stderr)).toHaveLength(1);
      expect(run.stderr).toMatch(/^h1kit: the benchmarks live in the h1kit repository/);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
