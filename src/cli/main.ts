#!/usr/bin/env node
/** Entry point of the `snap` binary (also installed as `snapds`). */
import { asksForFlag, runCli } from './run.js';
import { exitCodeAfterOutput, quietOnBrokenPipe } from './broken-pipe.js';
import { escapeMessage } from '../core/display.js';
import { programNameOf } from './program-name.js';
import { cleanUpIfInterrupted, exitWhenWritten, handleSignals } from './signals.js';
import { handleCrashes } from './crash.js';
import { installNativeEd25519 } from '../io/native-ed25519.js';
import { installNativeSha256 } from '../io/native-hash.js';
import { startEarlyWorkers } from './early-workers.js';
import { argumentBytes } from '../io/argv-bytes.js';
import { environmentBytes } from '../io/environ-bytes.js';
import { PATH_VARIABLES } from './path-variables.js';

// seal and verify: boot the hashing workers first, while the rest of the command loads (early-workers.ts).
startEarlyWorkers(process.argv.slice(2));
// A reader that closed its end of the pipe (`snap list --json | head -1`) is not an error: no
// stack trace, the rest of the output is dropped, and the exit code stays the command's own.
// A stdout that cannot be written (`> /dev/full`) is said at the end, and a success exits 3 (broken-pipe.ts).
quietOnBrokenPipe(process.stdout);
quietOnBrokenPipe(process.stderr);
// Ctrl-C and SIGTERM: clean up, then exit 130 / 143 (signals.ts).
// With --json, an exit that does not wait for the command still leaves one document on stdout.
handleSignals(process.stderr, asksForFlag(process.argv.slice(2), 'json') ? process.stdout : undefined);
// Ed25519 through node:crypto: same results as @noble/ed25519, without its 0.1 s first-use table.
installNativeEd25519();
// Snapshot ids (SHA-256 of a statement of up to 4 MiB) through node:crypto too: the same digest.
installNativeSha256();

// `snap` or `snapds` (package.json installs both): usage, help and errors name the one that was run.
const program = programNameOf(process.argv[1]);
// An exception or rejection no command caught: exit 3 with locks and temporary files removed, not Node's exit 1 (crash.ts).
// With --json, also its one error document on stdout, unless the command had written there.
const argv = process.argv.slice(2);
// And a command that stalls (the event loop runs dry before it settled): exit 3, never Node's 0.
const settled = handleCrashes(process.stderr, program, asksForFlag(argv, 'json') ? process.stdout : undefined);

// The arguments' bytes: one that is not UTF-8 is refused (Node would hand it over as another name, with
// U+FFFD). Read only when an argument holds U+FFFD: every other argument was valid UTF-8 as given.
const argvBytes = argv.some((a) => a.includes('\uFFFD')) ? argumentBytes(argv) : undefined;
// Likewise the variables that name a folder (SNAP_STORE, …), read only when one holds U+FFFD.
const lossyVariables = PATH_VARIABLES.filter((name) => process.env[name]?.includes('\uFFFD'));
const envBytes = lossyVariables.length > 0 ? environmentBytes(lossyVariables, process.env) : undefined;
runCli(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), stdin: process.stdin, program, ...(argvBytes ? { argvBytes } : {}), ...(envBytes ? { envBytes } : {}) }).then(
  (code) => {
    settled();
    cleanUpIfInterrupted();
    // a signal from here on leaves the code as it is
    exitWhenWritten(exitCodeAfterOutput(code, process.stdout, process.stderr, program), process.stdout, process.stderr);
  },
  (e) => {
    settled();
    process.stderr.write(`${program}: internal error: ${String((e as Error)?.stack ?? e).split('\n').map(escapeMessage).join('\n')}\n`);
    cleanUpIfInterrupted();
    exitWhenWritten(3, process.stdout, process.stderr);
  },
);
