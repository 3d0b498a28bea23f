/**
 * The `snap` command line: parses arguments with yargs, runs one command module, prints errors.
 * Nothing here decides integrity; exit codes come from `exit-codes.ts`.
 */
import { isUtf8 } from 'node:buffer';
import type { Argv } from 'yargs';
import { yargs } from './yargs.js';
import { SnapError } from '../core/errors.js';
import { escapeForTerminal, escapeMessage } from '../core/display.js';
import { decodeNameBytes } from '../core/name-bytes.js';
import { TOOL_VERSION } from '../version.js';
import { setLockWaitNotice } from '../io/lock-wait-notice.js';
import { EXIT_OK, EXIT_USAGE, exitCodeFor } from './exit-codes.js';
import { VALUE_OPTIONS, commandWord } from './command-word.js';
import { nearestName } from '../core/nearest.js';
import { commandErrorOf, indentContinuedExamples, isReportedInJson, jsonErrorOf, jsonOut, type Args, type CliIo } from './common.js';
import { COMMANDS, commandName } from './commands/index.js';
import type { CommandSpec } from './common.js';
import { DEFAULT_PROGRAM_NAME, type ProgramName } from './program-name.js';
import { refusePathVariableNotUtf8 } from './path-variables.js';

export type { CliIo } from './common.js';

// One paragraph each: yargs wraps them to the terminal's width at word boundaries.
/** The exit codes (README, "Exit codes"; exit-codes.ts): the last paragraph of every command's help, and of `snap --help`. */
const EXIT_CODES_TEXT =
  'Exit codes: 0 success · 1 integrity failure (data differs; signature missing, invalid or untrusted; differences found) · 2 usage error · 3 input or environment error · 130 / 143 interrupted by SIGINT / SIGTERM (temporary files removed, locks released).';
const EPILOG = [
  EXIT_CODES_TEXT,
  'Store: --store PATH, else $SNAP_STORE (an empty one counts as unset), else ./.snap ("$0 init" makes one; seal and import make one where its parent folder exists, and say so). Docs: README.md, docs/FORMAT.md',
].join('\n\n');

/**
 * Help is laid out for the terminal's width, within these bounds (narrower, a long flag name such as
 * --passphrase-prompt would be cut in two); 80 columns when stdout is not a terminal.
 */
const MIN_HELP_WIDTH = 60;
const MAX_HELP_WIDTH = 100;
const DEFAULT_HELP_WIDTH = 80;

/**
 * The yargs parser; `active` is the one command whose module was loaded (its builder declares its
 * flags: only `--json`, `--debug` and `--help` are common to every command); `program` is the name
 * usage and help lines give (yargs puts it in place of `$0`); `width` the help's width in columns.
 */
