/**
 * What every command module shares: the I/O seam, argument helpers, and the command shape.
 * A command module parses nothing itself (yargs does, in `run.ts`) and exits nothing: it returns
 * an exit code, or throws a SnapError that `run.ts` maps through `exit-codes.ts`.
 */
import { isAbsolute, resolve, relative, sep } from 'node:path';
import type { FsckObjectSource } from '../ops/fsck.js';
import { existsSync } from 'node:fs';
import type { Argv, Options } from 'yargs';
import { SnapError, isSnapError } from '../core/errors.js';
import { LATEST } from '../trust/latest.js';
import { escapeForTerminal, escapeMessage } from '../core/display.js';
import type { TrustedKey } from '../core/envelope.js';
import { readPrivateKey, readPublicKey } from '../io/keyfile.js';
import { exposureWarning, keyFileExposure } from '../io/key-hygiene.js';
import type { PrivateKey } from '../core/keys.js';
import { resolveRef, storePath, type SnapshotLocation } from '../io/store.js';
import { looksLikePath } from '../core/refs.js';
import { appendAudit, type AppendResult } from '../io/audit-log.js';
import { interruptedBy, interruptionOf } from '../io/interrupt.js';
import { EXIT_INTEGRITY, EXIT_OK, exitCodeFor } from './exit-codes.js';
import { DEFAULT_PROGRAM_NAME, PROGRAM_NAMES, type ProgramName } from './program-name.js';
import { unexpectedMessage } from './crash.js';
import { jsonDocument } from './json-stdout.js';

/** Where the CLI reads and writes; `process` by default, replaced in tests. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Where a passphrase prompt reads from (only when it is a terminal). */
  stdin?: NodeJS.ReadStream;
  /** The command line as given (after `snap`), set by `runCli`; recorded by `seal` as provenance. */
  argv?: readonly string[];
  /**
   * The command line's arguments as the bytes the process was given, when known (`io/argv-bytes.ts`):
   * `runCli` refuses an argument that is not UTF-8, which Node hands over with U+FFFD in place of
   * its bad bytes — another name than the one typed.
   */
  argvBytes?: readonly Uint8Array[];
  /**
   * The values of the environment variables that name a folder (`path-variables.ts`) as the bytes
   * the process was given, for those that hold U+FFFD (`io/environ-bytes.ts`): `runCli` refuses one
   * this run reads that is not UTF-8, as it refuses such an argument.
   */
  envBytes?: ReadonlyMap<string, Uint8Array>;
  /** The name the program was invoked as, for usage, help and error lines (default `snap`; see `program-name.ts`). */
  program?: ProgramName;
  /**
   * Set for a command run on an S3 store's working copy (`cli/remote-store.ts`): fsck re-hashes the
   * store's objects through it, as they stream from the bucket, instead of reading the copy's.
   */
  storeObjects?: FsckObjectSource;
  /**
   * Set for a command run on an S3 store's working copy: `--store` as the user gave it (`undefined`
   * when it came from `$SNAP_STORE`), for what a command writes into a file rather than prints
   * (the report's restore command); `url`, the store's location as the S3 store resolves it,
   * `s3://BUCKET/PREFIX/` (`s3://BUCKET/` for a whole bucket) however it was given — the name the
   * trusted state keeps it by. `a.store` and `$SNAP_STORE` are then the working copy's path.
   * `endpoint`: AWS_ENDPOINT_URL(_S3) when one is set (s3/client.ts `readS3Settings`), as a URL
   * parses it: the same `s3://BUCKET/PREFIX/` on another endpoint is another store.
   */
  givenStore?: { store: string | undefined; url: string; endpoint?: string };
  /**
   * Set for a command run on an S3 store's working copy: `fn` runs once what the command wrote is
   * pushed to the bucket — never when the push fails, nor when the process dies before. For what
   * this machine must not remember ahead of the store (the trusted state's checkpoint and log
   * origin of `log checkpoint`). Without it (a local store) the command does it at once.
   */
  afterPush?: (fn: () => Promise<void>) => void;
  /**
   * Set with {@link afterPush}: what the push uploaded, read in an `afterPush` function — objects
   * the bucket did not hold, and their bytes. An object the bucket held already (of another
   * snapshot, or planted there of the right size) is not uploaded, nor read.
   */
  pushed?: () => { objectsUploaded: number; bytesUploaded: number };
  /**
   * On an S3 store's working copy: whether this command made the S3 store so far (`init` before it
   * runs; seal and import only before their first upload, FORMAT.md §23.1). The working copy is
   * always a store, so it cannot tell.
   */
  storeMade?: () => boolean;
}

