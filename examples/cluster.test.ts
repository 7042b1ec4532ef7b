import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { BOUND_MS, inTime } from '../testkit/bounded.js';
import { getText } from '../testkit/http.js';

const example = fileURLToPath(new URL('./cluster.mjs', import.meta.url));
const running: ChildProcess[] = [];
afterEach(async () => {
  for (const child of running.splice(0)) {
    if (child.exitCode !== null) continue;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
});

it('serves one port from two cluster workers, each answering in turn', async () => {
  // The example is run as a user runs it: plain node on the built package.
  const primary = spawn(process.execPath, [example, '0', '2'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  running.push(primary);
  let out = '';
  primary.stdout!.setEncoding('latin1');
  while (!/listening on http:\/\/127\.0\.0\.1:(\d+)/.test(out)) {
    const [chunk] = (await inTime(
      Promise.race([once(primary.stdout!, 'data'), once(primary, 'exit')]),
      `the example saying it listens (got ${JSON.stringify(out)})`,
      5 * BOUND_MS,
    )) as [string | number];
    expect(typeof chunk, `the example exited before listening: ${out}`).toBe('string');
    out += chunk;
  }
  const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
  const answers = [];
  for (let i = 0; i < 6; i++) {
    answers.push(await inTime(getText({ port }), `the answer to GET ${i + 1}`));
  }
  for (const answer of answers) expect(answer).toMatch(/^served by worker \d+\n$/);
  expect(new Set(answers).size).toBe(2);
});