function parser(program: ProgramName, active: CommandSpec | undefined, width: number): Argv {
  // No "[string] [required]" column: cliui sets it inline against a full description line with no
  // space between ("contents[string]"); each description says what is required and its default.
  // (yargs 17.7 has usageConfiguration; @types/yargs 17.0 does not declare it.)
  let y = (yargs() as Argv & { usageConfiguration(c: { 'hide-types': boolean }): Argv })
    .usageConfiguration({ 'hide-types': true })
    .scriptName(program)
    .usage('$0 — tamper-evident training data: seal a dataset into a signed Merkle manifest, verify it before training, diff snapshots in an incident.\n\nUsage: $0 <command> [options]')
    .option('json', { type: 'boolean', describe: 'one JSON document on stdout, nothing else; its "ok" is true exactly when the exit code is 0', global: true })
    .option('debug', { type: 'boolean', describe: 'show stack traces', global: true })
    // `--no-parent` is a flag of its own (in conflict with --parent), not yargs' negation of --parent;
    // numbers are parsed by the options that take them, which show what was given when it is not one;
    // no flag has a dot in its name, and no flag takes an object: `--store.x=1` is an unknown argument,
    // not the store {x: "1"} (yargs' dot notation).
    .parserConfiguration({ 'boolean-negation': false, 'parse-numbers': false, 'dot-notation': false })
    .check(refuseRepeatedFlags, true)
    .updateStrings({ 'Arguments %s and %s are mutually exclusive': '--%s and --%s cannot be given together' })
    .demandCommand(1, `Name a command (${program} --help lists them).`)
    .recommendCommands()
    .strict()
    .help()
    .alias('h', 'help')
    .version(TOOL_VERSION)
    .epilog(EPILOG)
    .wrap(width);
  // After running a command's handler (ours are yargs' default no-ops: runCli runs the command),
  // yargs lays out the whole help text and caches it, in case an asynchronous handler prints it
  // later: tens of milliseconds of every run, for nothing here. Help is still laid out when asked for.
  (y as unknown as { getInternalMethods(): { getUsageInstance(): { cacheHelpMessage(): void } } }).getInternalMethods().getUsageInstance().cacheHelpMessage = () => {};
  for (const c of COMMANDS) {
    const spec = active && commandName(active) === commandName(c) ? active : undefined;
    // --version belongs to `snap --version`: accepted after a command, but not listed in its help.
    // A command's help ends with the exit codes: what 1 and 3 mean there too. yargs joins a command's
    // epilogs with one newline: a command's own notes end with "\n" to leave a blank line before them.
    y = spec ? y.command(spec.command, spec.describe, (cy) => spec.builder(cy).hide('version').epilog(EXIT_CODES_TEXT)) : y.command(c.command, c.describe);
  }
  return y;
}

/**
 * A flag that takes one value, given more than once, is a usage error (yargs would otherwise hand
 * the command an array, e.g. `--as a@v1 --as a@v2` as the ref "a@v1,a@v2"). Flags declared
 * `array` (`--pubkey`, `--exclude`, seal's `--key`, …) are repeatable; a boolean given twice is still just true.
 * @throws SnapError `USAGE` (reported by yargs as a usage error)
 */
function refuseRepeatedFlags(argv: Record<string, unknown>, options: { array?: string[]; alias?: Record<string, string[]> }): true {
  const repeatable = new Set(options.array ?? []);
  for (const [name, aliases] of Object.entries(options.alias ?? {})) if (repeatable.has(name)) for (const a of aliases) repeatable.add(a);
  for (const [key, value] of Object.entries(argv)) {
    // One-letter aliases and yargs' camelCase twins (passphraseEnv) hold the same values as the flag.
    if (key === '_' || key === '$0' || key.length === 1 || /[A-Z]/.test(key) || repeatable.has(key) || !Array.isArray(value)) continue;
    const given = value.map((v) => JSON.stringify(String(v))).join(', ');
    throw new SnapError('USAGE', `--${key} was given ${value.length} times (${given}); it takes one value`);
  }
  return true;
}

/** Flags naming a folder, for which an empty value (`--state-dir "$UNSET"`) would mean the working folder: a usage error. */
const EMPTY_FOLDER_FLAGS = ['store', 'state-dir'] as const;

/** A mistyped flag is suggested its nearest known flag within this many single-letter edits. */
const MAX_FLAG_SUGGESTION_EDITS = 2;

/**
 * yargs' "Unknown argument(s): againt", each name once, with the nearest flag of the command for each name that was
 * given as a flag (`--againt`): "Unknown argument: againt (did you mean --against?)". A name with
 * no flag within {@link MAX_FLAG_SUGGESTION_EDITS} edits, or another error, is returned as it is.
 * A word given beyond the command's positional arguments (yargs lists it as an unknown argument
 * too) is named first as unexpected, with the command's form: `check A B` reads "unexpected
 * argument B: the command is "check <b>", the rest are flags (Unknown argument: B)".
 */