/** The common flags (SPEC §8); `--json` and `--debug` every command takes, the others those that use them. */
export interface Common {
  store?: string;
  json?: boolean;
  quiet?: boolean;
  jobs?: number;
  debug?: boolean;
}

/** Parsed arguments of a command. */
export type Args = Record<string, unknown> & Common;

/** One subcommand: its yargs declaration and what it runs. */
export interface CommandSpec {
  /** yargs command string, e.g. `seal <dir>`. */
  command: string;
  describe: string;
  builder: (y: Argv) => Argv;
  /** Runs the command; returns the exit code (SPEC §8). */
  run: (args: Args, io: CliIo) => Promise<number>;
}

/**
 * Write `text` on `stream` and, when the stream asks the writer to wait (write returned false),
 * wait for its 'drain' — or for its 'error' or 'close': a stream whose write failed (a full disk,
 * `> /dev/full`) or whose reader went away (EPIPE) never drains, and a command waiting for it would
 * never finish (Node would exit 0 with the promise pending, its exit code and its stdout-failure
 * message lost: broken-pipe.ts). A stream that has already failed or closed is not waited for.
 */
export async function writeWaitingForDrain(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (stream.write(text)) return;
  const s = stream as NodeJS.WritableStream & { errored?: unknown; destroyed?: boolean; closed?: boolean };
  if (s.errored || s.destroyed || s.closed) return;
  await new Promise<void>((done) => {
    const finish = (): void => {
      stream.off('drain', finish);
      stream.off('error', finish);
      stream.off('close', finish);
      done();
    };
    stream.once('drain', finish);
    stream.once('error', finish);
    stream.once('close', finish);
  });
}

/** Write one JSON document on stdout, as every one is written (json-stdout.ts `jsonDocument`: terminal controls in names escaped). */
export function jsonOut(io: CliIo, value: unknown): void {
  io.stdout.write(jsonDocument(value));
}

/**
 * The error a command stopped with, as `runCli` reports it: once a signal came, the interruption
 * (`INTERRUPTED` / `TERMINATED`) whatever the command stopped on; a SnapError as it is; anything
 * else `INTERNAL` ({@link unexpectedMessage}).
 */
export function commandErrorOf(e: unknown): SnapError {
  return interruptedBy() ? interruptionOf(e) : isSnapError(e) ? e : new SnapError('INTERNAL', unexpectedMessage(e), undefined, { cause: e });
}

