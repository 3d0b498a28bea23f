#!/usr/bin/env node
/** Entry point of the `snap` binary. */
import { runCli } from './run.js';
import { quietOnBrokenPipe } from './broken-pipe.js';
import { escapeMessage } from '../core/display.js';

// A reader that closed its end of the pipe (`snap list --json | head -1`) is not an error: no
// stack trace, the rest of the output is dropped, and the exit code stays the command's own.
quietOnBrokenPipe(process.stdout);
quietOnBrokenPipe(process.stderr);

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), stdin: process.stdin }).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`snap: internal error: ${String((e as Error)?.stack ?? e).split('\n').map(escapeMessage).join('\n')}\n`);
    process.exitCode = 3;
  },
);