function withFlagSuggestions(error: string, argv: string[], active: CommandSpec): string {
  const m = /^Unknown arguments?: (.+)$/.exec(error);
  if (!m) return error;
  // The words after a bare `--` are operands (operandsAsPositionals), never flags.
  const dd = argv.indexOf('--');
  const flagWords = dd < 0 ? argv : argv.slice(0, dd);
  const operands = dd < 0 ? [] : argv.slice(dd + 1);
  const given = new Set(flagWords.filter((x) => x.startsWith('--')).map((x) => x.slice(2).split('=')[0]));
  // The command's own flags, and the global ones the parser declares (not in the command's builder).
  const own = Object.keys((active.builder(yargs()) as Argv & { getOptions(): { key: Record<string, unknown> } }).getOptions().key);
  const flags = [...own, 'json', 'debug', 'help'].filter((k) => k.length > 1 && k !== 'version');
  // yargs lists `--no-such-flag` also as its camelCase twin `noSuchFlag`: name it once.
  const listed = (m[1] as string).split(', ');
  const names = listed.filter((n) => !(/[A-Z]/.test(n) && listed.includes(n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`))));
  // A word given beyond the command's positionals (`check A B`), not as a flag, is an unexpected argument.
  const words = new Set([...flagWords.filter((x) => !x.startsWith('-')), ...operands]);
  const extra = names.filter((n) => !given.has(n) && words.has(n));
  const flagNames = names.filter((n) => !extra.includes(n));
  const unexpected = extra.length === 0 ? '' : `unexpected argument${extra.length === 1 ? '' : 's'} ${extra.join(', ')}: the command is "${active.command}", the rest are flags`;
  if (flagNames.length === 0) return `${unexpected} (${error})`;
  const head = `${unexpected === '' ? '' : `${unexpected}; `}Unknown argument${flagNames.length === 1 ? '' : 's'}: ${flagNames.join(', ')}`;
  const hints: string[] = [];
  for (const name of flagNames) {
    if (!given.has(name)) continue;
    const best = nearestName(name, flags, MAX_FLAG_SUGGESTION_EDITS);
    if (best !== undefined) hints.push(`--${best}`);
  }
  return hints.length === 0 ? head : `${head} (did you mean ${hints.join(', ')}?)`;
}

/**
 * yargs' "Not enough non-option arguments: got 0, need at least 1" in the command's words: which
 * positional arguments are missing, from its `command` line (`seal <dir>` → "missing DIR").
 * Another error is returned as it is.
 */
function withMissingPositionals(error: string, active: CommandSpec): string {
  const m = /^Not enough non-option arguments: got (\d+), need at least (\d+)$/.exec(error);
  if (!m) return error;
  const required = [...active.command.matchAll(/<([^>]+)>/g)].map((x) => (x[1] as string).replace(/\.\.$/, '').toUpperCase());
  const missing = required.slice(Number(m[1]));
  if (missing.length === 0) return error;
  return `missing ${missing.join(' and ')}: the command is "${active.command}" (${error})`;
}

/** A mistyped choice (`policy sihn`, `--format mardown`) is suggested the nearest choice within this many single-letter edits. */
const MAX_CHOICE_SUGGESTION_EDITS = 2;

/**
 * yargs' "Invalid values:\n  Argument: format, Given: \"pdf\", Choices: \"html\", \"markdown\""
 * (several lines, one per argument) in the command's words, on one line first: each argument as
 * it is typed (a positional of the command's form as `ACTION`, else `--format`), what was given,
 * the choices, and the nearest choice within {@link MAX_CHOICE_SUGGESTION_EDITS} edits
 * ("ACTION \"sihn\" is not one of init, …, show (did you mean sign?)"). yargs' message is kept
 * after it, in parentheses; another error is returned as it is.
 */
function withChoices(error: string, active: CommandSpec): string {
  if (!error.startsWith('Invalid values:')) return error;
  const positionals = new Set([...active.command.matchAll(/[<[]([^>\]]+)[>\]]/g)].map((x) => (x[1] as string).replace(/\.\.$/, '')));
  const parts: string[] = [];
  for (const m of error.matchAll(/^ {2}Argument: (.+), Given: (".*"|[^,]*), Choices: (.+)$/gm)) {
    const name = m[1] as string;
    const choices = [...(m[3] as string).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((c) => c[1] as string);
    let given = m[2] as string;
    try {
      given = String(JSON.parse(given));
    } catch {
      // not a JSON string (a number, say): as yargs wrote it
    }
    const near = nearestName(given, choices, MAX_CHOICE_SUGGESTION_EDITS);
    const what = positionals.has(name) ? name.toUpperCase() : `--${name}`;
    parts.push(`${what} ${JSON.stringify(given)} is not one of ${choices.join(', ')}${near !== undefined ? ` (did you mean ${near}?)` : ''}`);
  }
  return parts.length === 0 ? error : `${parts.join('; ')} (${error})`;
}

/**
 * A flag's description with its "required" mark taken out ("… (required)", "(required; repeatable)",
 * "; required, repeatable"): in a message about a missing flag, that it is required goes without saying.
 */
function withoutRequiredMark(describe: string): string {
  return describe.replace(/ \(required\)/, '').replace(/\(required[;,] /, '(').replace(/; required, /, '; ');
}

/** The help line of each flag of `active` (yargs' descriptions, by long name). */
function flagDescriptions(active: CommandSpec): Record<string, string | undefined> {
  return (active.builder(yargs()) as Argv & { getInternalMethods(): { getUsageInstance(): { getDescriptions(): Record<string, string | undefined> } } })
    .getInternalMethods()
    .getUsageInstance()
    .getDescriptions();
}

/**
 * yargs' "Not enough arguments following: as" (a flag given last, or before another flag, without
 * its value) in the command's words: the flag as typed, with what it takes, from its help line
 * ("--as needs a value: NAME@VERSION of the new snapshot, …"; a one-letter alias with its long name,
 * "-o (--out)"). yargs' message is kept after it, in parentheses; another error is returned as it is.
 */
function withFlagValueMissing(error: string, active: CommandSpec): string {
  const m = /^Not enough arguments following: (.+)$/.exec(error);
  if (!m) return error;
  const given = m[1] as string;
  const aliases = (active.builder(yargs()) as Argv & { getOptions(): { alias: Record<string, string[]> } }).getOptions().alias;
  const long = given.length === 1 ? (Object.entries(aliases).find(([k, v]) => k.length > 1 && v.includes(given))?.[0] ?? given) : given;
  const flag = given.length === 1 ? (long !== given ? `-${given} (--${long})` : `-${given}`) : `--${given}`;
  const d = flagDescriptions(active)[long];
  return `${flag} needs a value${typeof d === 'string' && d !== '' ? `: ${withoutRequiredMark(d)}` : ''} (${error})`;
}

/**
 * yargs' "Missing required argument(s): as, key" in the command's words: each missing flag as it
 * is typed, with what it takes, from its help line ("missing --as: NAME@VERSION of the new
 * snapshot, e.g. fraud-train@model-v3"). yargs' message is kept after it, in parentheses; another
 * error is returned as it is.
 */
function withMissingFlags(error: string, active: CommandSpec): string {
  const m = /^Missing required arguments?: (.+)$/.exec(error);
  if (!m) return error;
  const descriptions = flagDescriptions(active);
  const parts = (m[1] as string).split(', ').map((name) => {
    const d = descriptions[name];
    return typeof d === 'string' && d !== '' ? `missing --${name}: ${withoutRequiredMark(d)}` : `missing --${name}`;
  });
  return `${parts.join('; ')} (${error})`;
}

/** A mistyped command word is suggested the nearest command within this many single-letter edits. */
const MAX_COMMAND_SUGGESTION_EDITS = 2;

/**
 * The error for a command word that names no command (`snap verfy …`), with the nearest command
 * within {@link MAX_COMMAND_SUGGESTION_EDITS} edits: yargs reported it as one more unknown argument,
 * among the flags it then could not know ("Unknown arguments: against, verfy, data").
 */
function unknownCommand(word: string, program: ProgramName): string {
  const near = nearestName(word, COMMANDS.map(commandName), MAX_COMMAND_SUGGESTION_EDITS);
  return `unknown command ${JSON.stringify(word)}${near !== undefined ? ` (did you mean ${near}?)` : ''}; "${program} --help" lists the commands`;
}

/**
 * Whether the command line asks for `--json`, as yargs reads it, for the errors found before yargs
 * has parsed it: `--json` or `--json=true` (yargs takes any other value of a boolean flag as false),
 * the last one given winning, and nothing after a bare `--` (an argument there is not a flag).
 */
export function asksForFlag(argv: readonly string[], flag: string): boolean {
  let asked = false;
  for (const x of argv) {
    if (x === '--') break;
    if (x === `--${flag}`) asked = true;
    else if (x.startsWith(`--${flag}=`)) asked = x === `--${flag}=true`;
  }
  return asked;
}

/**
 * The name of the first flag in `argv` (before a bare `--`) that names a member every JavaScript
 * object inherits (`--constructor`, `--toString`, `--has-own-property`, whose camelCase twin is
 * `hasOwnProperty`): yargs 17.7 looks each given flag up in a plain object of conflicting flags and
 * found `Object.prototype.constructor` there, throwing outside every promise (an internal error,
 * exit 3, found by fuzzing the command line). No command has such a flag: it is an unknown argument.
 */
function inheritedMemberFlag(argv: readonly string[]): string | undefined {
  for (const x of argv) {
    if (x === '--') break;
    if (!x.startsWith('--')) continue; // `-abc` is three one-letter flags
    const name = x.replace(/^-+/, '').split('=')[0] as string;
    const camel = name.replace(/-+([^-])/g, (_, c: string) => c.toUpperCase()); // yargs' camel-case expansion
    if (name in Object.prototype || camel in Object.prototype) return name;
  }
  return undefined;
}

/**
 * The words after a bare `--` that follows the command word are operands, never flags (POSIX
 * Utility Syntax Guidelines, 10): `snap verify --against REF … -- -data` verifies the folder
 * `-data`. yargs 17.7 counts them only after it has checked that the command got its positionals
 * ("missing REF" for `snap show -- ds@v1`), so the `--` is taken out here and each operand that
 * starts with `-` is given to yargs as a stand-in no command line can hold (it has a NUL), which
 * {@link putOperandsBack} turns back into the word. A `--` before the command word ends the flags
 * there too: the word after it is the command (as commandWord reads it) and every word after that
 * an operand — `snap -- log --verify` is `log` given the operand "--verify" (a usage error), never
 * `log` with "--verify" dropped (yargs ran it so: the listing of an edited log, exit 0).
 */
function operandsAsPositionals(given: readonly string[], severalValues: () => ReadonlySet<string> = () => new Set(), booleans: () => ReadonlySet<string> = () => new Set()): { argv: string[]; operands: string[] } {
  // Where the command word is, as commandWord finds it: the first word before `--` that is neither an option nor a common option's value.
  const find = (argv: readonly string[]): { dd: number; at: number } => {
    const dd = argv.indexOf('--');
    let at = -1;
    for (let i = 0; i < (dd < 0 ? 0 : dd) && at < 0; i++) {
      if (VALUE_OPTIONS.has(argv[i] as string)) i++;
      else if (!(argv[i] as string).startsWith('-')) at = i;
    }
    return { dd, at };
  };
  let argv = given;
  let { dd, at } = find(argv);
  // `snap [OPTIONS] -- CMD WORD…`: the command word moves before the `--`, the words after it stay operands.
  const word = argv[dd + 1];
  if (dd >= 0 && at < 0 && word !== undefined && !word.startsWith('-')) {
    argv = [...argv.slice(0, dd), word, '--', ...argv.slice(dd + 2)];
    ({ dd, at } = find(argv));
  }
  if (at < 0) return { argv: [...argv], operands: [] };
  const operands: string[] = [];
  const rest = argv.slice(dd + 1).map((x) => (x.startsWith('-') ? `\u0000${operands.push(x) - 1}\u0000` : x));
  // yargs gives a flag that takes several values (`--pubkey`) every word after it up to the next
  // flag: the `--` that ended them is gone, so the operands go before that flag (its values, the
  // words between it and `--`, stay its own): `verify-model --pubkey K -- F` is F, not a second key.
  // And yargs takes a `true` or `false` after a boolean flag for its value (`verify --json -- true`
  // read "true" as --json's value and verified no folder): the operands go before the boolean flags
  // given last, without a value of their own (`--json`, not `--json=true`), too.
  let to = dd;
  while (to - 1 > at && booleans().has(argv[to - 1] as string)) to--;
  for (let j = to - 1; j > at; j--) {
    const w = argv[j] as string;
    if (!w.startsWith('-')) continue;
    if (severalValues().has(w.split('=')[0] as string)) to = j;
    break;
  }
  return { argv: [...argv.slice(0, to), ...rest, ...argv.slice(to, dd)], operands };
}

/**
 * How each flag of `keys` (with its aliases in `alias`) may be typed: `--state-dir`, `--stateDir`,
 * a one-letter alias as `-k`, and with `negations` also `--no-state-dir` and `--no-stateDir`.
 */
function typedForms(keys: readonly string[], alias: Readonly<Record<string, string[]>>, negations: boolean): Set<string> {
  const flags = new Set<string>();
  for (const key of keys) {
    for (const name of [key, ...(alias[key] ?? [])]) {
      if (name.length === 1) {
        flags.add(`-${name}`);
        continue;
      }
      for (const form of [name, name.replace(/-+([^-])/g, (_, c: string) => c.toUpperCase()), name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)]) {
        flags.add(`--${form}`);
        if (negations) flags.add(`--no-${form}`);
      }
    }
  }
  return flags;
}

/** The boolean and the several-valued (yargs `array`) options of `active`, as its builder declares them. */
function declaredOptions(active: CommandSpec): { boolean: string[]; array: string[]; alias: Record<string, string[]> } {
  return (active.builder(yargs()) as Argv & { getOptions(): { boolean: string[]; array: string[]; alias: Record<string, string[]> } }).getOptions();
}

/** The boolean flags of `active` and the global ones (`--json`, `--debug`, `--help`, `--version`), as they may be typed without a value. */
function booleanFlags(active: CommandSpec | undefined): Set<string> {
  const global = ['--json', '--debug', '--help', '-h', '--version'];
  if (!active) return new Set(global);
  const o = declaredOptions(active);
  return new Set([...global, ...typedForms(o.boolean, o.alias, true)]);
}

/** The flags of `active` that take several values (yargs `array`), as they may be typed: `--pubkey`, `--state-dir` and `--stateDir`, a one-letter alias as `-k`. */
function severalValueFlags(active: CommandSpec | undefined): Set<string> {
  if (!active) return new Set();
  const o = declaredOptions(active);
  return typedForms(o.array, o.alias, false);
}

/** `value` (an argument, a list of them, or a message) with each stand-in of {@link operandsAsPositionals} back as its word. */
function putOperandsBack<T>(value: T, operands: readonly string[]): T {
  if (operands.length === 0) return value;
  const back = (text: string): string => text.replace(/\u0000(\d+)\u0000/g, (_, i: string) => operands[Number(i)] ?? '');
  if (typeof value === 'string') return back(value) as T;
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? back(v) : v)) as T;
  return value;
}

/**
 * The first argument that is not valid UTF-8 (`argument`: its place after the program name, from 1),
 * or undefined; `bytes` as `CliIo.argvBytes` gives them (undefined: not known, nothing refused).
 */
function argumentNotUtf8(bytes: readonly Uint8Array[] | undefined): { argument: number; bytes: Uint8Array } | undefined {
  const i = bytes?.findIndex((b) => !isUtf8(b)) ?? -1;
  return i < 0 ? undefined : { argument: i + 1, bytes: (bytes as readonly Uint8Array[])[i] as Uint8Array };
}

/** Parse argv; yargs prints nothing itself: help, version and errors come back to us. */
async function parse(given: string[], program: ProgramName, active: CommandSpec | undefined, width: number): Promise<{ args?: Record<string, unknown>; output?: string; error?: string }> {
  let several: Set<string> | undefined;
  let booleans: Set<string> | undefined;
  const { argv, operands } = operandsAsPositionals(given, () => (several ??= severalValueFlags(active)), () => (booleans ??= booleanFlags(active)));
  return new Promise((res) => {
    parser(program, active, width).parse(argv, {}, (err: Error | undefined, args: Record<string, unknown>, output: string) => {
      if (err) res({ error: putOperandsBack(err.message, operands), output });
      else res({ args: Object.fromEntries(Object.entries(args).map(([k, v]) => [k, putOperandsBack(v, operands)])), output });
    });
  });
}

/**
 * Run the CLI. Never throws and never exits the process.
 * @returns the exit code (SPEC §8)
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const wantsJson = asksForFlag(argv, 'json');
  const debug = asksForFlag(argv, 'debug');
  // Load only the module of the command being run: the first word that is not an option (nor the
  // value of one of the common options that take one: `snap --store S list` names list).
  const word = commandWord(argv);
  const entry = COMMANDS.find((c) => commandName(c) === word);
  const active = entry ? await entry.load() : undefined;
  const program = io.program ?? DEFAULT_PROGRAM_NAME;
  const columns = (io.stdout.isTTY && (io.stdout as { columns?: number }).columns) || DEFAULT_HELP_WIDTH;
  const width = Math.max(MIN_HELP_WIDTH, Math.min(MAX_HELP_WIDTH, columns));
  const notUtf8 = argumentNotUtf8(io.argvBytes);
  if (notUtf8 !== undefined) {
    const err = new SnapError('USAGE', `argument ${notUtf8.argument} (${escapeForTerminal(decodeNameBytes(notUtf8.bytes))}) is not valid UTF-8: snap would read it as another name (with U+FFFD in place of each bad byte); rename what it names, or name the folder that holds it`, { argument: notUtf8.argument, argumentHex: Buffer.from(notUtf8.bytes).toString('hex') });
    if (wantsJson) jsonOut(io, { ok: false, error: jsonErrorOf(err) });
    io.stderr.write(`${program}${word !== undefined && entry ? ` ${word}` : ''}: ${escapeMessage(err.message)} [${err.code}]\n`);
    return EXIT_USAGE;
  }
  const inherited = inheritedMemberFlag(argv);
  // A word that names no command is a usage error before anything else: with --help or --version,
  // yargs would print the general help or the version and exit 0 (`snap verfy --help`).
  const { args, output, error } =
    inherited !== undefined ? { error: `Unknown argument: ${inherited}` } : word !== undefined && entry === undefined ? { error: 'unknown command' } : await parse(argv, program, active, width);
  if (error !== undefined) {
    const message = active ? withChoices(withFlagValueMissing(withMissingFlags(withMissingPositionals(withFlagSuggestions(error, argv, active), active), active), active), active) : word !== undefined ? unknownCommand(word, program) : error;
    if (wantsJson) jsonOut(io, { ok: false, error: { code: 'USAGE', message } });
    // yargs writes some errors on several lines ("Invalid values:\n  Argument: …"): each is escaped, the breaks kept.
    const lines = message.split('\n').map(escapeMessage).join('\n');
    const who = active ? `${program} ${commandName(active)}` : program;
    const help = active ? `Run "${who} --help" for usage.` : `Run "${program} --help" (or "${program} <command> --help") for usage.`;
    io.stderr.write(`${who}: ${lines}\n${help}\n`);
    return EXIT_USAGE;
  }
  if (output) {
    io.stdout.write(indentContinuedExamples(output) + '\n');
    return EXIT_OK;
  }
  const a = args as Args;
  const cmd = String((a._ as unknown[])[0]);
  const handler = active && commandName(active) === cmd ? active.run : undefined;
  if (!handler) {
    io.stderr.write(`${program}: unknown command "${escapeForTerminal(cmd)}"; run "${program} --help"\n`);
    return EXIT_USAGE;
  }
  // A command that waits for a lock another snap holds says so (io/lock-wait-notice.ts), unless --quiet.
  const stopNotices = setLockWaitNotice((message) => {
    if (!a.quiet) io.stderr.write(`note: ${escapeMessage(message)}\n`);
  });
  try {
    // `-o ""` would resolve to the working folder: said as what it most likely is, before anything runs.
    if (a.out === '') throw new SnapError('USAGE', '-o/--out was given an empty value (an unset variable, such as $GITHUB_STEP_SUMMARY outside GitHub Actions?): give the file to write');
    // So would an empty --state-dir (the trusted state then kept in whatever folder the command runs
    // in) and an empty --store (that folder taken for the store).
    for (const flag of EMPTY_FOLDER_FLAGS) if (a[flag] === '') throw new SnapError('USAGE', `--${flag} was given an empty value (an unset variable?): give the folder, or leave the flag out for its default`);
    // A variable naming a folder that is not UTF-8 (SNAP_STORE=st$'\xff'): Node reads another folder (st\uFFFD).
    refusePathVariableNotUtf8(a, io.env, io.envBytes);
    // An S3 store (and its SDK) is loaded only when one is named.
    // (`retain` talks to its S3 store itself and `prune` refuses one; keygen, verify-proof and policy use no store; seal --out writes no store.)
    if (!['retain', 'prune', 'keygen', 'verify-proof', 'policy'].includes(cmd) && !(cmd === 'seal' && a.out !== undefined) && (a.retain !== undefined || a['retain-mode'] !== undefined || (typeof (a.store ?? io.env.SNAP_STORE) === 'string' && /^s3:\/\//i.test(String(a.store ?? io.env.SNAP_STORE))))) {
      const { runOnS3Store, s3StoreOf, retentionOf } = await import('./remote-store.js');
      const url = s3StoreOf(a, io);
      if (url) return await runOnS3Store(cmd, url, a, { ...io, argv }, handler);
      retentionOf(a, io); // --retain without an S3 store: USAGE
    }
    return await handler(a, { ...io, argv });
  } catch (e) {
    // Once a signal came, whatever the command stopped on, it was stopped by the signal.
    // (A command's own INTERRUPTED or TERMINATED is kept: its message may say what the command had done by then.)
    const err = commandErrorOf(e);
    const code = exitCodeFor(err.code);
    // (A command that streams its document and stopped in the middle has ended it with the error itself.)
    if (a.json && !isReportedInJson(err)) jsonOut(io, { ok: false, error: jsonErrorOf(err) });
    // The one place an error reaches the terminal: messages embed names and outside text, so
    // nothing in one is printed raw (its line breaks included: a message is one line).
    io.stderr.write(`${program} ${cmd}: ${escapeMessage(err.message)} [${err.code}]\n`);
    if (debug) io.stderr.write(`${((e as Error)?.stack ?? '').split('\n').map(escapeMessage).join('\n')}\n`);
    return code;
  } finally {
    stopNotices();
  }
}