/** The `error` member of a `--json` error document (README, "--json"): `{code, message, details?}`. */
export function jsonErrorOf(err: SnapError): { code: string; message: string; details?: Record<string, unknown> } {
  return { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
}

/** Errors a command has already reported in the `--json` document it streamed (see {@link reportedInJson}). */
const REPORTED_IN_JSON = new WeakSet<SnapError>();

/**
 * Mark `err` as reported in the `--json` document the command streamed (which it ended with
 * `"ok": false` and `"error"`, since a document already begun cannot be replaced): `runCli` then
 * writes no error document of its own, which would make two on stdout, and still prints the error
 * on stderr and exits with its code.
 * @returns `err`, to throw
 */
export function reportedInJson(err: SnapError): SnapError {
  REPORTED_IN_JSON.add(err);
  return err;
}

/** Whether {@link reportedInJson} marked `err`. */
export function isReportedInJson(err: SnapError): boolean {
  return REPORTED_IN_JSON.has(err);
}

/** Most hashing worker threads `--jobs` may ask for. */
export const MAX_JOBS = 256;
/** Largest `--threshold` accepted at all (it must also be at most the number of `--pubkey` keys). */
export const MAX_THRESHOLD = 1000;

/**
 * Read a flag's value as a whole number from `min` to `max`. The text is checked as given (yargs
 * is told not to parse numbers), so `abc`, `1.5`, `-1`, `1e3`, `0x10` and an empty value are refused,
 * showing what was given.
 * @throws SnapError `USAGE`
 */
export function parseWholeNumber(flag: string, value: unknown, min: number, max: number): number {
  if (Array.isArray(value)) throw new SnapError('USAGE', `--${flag} was given ${value.length} times (${value.map((v) => JSON.stringify(String(v))).join(', ')}); it takes one value`);
  const text = String(value);
  const n = /^[0-9]{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw new SnapError('USAGE', `--${flag} takes a whole number from ${min} to ${max}; got ${JSON.stringify(text)}`);
  return n;
}

/** A yargs option whose value is a whole number from `min` to `max`, checked by {@link parseWholeNumber}. */
export function wholeNumberOption(flag: string, describe: string, min: number, max: number, dflt?: number): Options {
  return {
    requiresArg: true,
    describe,
    ...(dflt !== undefined ? { default: dflt } : {}),
    coerce: (v: unknown) => parseWholeNumber(flag, v, min, max),
  };
}

/**
 * Declare the common flags a command takes, besides `--json` and `--debug` (which every command
 * takes): `store` when it reads or writes a store; `quiet` (with what it leaves out for this
 * command) when it has progress or notes to silence; `jobs` when it hashes files (`true`), or what
 * its workers do and their default when that is not hashing with one per core (a string).
 */
export function commonFlags(y: Argv, flags: { store?: boolean; quiet?: string; jobs?: boolean | string }): Argv {
  if (flags.store) y = y.option('store', { type: 'string', requiresArg: true, describe: 'store folder or s3://BUCKET/PREFIX (default: $SNAP_STORE unless empty, else ./.snap)' });
  if (flags.quiet) y = y.option('quiet', { alias: 'q', type: 'boolean', describe: flags.quiet });
  const jobs = typeof flags.jobs === 'string' ? flags.jobs : `worker threads for hashing, and for reading record files (one file each), 1 to ${MAX_JOBS} (default: the number of cores)`;
  if (flags.jobs) y = y.option('jobs', { alias: 'j', ...wholeNumberOption('jobs', jobs, 1, MAX_JOBS) });
  return y;
}

/** yargs lays out each example line with two columns of padding on either side (its usage.js). */
const EXAMPLE_PADDING = 4;

/** The longest name `$0` in an example becomes ({@link PROGRAM_NAMES}): lines are measured with it. */
const LONGEST_PROGRAM_NAME = Math.max(...PROGRAM_NAMES.map((n) => n.length));

/**
 * Add examples to a command's help as shell lines: a `# what it does` comment line, then the
 * command on a line of its own (yargs would lay them out in two half-width columns, splitting a
 * long command over several lines). Lines that would not fit the help's width are broken here, not
 * by yargs: a command at a space outside quotes, ending the line with ` \` (a shell line
 * continuation), a comment at a space, each line starting `# `. Pasted into a shell, an example
 * then runs as the one command it is, at any terminal width.
 */
export function withExamples(y: Argv, list: readonly (readonly [command: string, what: string])[]): Argv {
  // The builder runs once the parser's width is set (run.ts); null when wrapping is off.
  const wrap = (y as unknown as { getInternalMethods(): { getUsageInstance(): { getWrap(): number | null } } }).getInternalMethods().getUsageInstance().getWrap();
  const room = wrap ? wrap - EXAMPLE_PADDING : Infinity;
  for (const [command, what] of list) y = y.example(commentLines(what, room), '').example(commandLines(command, room), '');
  return y;
}

/** The width of an example line as printed: `$0` becomes the program's name, at most {@link LONGEST_PROGRAM_NAME} long. */
function printedWidth(line: string): number {
  return line.replace(/\$0/g, 'x'.repeat(LONGEST_PROGRAM_NAME)).length;
}

/** `# what`, broken at spaces into lines of at most `room` columns, each starting `# `. */
function commentLines(what: string, room: number): string {
  const lines: string[] = [];
  for (const word of what.split(' ')) {
    const last = lines.length - 1;
    if (last >= 0 && printedWidth(`${lines[last]} ${word}`) <= room) lines[last] += ` ${word}`;
    else lines.push(`# ${word}`);
  }
  return lines.join('\n');
}

/**
 * How much deeper than its command a continued line of an example is indented. yargs' layout
 * (cliui) trims the start of every line it wraps, so {@link indentContinuedExamples} adds it to the
 * printed help; {@link commandLines} leaves room for it.
 */
const CONTINUED_INDENT = '  ';

/**
 * A shell command broken at spaces outside quotes into lines of at most `room` columns, each but
 * the last ending ` \`, the lines after the first {@link CONTINUED_INDENT} narrower (a word longer
 * than a line stays whole).
 */
function commandLines(command: string, room: number): string {
  const words: string[] = [];
  let word = '';
  let quote = '';
  for (const c of command) {
    if (quote) quote = c === quote ? '' : quote;
    else if (c === "'" || c === '"') quote = c;
    else if (c === ' ') {
      if (word) words.push(word);
      word = '';
      continue;
    }
    word += c;
  }
  if (word) words.push(word);
  const CONTINUATION = ' \\';
  const lines: string[] = [];
  let line = '';
  words.forEach((w, i) => {
    const longer = line ? `${line} ${w}` : w;
    const isLast = i === words.length - 1;
    const indent = lines.length > 0 ? CONTINUED_INDENT.length : 0;
    if (!line || indent + printedWidth(longer) + (isLast ? 0 : CONTINUATION.length) <= room) line = longer;
    else {
      lines.push(line + CONTINUATION);
      line = w;
    }
  });
  lines.push(line);
  return lines.join('\n');
}

/**
 * Help text with each continued line of an example (one after a command line ending ` \\`)
 * indented {@link CONTINUED_INDENT} deeper than the line the command starts on, so that it reads
 * as part of that command. Only the `Examples:` block is touched.
 */
export function indentContinuedExamples(help: string): string {
  const lines = help.split('\n');
  let inExamples = false;
  let command: string | undefined; // the indent of the command being continued
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === 'Examples:') inExamples = true;
    else if (line === '') inExamples = false;
    if (!inExamples || line === 'Examples:') continue;
    const body = line.trimStart();
    if (command !== undefined) lines[i] = command + CONTINUED_INDENT + body;
    const continues = !body.startsWith('#') && line.endsWith(' \\');
    command = continues ? (command ?? line.slice(0, line.length - body.length)) : undefined;
  }
  return lines.join('\n');
}

