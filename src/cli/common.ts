/**
 * What every command module shares: the I/O seam, argument helpers, and the command shape.
 * A command module parses nothing itself (yargs does, in `run.ts`) and exits nothing: it returns
 * an exit code, or throws a SnapError that `run.ts` maps through `exit-codes.ts`.
 */
import { resolve, relative } from 'node:path';
import { existsSync } from 'node:fs';
import type { Argv } from 'yargs';
import { SnapError, isSnapError } from '../core/errors.js';
import { escapeForTerminal, escapeMessage } from '../core/display.js';
import type { TrustedKey } from '../core/envelope.js';
import { readPrivateKey, readPublicKey } from '../io/keyfile.js';
import { exposureWarning, keyFileExposure } from '../io/key-hygiene.js';
import type { PrivateKey } from '../core/keys.js';
import { resolveRef, storePath, type SnapshotLocation } from '../io/store.js';
import { appendAudit, type AppendResult } from '../io/audit-log.js';
import { interruptedBy, interruptedError } from '../io/interrupt.js';
import { EXIT_INTEGRITY, EXIT_OK, exitCodeFor } from './exit-codes.js';
import type { ProgramName } from './program-name.js';

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
  /** The name the program was invoked as, for usage, help and error lines (default `snap`; see `program-name.ts`). */
  program?: ProgramName;
}

/** Flags every command takes. */
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

/** Write one JSON document on stdout. */
export function jsonOut(io: CliIo, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/**
 * Validate `--jobs`.
 * @throws SnapError `USAGE`
 */
export function checkJobs(jobs: unknown): number | undefined {
  if (jobs === undefined) return undefined;
  if (typeof jobs !== 'number' || !Number.isSafeInteger(jobs) || jobs < 1 || jobs > 256) throw new SnapError('USAGE', `--jobs must be a whole number from 1 to 256, got ${String(jobs)}`);
  return jobs;
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
  const v = io.env[name];
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
    const exposed = await keyFileExposure(path);
    if (exposed) io.stderr.write(escapeMessage(exposureWarning(exposed)) + '\n');
    try {
      keys.push(await readPrivateKey(path, { passphrase: given }));
    } catch (e) {
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

/** Resolve a ref, accepting snapshot folders relative to cwd. */
export async function locate(text: string, io: CliIo, store: string): Promise<SnapshotLocation> {
  const asPath = resolve(io.cwd, text);
  if ((text.includes('/') || text.startsWith('.')) && existsSync(asPath)) return resolveRef(asPath, store).then((l) => ({ ...l, ref: text }));
  return resolveRef(text, store);
}

/** The store folder, when it lies inside `dir` (then it is left out of the walk). */
export function storeInside(dir: string, store: string): string[] {
  const rel = relative(resolve(dir), store);
  return rel !== '' && !rel.startsWith('..') ? [store] : [];
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
      const err = interruptedBy() ? interruptedError() : e; // recorded as INTERRUPTED / TERMINATED
      await audit(io, storePath(a.store, io.env, io.cwd), { command, ...(ref !== undefined ? { ref: String(ref) } : {}), error: err }, { quiet: true });
      throw err;
    }
  };
}
