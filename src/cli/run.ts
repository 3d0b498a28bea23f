/**
 * The `snap` command line: parses arguments with yargs, runs one command module, prints errors.
 * Nothing here decides integrity; exit codes come from `exit-codes.ts`.
 */
import yargs, { type Argv } from 'yargs';
import { SnapError, isSnapError } from '../core/errors.js';
import { escapeForTerminal, escapeMessage } from '../core/display.js';
import { TOOL_VERSION } from '../version.js';
import { interruptedBy, interruptedError } from '../io/interrupt.js';
import { EXIT_OK, EXIT_USAGE, exitCodeFor } from './exit-codes.js';
import { jsonOut, type Args, type CliIo } from './common.js';
import { COMMANDS, commandName } from './commands/index.js';
import type { CommandSpec } from './common.js';
import { DEFAULT_PROGRAM_NAME, type ProgramName } from './program-name.js';

export type { CliIo } from './common.js';

const EPILOG = `Exit codes: 0 success · 1 integrity failure (data differs; signature missing, invalid or
untrusted; differences found) · 2 usage error · 3 input or environment error · 130 / 143
interrupted by SIGINT / SIGTERM (temporary files removed, locks released).
Store: --store PATH, else $SNAP_STORE, else ./.snap.   Docs: README.md, docs/FORMAT.md`;

/**
 * The yargs parser; `active` is the one command whose module was loaded (its builder declares its
 * flags); `program` is the name usage and help lines give (yargs puts it in place of `$0`).
 */
function parser(program: ProgramName, active?: CommandSpec): Argv {
  let y = yargs()
    .scriptName(program)
    .usage('$0 — tamper-evident training data: seal a dataset into a signed Merkle manifest, verify it before training, diff snapshots in an incident.\n\nUsage: $0 <command> [options]')
    .option('store', { type: 'string', describe: 'store folder (default: $SNAP_STORE, else ./.snap)', global: true })
    .option('json', { type: 'boolean', describe: 'one JSON document on stdout, nothing else', global: true })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'no progress, only the verdict', global: true })
    .option('jobs', { alias: 'j', type: 'number', describe: 'hashing worker threads (default: number of cores)', global: true })
    .option('debug', { type: 'boolean', describe: 'show stack traces', global: true, hidden: false })
    .demandCommand(1, `Name a command (${program} --help lists them).`)
    .recommendCommands()
    .strict()
    .help()
    .alias('h', 'help')
    .version(TOOL_VERSION)
    .epilog(EPILOG)
    .wrap(Math.min(110, process.stdout.columns || 100));
  for (const c of COMMANDS) {
    const spec = active && commandName(active) === commandName(c) ? active : undefined;
    y = spec ? y.command(spec.command, spec.describe, spec.builder) : y.command(c.command, c.describe);
  }
  return y;
}

/** Parse argv; yargs prints nothing itself: help, version and errors come back to us. */
async function parse(argv: string[], program: ProgramName, active?: CommandSpec): Promise<{ args?: Record<string, unknown>; output?: string; error?: string }> {
  return new Promise((res) => {
    parser(program, active).parse(argv, {}, (err: Error | undefined, args: Record<string, unknown>, output: string) => {
      if (err) res({ error: err.message, output });
      else res({ args, output });
    });
  });
}

/**
 * Run the CLI. Never throws and never exits the process.
 * @returns the exit code (SPEC §8)
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const wantsJson = argv.includes('--json');
  const debug = argv.includes('--debug');
  // Load only the module of the command being run: the first word that is not an option.
  const word = argv.find((x) => !x.startsWith('-'));
  const entry = COMMANDS.find((c) => commandName(c) === word);
  const active = entry ? await entry.load() : undefined;
  const program = io.program ?? DEFAULT_PROGRAM_NAME;
  const { args, output, error } = await parse(argv, program, active);
  if (error !== undefined) {
    if (wantsJson) jsonOut(io, { ok: false, error: { code: 'USAGE', message: error } });
    io.stderr.write(`${program}: ${escapeMessage(error)}\nRun "${program} --help" (or "${program} <command> --help") for usage.\n`);
    return EXIT_USAGE;
  }
  if (output) {
    io.stdout.write(output + '\n');
    return EXIT_OK;
  }
  const a = args as Args;
  const cmd = String((a._ as unknown[])[0]);
  const handler = active && commandName(active) === cmd ? active.run : undefined;
  if (!handler) {
    io.stderr.write(`${program}: unknown command "${escapeForTerminal(cmd)}"; run "${program} --help"\n`);
    return EXIT_USAGE;
  }
  try {
    return await handler(a, { ...io, argv });
  } catch (e) {
    // Once a signal came, whatever the command stopped on, it was stopped by the signal.
    const err = interruptedBy() ? interruptedError() : isSnapError(e) ? e : new SnapError('INTERNAL', `unexpected error: ${(e as Error)?.message ?? String(e)} (please report this)`, undefined, { cause: e });
    const code = exitCodeFor(err.code);
    if (a.json) jsonOut(io, { ok: false, error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
    // The one place an error reaches the terminal: messages embed names and outside text, so
    // nothing in one is printed raw (its line breaks included: a message is one line).
    io.stderr.write(`${program} ${cmd}: ${escapeMessage(err.message)} [${err.code}]\n`);
    if (debug) io.stderr.write(`${((e as Error)?.stack ?? '').split('\n').map(escapeMessage).join('\n')}\n`);
    return code;
  }
}