/** `--pubkey` (repeatable) and `--threshold`, for the commands that check signatures. */
export function trustFlags(y: Argv): Argv {
  return y
    .option('pubkey', { type: 'string', array: true, requiresArg: true, demandOption: true, describe: 'trusted public key file (SPKI PEM); required, repeatable' })
    .option('threshold', wholeNumberOption('threshold', 'how many distinct trusted keys must have signed (default: 1)', 1, MAX_THRESHOLD, 1));
}

/**
 * Validate `--jobs` (already parsed by {@link wholeNumberOption} on the command line).
 * @throws SnapError `USAGE`
 */
export function checkJobs(jobs: unknown): number | undefined {
  return jobs === undefined ? undefined : parseWholeNumber('jobs', jobs, 1, MAX_JOBS);
}

/**
 * `--threshold` (already parsed by {@link wholeNumberOption} on the command line; 1 when not given).
 * A threshold above the number of `--pubkey` keys is not refused here: it cannot be met, and the
 * trust check says so (exit 1).
 * @throws SnapError `USAGE`
 */
export function checkThreshold(a: Args): number {
  return parseWholeNumber('threshold', a.threshold ?? 1, 1, MAX_THRESHOLD);
}

/**
 * Say on stderr (unless `--quiet`) that `--threshold` asks for more keys than the distinct
 * `--pubkey` keys given, so that no `what` can pass (a key counts once, however many files hold
 * it). The check still runs and fails: a failed check is a result.
 */
