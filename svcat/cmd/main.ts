#!/usr/bin/env node
import { basename } from 'node:path';
import { main } from '../cli';

/**
 * svcat, and kubectl-svcat: the same program, which kubectl runs as `kubectl svcat` when a
 * kubectl-svcat is on the PATH.
 */
const plugin = basename(process.argv[1] ?? '').startsWith('kubectl-');
main(process.argv.slice(2), plugin ? 'kubectl svcat' : 'svcat').then(
  (code) => (process.exitCode = code),
  (e) => {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    process.exitCode = 1;
  },
);
