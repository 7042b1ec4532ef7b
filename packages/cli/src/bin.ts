#!/usr/bin/env node
// The h1kit executable: the exit code is set, never forced with process.exit(), so that what is
// still being written to a pipe gets out and a handle left open would show as a hang in tests.
import { main } from './index.js';

process.exitCode = await main(process.argv.slice(2));