export function noteThresholdAboveKeys(threshold: number, trusted: readonly TrustedKey[], a: Args, io: CliIo, what: string): void {
  const distinct = new Set(trusted.map((k) => k.keyid)).size;
  if (distinct > 0 && distinct < threshold && !a.quiet) {
    io.stderr.write(`note: --threshold ${threshold} asks for more keys than the ${distinct} distinct --pubkey key${distinct === 1 ? '' : 's'} given: no ${what} can pass; give ${threshold} or more --pubkey keys, or a lower --threshold\n`);
  }
}

/**
 * The passphrase named by `--passphrase-env VAR` (never taken from the command line itself, SPEC §6).
 * An unset variable and an empty one are told apart (a CI secret that was never set, or set to
 * nothing, are different mistakes).
 * @throws SnapError `KEY_PASSPHRASE_REQUIRED` when the variable is unset; `KEY_PASSPHRASE_EMPTY`
 *   when it is set but empty (an empty passphrase protects nothing); both with `details.variable`
 */
export function passphrase(io: CliIo, envName: unknown): string | undefined {
  if (envName === undefined) return undefined;
  const name = String(envName);
  // The environment's own variables only: `io.env[name]` of __proto__, constructor or toString is a
  // member every object inherits (an object or a function), not a variable that is set.
  const v = Object.prototype.hasOwnProperty.call(io.env, name) ? io.env[name] : undefined;
  if (v === undefined) throw new SnapError('KEY_PASSPHRASE_REQUIRED', `--passphrase-env ${name}: that environment variable is not set`, { variable: name });
  if (v === '') throw new SnapError('KEY_PASSPHRASE_EMPTY', `--passphrase-env ${name}: that environment variable is set but empty; an empty passphrase protects nothing (set it to the passphrase, or leave --passphrase-env out for an unencrypted key)`, { variable: name });
  return v;
}

/**
 * The signing key of `--key`: decrypted with `--passphrase-env VAR` when given; an encrypted key
 * without it is asked for on the terminal (SPEC §6), or refused when there is none.
 * With several `--key`, the first (see {@link signingKeys} for all of them).
 * @throws SnapError from readPrivateKey (`NOT_FOUND`, `KEY_MALFORMED`, `KEY_NOT_ED25519`,
 *   `KEY_PASSPHRASE_REQUIRED`, `KEY_PASSPHRASE_WRONG`)
 */
export async function signingKey(io: CliIo, a: Args): Promise<PrivateKey> {
  return (await signingKeys(io, a))[0] as PrivateKey;
}

/**
 * Every signing key of `--key` (repeatable), in the order given, each read as {@link signingKey}
 * reads one; `--passphrase-env` applies to each encrypted key.
 * @throws SnapError `USAGE` (no `--key`) and the codes of {@link signingKey}
 */
export async function signingKeys(io: CliIo, a: Args): Promise<PrivateKey[]> {
  const paths = (Array.isArray(a.key) ? a.key : a.key === undefined ? [] : [a.key]).map(String);
  if (paths.length === 0) throw new SnapError('USAGE', 'give a signing key with --key KEY');
  const given = passphrase(io, a['passphrase-env']);
  const keys: PrivateKey[] = [];
  for (const p of paths) {
    const path = resolve(io.cwd, p);
    // Only a file that is a private key gets the chmod warning: a .pub or a data file given as
    // --key is KEY_MALFORMED alone, not "the private key … can be accessed by others".
    const warnIfExposed = async (): Promise<void> => {
      const exposed = await keyFileExposure(path);
      if (exposed) io.stderr.write(escapeMessage(exposureWarning(exposed)) + '\n');
    };
    try {
      keys.push(await readPrivateKey(path, { passphrase: given }));
      await warnIfExposed();
    } catch (e) {
      const encrypted = e instanceof SnapError && (e.code === 'KEY_PASSPHRASE_REQUIRED' || e.code === 'KEY_PASSPHRASE_WRONG');
      if (encrypted) await warnIfExposed(); // an encrypted private key: warn before refusing it or prompting
      if (given !== undefined || !(e instanceof SnapError) || e.code !== 'KEY_PASSPHRASE_REQUIRED' || !io.stdin?.isTTY) throw e;
      const { promptPassphrase } = await import('./prompt.js');
      keys.push(await readPrivateKey(path, { passphrase: await promptPassphrase(`passphrase for ${escapeForTerminal(p)}: `, { input: io.stdin, output: io.stderr as NodeJS.WriteStream }) }));
    }
  }
  return keys;
}

/** Read `--pubkey` files. @throws SnapError from readPublicKey (`NOT_FOUND`, `KEY_MALFORMED`, `KEY_NOT_ED25519`) */
export async function trustedKeys(paths: string[], cwd: string): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const p of paths) keys.push(await readPublicKey(resolve(cwd, p)));
  return keys;
}

/**
 * When `text` looks like a path (see `looksLikePath`: it holds a `/`, starts with `.` or ends in
 * `.snap.tar`) and nothing is there, say so, naming it, rather than calling it a malformed ref.
 * @param what what the path was meant to be, e.g. "snapshot folder or archive"
 * @throws SnapError `NOT_FOUND`
 */
export function mustExistIfPath(text: string, io: CliIo, what: string): void {
  if (!looksLikePath(text)) return;
  const p = resolve(io.cwd, text);
  if (!existsSync(p)) throw new SnapError('NOT_FOUND', `${text} does not exist (no ${what} there)`, { path: p });
}

/**
 * Resolve a ref, accepting snapshot folders relative to cwd.
 * @throws SnapError `NOT_FOUND` (a path with nothing there) and the codes of `resolveRef`
 */
export async function locate(text: string, io: CliIo, store: string): Promise<SnapshotLocation> {
  mustExistIfPath(text, io, 'snapshot folder or archive');
  const asPath = resolve(io.cwd, text);
  if (looksLikePath(text)) return resolveRef(asPath, store).then((l) => ({ ...l, ref: text }));
  return resolveRef(text, store).catch((e: unknown) => {
    // `snap show d@latest`: only verify --against picks the newest trusted snapshot; here "latest" is a VERSION like any other.
    if (isSnapError(e, 'REF_NOT_FOUND') && text.endsWith(`@${LATEST}`)) {
      throw new SnapError('REF_NOT_FOUND', `${e.message}; NAME@${LATEST} (the newest trusted snapshot) is taken only by verify --against: give a VERSION here`, e.details, { cause: e });
    }
    throw e;
  });
}

/**
 * `--parent REF` of seal, with a snapshot folder path resolved against the working folder.
 * @throws SnapError `NOT_FOUND` (a path with nothing there)
 */
export function parentRef(a: Args, io: CliIo): string | undefined {
  if (typeof a.parent !== 'string') return undefined;
  mustExistIfPath(a.parent, io, 'snapshot folder');
  return looksLikePath(a.parent) ? resolve(io.cwd, a.parent) : a.parent;
}

/**
 * Say on stderr that a command made a new store (always, even with --quiet or --json, whose
 * report carries `storeCreated: true`): making a store is never silent.
 */
export function announceNewStore(io: CliIo, created: boolean, store: string): void {
  if (created) io.stderr.write(`${io.program ?? DEFAULT_PROGRAM_NAME}: made a new store at ${escapeForTerminal(store)}\n`);
}

/**
 * The store folder, when it lies inside `dir` (`seal --out`): then its own layout is left out of the
 * walk, and whatever else lies under it is data (io/store-layout.ts).
 */
export function storeInside(dir: string, store: string): string[] {
  return isInside(store, dir) && resolve(store) !== resolve(dir) ? [store] : [];
}

/** True when `path` is `root` or lies under it (both as given, made absolute; no link is followed). */
export function isInside(path: string, root: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * The store whose layout to leave out of a comparison of dataset folders with snapshots (`verify`,
 * `diff`, `check`, `report`, `drill`): `store`, only when one of the snapshots compared was read
 * from it — it is then that store, whose own files (io/store-layout.ts) are no data; anything else
 * under its folder is. Otherwise none: a folder at the store's path (the default
 * `./.snap`, `$SNAP_STORE`) is data like any other, and what it holds is compared. Before, it was
 * left out whatever it held: a `.snap/poison.jpg` planted in the dataset passed `verify` of an
 * archive run from the dataset folder (exit 0), with no store there — and a loader that lists the
 * folder (torchvision's `ImageFolder`: `.snap` is a class) reads it.
 * @param snapshots the folders the snapshots compared were read from (undefined for a folder side)
 */
export function storeReadFrom(store: string, snapshots: readonly (string | undefined)[]): string[] {
  return snapshots.some((d) => d !== undefined && d !== '' && isInside(d, store)) ? [store] : [];
}

/** What a command records in the store's audit log: its verdict, or the error that stopped it. */
export type AuditInput = { command: string; ref?: string; snapshot?: string; details?: Record<string, unknown> } & (
  | { outcome: 'ok' | 'failed'; exit?: number }
  | { error: unknown }
);

/**
 * Append one line to the audit log of the store at `storeRoot` (`STORE/log.jsonl`, see
 * `io/audit-log.ts`). Never throws. `exit` defaults to 0 for `ok` and 1 for `failed`; an `error`
 * is recorded as outcome `error` with its SnapError code and exit code.
 * When there is no store there, nothing is written and nothing is said (e.g. verify against a
 * snapshot folder with no store); when the store cannot be written (read-only mount, another
 * user's store), a note goes to stderr unless `quiet`, and the result says why.
 * @returns `{ written: true, seq }` or `{ written: false, reason, noStore? }`
 */
export async function audit(io: CliIo, storeRoot: string, input: AuditInput, opts: { quiet?: boolean } = {}): Promise<AppendResult> {
  const { command, ref, snapshot, details } = input;
  const base = { command, ...(ref !== undefined ? { ref } : {}), ...(snapshot !== undefined ? { snapshot } : {}), ...(details !== undefined ? { details } : {}) };
  let r: AppendResult;
  try {
    if ('error' in input) {
      const code = isSnapError(input.error) ? input.error.code : 'INTERNAL';
      r = await appendAudit(storeRoot, { ...base, outcome: 'error', exit: exitCodeFor(code), error: code }, io.env);
    } else {
      r = await appendAudit(storeRoot, { ...base, outcome: input.outcome, exit: input.exit ?? (input.outcome === 'ok' ? EXIT_OK : EXIT_INTEGRITY) }, io.env);
    }
  } catch (e) {
    r = { written: false, reason: (e as Error)?.message ?? String(e) };
  }
  if (!r.written && !r.noStore && !opts.quiet) io.stderr.write(`note: audit log not written: ${escapeMessage(r.reason)}\n`);
  return r;
}

/**
 * Wrap a command's `run` so that an error that stops it is recorded in the audit log (outcome
 * `error`) before it propagates; the verdicts themselves are recorded by the command. After a
 * SIGINT / SIGTERM the error recorded and thrown is `INTERRUPTED` / `TERMINATED` (exit 130 / 143).
 * @param refOf the ref the command was given, from its arguments
 */
export function auditErrors(command: string, refOf: (a: Args) => unknown, run: CommandSpec['run']): CommandSpec['run'] {
  return async (a, io) => {
    try {
      return await run(a, io);
    } catch (e) {
      const ref = refOf(a);
      const err = interruptedBy() ? interruptionOf(e) : e; // recorded as INTERRUPTED / TERMINATED
      await audit(io, storePath(a.store, io.env, io.cwd), { command, ...(ref !== undefined ? { ref: String(ref) } : {}), error: err }, { quiet: true });
      throw err;
    }
  };
}
