/** `snap log [name]`: show the store's audit log, or check its hash chain with `--verify`. */
import { storePath, openStore } from '../../io/store.js';
import { logRows, verifyLog, type LogRow, type LogVerification } from '../../io/audit-log.js';
import { NAME_RE, NAME_RULE_TEXT } from '../../core/refs.js';
import { SnapError, isSnapError } from '../../core/errors.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { plural, shortId, shortKeyid, styler } from '../format.js';
import { escapeForTerminal as shown, escapeMessage } from '../../core/display.js';
import { jsonOut, writeWaitingForDrain, commonFlags, signingKeys, trustedKeys, audit, type Args, type CliIo, type CommandSpec, withExamples } from '../common.js';
import { JSON_STREAM_CHUNK_CHARS, JsonStream } from '../json-stream.js';
import { checkInterrupted } from '../../io/interrupt.js';
import { makeCheckpoint, prepareCheckpointCheck, readCheckpointFile, recordsCheckpoint, rememberCheckpoint, rememberLogOrigin, type CheckpointVerification, type PreparedCheckpointCheck, type RememberedCheckpoints } from '../../trust/log-checkpoints.js';
import { STATE_FILE, readState, stateDir, updateState } from '../../trust/state.js';
import type { Checkpoint } from '../../core/signed-note.js';
import { writeOutputFile } from '../../io/output-temp.js';
import type { PrivateKey } from '../../core/keys.js';
import { join, resolve } from 'node:path';
import { STATE_DIR_OPTION } from '../trust-args.js';
import { storeIdentities, storeLookupNames } from '../store-identity.js';

/** The NAME part of a `NAME@VERSION` ref, if it is one. */
function nameOf(ref: string | undefined): string | undefined {
  const at = ref?.indexOf('@') ?? -1;
  return ref !== undefined && at > 0 ? ref.slice(0, at) : undefined;
}

function outcomeText(row: LogRow): string {
  const e = row.entry;
  if (!e) return row.complete ? '(malformed line)' : '(torn line)';
  const parts = [e.outcome === 'error' ? `error ${e.error ?? ''}`.trim() : e.outcome];
  if (e.exit !== undefined && e.exit !== 0) parts.push(`(exit ${e.exit})`);
  if (e.recovered) parts.push(`[sealed off ${e.recovered.bytes} torn bytes]`);
  return shown(parts.join(' ')); // from an unsigned line: escaped for a terminal
}

/** The flags each form of `snap log` uses; another form given one is a usage error, not a flag ignored. */
const FORM_FLAGS = {
  checkpoint: ['key', 'passphrase-env', 'origin', 'out', 'state-dir'],
  verify: ['pubkey', 'checkpoint', 'origin', 'state-dir'],
  list: [],
} as const satisfies Record<string, readonly string[]>;

/**
 * Refuse a flag of another form of `snap log`: `snap log --pubkey K --checkpoint F`, with
 * `--verify` forgotten, would list the log and exit 0, having checked nothing.
 * @throws SnapError `USAGE`
 */
function refuseOtherFormsFlags(a: Args, form: keyof typeof FORM_FLAGS): void {
  const uses: readonly string[] = FORM_FLAGS[form];
  const all = new Set<string>(Object.values(FORM_FLAGS).flat());
  const what = { checkpoint: 'log checkpoint', verify: 'log --verify', list: 'listing the log' }[form];
  for (const flag of all) {
    if (uses.includes(flag) || a[flag] === undefined) continue;
    const users = (Object.keys(FORM_FLAGS) as (keyof typeof FORM_FLAGS)[]).filter((f) => (FORM_FLAGS[f] as readonly string[]).includes(flag)).map((f) => (f === 'checkpoint' ? 'log checkpoint' : '--verify'));
    throw new SnapError('USAGE', `${what} takes no --${flag} (it is for ${users.join(' and ')})`);
  }
}

async function cmdLog(a: Args, io: CliIo): Promise<number> {
  // Checked here, not by yargs' conflicts(): its message would call the positional NAME "--name".
  if (a.verify && a.name === CHECKPOINT_ACTION) throw new SnapError('USAGE', 'log checkpoint takes no --verify (check the log with "log --verify", then sign it)');
  if (a.verify && a.name !== undefined) throw new SnapError('USAGE', `log --verify checks the whole log: it takes no NAME (given ${JSON.stringify(String(a.name))})`);
  refuseOtherFormsFlags(a, a.name === CHECKPOINT_ACTION ? 'checkpoint' : a.verify ? 'verify' : 'list');
  if (a.name === CHECKPOINT_ACTION) return cmdCheckpoint(a, io);
  const store = await openStore(storePath(a.store, io.env, io.cwd));
  const name = a.name as string | undefined;
  if (name !== undefined && !NAME_RE.test(name)) throw new SnapError('USAGE', `"${shown(name)}" is not a dataset NAME (${NAME_RULE_TEXT})`);
  if (a.verify) {
    // The checkpoint check shares verifyLog's pass over the log (read once): begun here, finished below.
    const begun = await beginCheckpointCheck(a, io, store.root, a.origin !== undefined ? String(a.origin) : undefined, (a.checkpoint as string[] | undefined) ?? []);
    const v = await verifyLog(store.root, 'prepared' in begun ? { leaves: begun.prepared.leaves } : {});
    const pubkeys = await trustedKeys((a.pubkey as string[] | undefined) ?? [], io.cwd);
    const external = [];
    for (const f of (a.checkpoint as string[] | undefined) ?? []) external.push(await readCheckpointFile(resolve(io.cwd, f)));
    const state = await keptCheckpoints(a, io);
    // The log's origin: --origin, else the one this machine kept for this store (signed or verified
    // signed here before), so that another store's log copied in fails even without --origin.
    const storeIds = await storeIdentities(store.root, io);
    const pinned = a.origin === undefined && state ? keptOrigin(state.origins, await storeLookupNames(store.root, io)) : undefined;
    const origin = a.origin !== undefined ? String(a.origin) : pinned;
    if ('failure' in begun) throw begun.failure;
    const c = await begun.prepared.finish({ pubkeys, external, ...(state ? { remembered: state.remembered } : {}), ...(origin !== undefined ? { origin } : {}), ...(pinned !== undefined ? { originFrom: `the origin this machine kept for this store in ${state?.remembered.source}; if the store was made anew, give --origin` } : {}) });
    const ok = v.ok && c.ok;
    // A newest checkpoint verified signed by a given key is kept: from now on the log must extend it on this machine.
    if (state && c.ok && c.newest && c.newest.signedBy.length > 0) {
      const n = c.newest;
      await state.keep({ origin: n.origin, size: n.size, root: Buffer.from(n.root, 'hex'), extensions: [] });
      for (const id of storeIds) await state.keepOrigin(id, n.origin, a.origin !== undefined);
    }
    const { last, ...chain } = v;
    if (a.json) jsonOut(io, { store: store.root, ...chain, ok, chainOk: v.ok, checkpoints: c });
    else {
      const s = styler(!!io.stdout.isTTY && !io.env.NO_COLOR);
      const out = v.ok
        ? [`${s.green(s.bold('OK'))}    ${shown(store.root)}/log.jsonl: ${plural(v.lines, 'line')}, chain intact through seq ${v.lastSeq}, log.head agrees`]
        : [
            `${s.red(s.bold('FAIL'))}  ${shown(store.root)}/log.jsonl: ${plural(v.problems.length + v.unlisted, 'problem')}`,
            ...v.problems.map((p) => `  ${p.kind}: ${escapeMessage(p.message)}`),
            ...(v.unlisted > 0 ? [`  … and ${plural(v.unlisted, 'more problem')}, not listed (the first ${v.problems.length} are)`] : []),
          ];
      for (const r of v.recovered) out.push(`  note: line ${r.line} is a torn append (${plural(r.bytes, 'byte')}) sealed off and recorded by the line after it`);
      out.push(...checkpointLines(c, pubkeys.length > 0, s, last));
      io.stdout.write(out.join('\n') + '\n');
    }
    return ok ? EXIT_OK : EXIT_INTEGRITY;
  }
  return listLog(io, store.root, name, !!a.json);
}

/** Text of the table written to stdout is gathered up to this many characters before a write (and a wait for `drain`). */
const LIST_CHUNK_CHARS = JSON_STREAM_CHUNK_CHARS;

/**
 * `snap log [NAME]`: list the log's lines (of NAME's snapshots), streamed so that memory stays
 * bounded whatever the log's length: the table in two passes — the first measures the columns, the
 * second prints the rows (no more lines than the first pass saw) —, `--json` in one, as the bytes
 * `jsonDocument` of `{ store, entries, ok }` would give (json-stream.ts; `ok` last: a listing
 * stopped after it began ends with `"ok": false` and `error`, still one document).
 * @throws SnapError `REF_NOT_FOUND` (a NAME with no lines) | `IO_ERROR` | `INTERRUPTED` / `TERMINATED` (a signal)
 */
async function listLog(io: CliIo, root: string, name: string | undefined, json: boolean): Promise<number> {
  const shownRow = (r: LogRow): boolean => name === undefined || (r.entry !== undefined && nameOf(r.entry.ref) === name);
  // A NAME that matches nothing is most likely mistyped: an error, not an empty table (thrown before anything is written).
  const noEntries = () => new SnapError('REF_NOT_FOUND', `no log entries for ${name} in ${root} (run "snap log" to see them all)`, { name });
  if (json) {
    // One pass, `ok` last: the document is begun with the first row shown, so that a Ctrl-C or a
    // read error after that can still end it as one document — the rows written so far, then
    // `"ok": false` and the error — instead of leaving one that said `"ok": true` cut off, with
    // runCli's error document run on after it (README, "--json"). Ctrl-C stops the listing
    // (exit 130), however long the log: checked before each row, and before the end.
    const doc = new JsonStream(io.stdout, { checkInterrupts: true });
    const begin = async (): Promise<void> => {
      checkInterrupted(); // before the document begins: stopped here, runCli's error document is the whole output
      doc.open().member('store', root);
      await doc.openList('entries');
    };
    try {
      for await (const r of logRows(root)) {
        if (!shownRow(r)) continue;
        if (!doc.begun) await begin();
        await doc.item(r.entry ? { line: r.line, ...r.entry } : { line: r.line, malformed: true, complete: r.complete, raw: r.raw });
      }
      if (!doc.begun && name !== undefined) throw noEntries();
      if (!doc.begun) await begin();
      // Stopped here, after the last row, the document begun is ended too (this check was outside
      // the try: the rows written were left cut off, runCli's error document run on after them).
      checkInterrupted();
      await doc.end({ ok: true });
    } catch (e) {
      throw doc.fail(e); // nothing begun: runCli's error document is the whole output
    }
    return EXIT_OK;
  }
  let pending = '';
  const put = async (text: string): Promise<void> => {
    checkInterrupted(); // Ctrl-C stops the listing (exit 130), however long the log
    pending += text;
    if (pending.length < LIST_CHUNK_CHARS) return;
    const out = pending;
    pending = '';
    await writeWaitingForDrain(io.stdout, out);
  };
  // Two passes: the first measures the columns (and counts the lines, the most the second prints).
  const head = ['SEQ', 'TIME', 'COMMAND', 'REF', 'OUTCOME', 'USER@HOST'];
  const widths = head.map((h) => h.length);
  let count = 0;
  let lines = 0;
  for await (const r of logRows(root)) {
    lines = r.line;
    if ((lines & 1023) === 0) checkInterrupted();
    if (!shownRow(r)) continue;
    count++;
    const cells = cellsOf(r);
    for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i] as number, (cells[i] as string).length);
  }
  if (count === 0) {
    if (name !== undefined) throw noEntries();
    io.stdout.write(`the audit log of ${shown(root)} is empty\n`);
    return EXIT_OK;
  }
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  await put(fmt(head) + '\n');
  for await (const r of logRows(root, { maxLines: lines })) if (shownRow(r)) await put(fmt(cellsOf(r)) + '\n');
  if (pending.length > 0) io.stdout.write(pending);
  return EXIT_OK;
}

/** A row's cells in the listing; a log line is unsigned: every field of it is shown escaped for a terminal. */
function cellsOf(r: LogRow): string[] {
  return r.entry
    ? [String(r.entry.seq), shown(r.entry.time), shown(r.entry.command), r.entry.ref !== undefined ? shown(r.entry.ref) : r.entry.snapshot ? shortId(r.entry.snapshot) : '-', outcomeText(r), shown(`${r.entry.user}@${r.entry.host}`)]
    : [`(${r.line})`, '?', '?', '?', outcomeText(r), '?'];
}

/** The word that makes `snap log checkpoint` sign a checkpoint instead of showing entries of a dataset NAME. */
const CHECKPOINT_ACTION = 'checkpoint';

/** What `log --verify` says of the checkpoints. */
function checkpointLines(c: CheckpointVerification, signed: boolean, s: ReturnType<typeof styler>, last: LogVerification['last']): string[] {
  const out: string[] = [];
  if (c.checkpoints === 0 && c.external.length === 0 && c.problems.length === 0) return ['  no signed checkpoint yet: the log and log.head could be rewritten together unseen (snap log checkpoint --key KEY)'];
  if (c.problems.length > 0) {
    out.push(`${s.red(s.bold('FAIL'))}  checkpoints: ${plural(c.problems.length, 'problem')}`);
    for (const p of c.problems) out.push(`  ${p.kind}: ${escapeMessage(p.message)}`);
  } else if (c.newest) {
    out.push(`${s.green(s.bold('OK'))}    ${plural(c.checkpoints, 'checkpoint')} (newest: ${plural(c.newest.size, 'line')}, origin ${shown(c.newest.origin)}${signed ? `, signed by ${c.newest.signedBy.map(shortKeyid).join(', ')}` : ', signatures not checked: give --pubkey'}); the log extends each of them`);
  }
  // The lines after the newest checkpoint are held by the unsigned chain only: whoever can write
  // the store can rewrite them with the head. Said, so that OK is not read as covering them.
  const covered = Math.max(c.newest?.size ?? 0, ...c.external.filter((x) => x.extends).map((x) => x.size));
  // Right after `log checkpoint`, the one line after it is that checkpoint's own record: no
  // checkpoint can cover it, and advising one would only add another such line.
  const ownRecord = c.newest !== undefined && c.newest.size === covered && c.lines === covered + 1 && last?.line === c.lines && recordsCheckpoint(last.entry, c.newest);
  if (c.problems.length === 0 && ownRecord) {
    out.push(`  note: line ${c.lines} is the log-checkpoint line recording the newest checkpoint itself: no signature covers it yet (no checkpoint can cover its own record; the next one, made after other lines, will)`);
  } else if (c.problems.length === 0 && (c.newest || c.external.length > 0) && c.lines > covered) {
    const span = c.lines === covered + 1 ? `line ${c.lines} comes` : `lines ${covered + 1}–${c.lines} come`;
    out.push(`  note: ${span} after the newest checkpoint: no signature covers ${c.lines === covered + 1 ? 'it' : 'them'} yet, and a rewrite of ${c.lines === covered + 1 ? 'it' : 'them'} with log.head would pass (snap log checkpoint --key KEY)`);
  }
  for (const x of c.external) if (x.extends) out.push(`${s.green(s.bold('OK'))}    the log extends ${shown(x.source)} (${plural(x.size, 'line')})${x.signedBy.length > 0 ? `, signed by ${x.signedBy.map(shortKeyid).join(', ')}` : ''}`);
  return out;
}

/** `snap log checkpoint --key KEY`: sign a checkpoint of the log as it is now, write it to the store, print it. */
async function cmdCheckpoint(a: Args, io: CliIo): Promise<number> {
  const store = await openStore(storePath(a.store, io.env, io.cwd));
  const [key, ...more] = await signingKeys(io, a);
  if (more.length > 0) throw new SnapError('USAGE', 'log checkpoint signs with one --key');
  const state = await keptCheckpoints(a, io);
  const made = await makeCheckpoint(store.root, key as PrivateKey, { ...(a.origin !== undefined ? { origin: String(a.origin) } : {}), ...(state ? { remembered: state.remembered } : {}) });
  // This machine remembers the checkpoint and the store's log origin only once the checkpoint is in
  // the store: on an S3 store, after the push (a kill or a failed push before it would leave the
  // state naming an origin whose store has no checkpoint, and every later log --verify failing).
  const storeIds = await storeIdentities(store.root, io);
  const remember = async (): Promise<void> => {
    await state?.keep(made.checkpoint);
    for (const id of storeIds) await state?.keepOrigin(id, made.checkpoint.origin, a.origin !== undefined);
  };
  if (io.afterPush) io.afterPush(remember);
  else await remember();
  if (a.out !== undefined) await writeOutputFile(resolve(io.cwd, String(a.out)), made.note, { mode: 0o644, what: 'cannot write the checkpoint' });
  const root = Buffer.from(made.checkpoint.root).toString('hex');
  // The command is LOG_CHECKPOINT_COMMAND, spelled out here: test/cli/docs-drift.test.ts reads the audit calls' commands.
  const log = await audit(io, store.root, { command: 'log-checkpoint', outcome: 'ok', details: { size: made.checkpoint.size, root, origin: made.checkpoint.origin, keyid: (key as PrivateKey).keyid, signed: made.signed } }, { quiet: !!a.quiet });
  if (a.json) {
    jsonOut(io, { ok: true, file: made.file, origin: made.checkpoint.origin, size: made.checkpoint.size, root, signed: made.signed, note: made.note, log });
  } else {
    io.stdout.write(made.note);
    if (!a.quiet) io.stderr.write(`${made.signed ? 'wrote' : 'already signed by this key:'} ${shown(made.file)} (${plural(made.checkpoint.size, 'line')}); keep a copy of this checkpoint off this machine, and check later with: snap log --verify --checkpoint FILE --pubkey KEY.pub\n`);
  }
  return EXIT_OK;
}

/**
 * The origin this machine kept for a store, looked up by `names` (cli/store-identity.ts
 * `storeLookupNames`): the first found.
 */
export function keptOrigin(origins: Readonly<Record<string, string>>, names: readonly string[]): string | undefined {
  for (const name of names) if (Object.hasOwn(origins, name)) return origins[name];
  return undefined;
}

/**
 * A check of the log against its checkpoints (trust/log-checkpoints `prepareCheckpointCheck`)
 * begun before a pass over the log that it shares: the store's checkpoints are read, and — quietly,
 * only to know which roots will be needed — the trusted state's kept checkpoints and origin of this
 * store, and the `external` checkpoint files; {@link keptCheckpoints} and the files are read again,
 * as before, for the verdict. An error reading the store's checkpoints is returned (`failure`), to
 * be thrown where the check used to throw it.
 */
export async function beginCheckpointCheck(a: Args, io: CliIo, root: string, origin: string | undefined, external: readonly string[] = []): Promise<{ prepared: PreparedCheckpointCheck } | { failure: unknown }> {
  try {
    const dir = stateDir(a['state-dir'] as string | undefined, io.env, io.cwd);
    const state = await readState(dir).catch(() => undefined);
    const pinned = origin ?? (state ? keptOrigin(Object.fromEntries(Object.entries(state.logOrigins ?? {}).map(([k, m]) => [k, m.origin])), await storeLookupNames(root, io)) : undefined);
    const sizes: number[] = [];
    for (const f of external) await readCheckpointFile(resolve(io.cwd, f)).then((c) => sizes.push(c.checkpoint.size), () => {});
    return { prepared: await prepareCheckpointCheck(root, { sizes, ...(state ? { remembered: { source: join(dir, STATE_FILE), byOrigin: state.checkpoints ?? {} } } : {}), ...(pinned !== undefined ? { origin: pinned } : {}) }) };
  } catch (e) {
    return { failure: e };
  }
}

/**
 * The checkpoints this machine's trusted state kept (trust/state.ts `checkpoints`), and how to keep
 * one. A state this user cannot read is a note (the run goes on without them, as verify does with
 * kept revocations); one that does not parse stops the run (`STATE_MALFORMED`).
 * @returns undefined when the state cannot be read
 */
export async function keptCheckpoints(a: Args, io: CliIo): Promise<{ remembered: RememberedCheckpoints; origins: Readonly<Record<string, string>>; keep(c: Checkpoint): Promise<void>; keepOrigin(store: string, origin: string, replace: boolean): Promise<void> } | undefined> {
  const dir = stateDir(a['state-dir'] as string | undefined, io.env, io.cwd);
  const state = await readState(dir).catch((e: unknown) => {
    if (!isSnapError(e, 'IO_ERROR')) throw e;
    if (!a.quiet) io.stderr.write(`note: ${escapeMessage(e.message)}: the checkpoints this machine has kept are not checked in this run\n`);
    return undefined;
  });
  if (!state) return undefined;
  return {
    remembered: { source: join(dir, STATE_FILE), byOrigin: state.checkpoints ?? {} },
    origins: Object.fromEntries(Object.entries(state.logOrigins ?? {}).map(([k, m]) => [k, m.origin])),
    keepOrigin: async (store, origin, replace) => {
      try {
        await updateState(dir, (s) => rememberLogOrigin(s, store, origin, new Date(), replace));
      } catch (e) {
        if (!a.quiet) io.stderr.write(`note: the trusted state ${shown(dir)} was not updated (${escapeMessage((e as Error).message)}): this machine will not remember that the log of ${shown(store)} is ${shown(origin)}\n`);
      }
    },
    keep: async (c) => {
      try {
        await updateState(dir, (s) => rememberCheckpoint(s, c, new Date()));
      } catch (e) {
        if (!a.quiet) io.stderr.write(`note: the trusted state ${shown(dir)} was not updated (${escapeMessage((e as Error).message)}): this machine will not remember the checkpoint of ${shown(c.origin)} at ${c.size} lines\n`);
      }
    },
  };
}

/** `snap log [name]`. */
export const logCommand: CommandSpec = {
  command: 'log [name]',
  describe: "Show the audit log (of one NAME), or check it with --verify",
  builder: (y) =>
    withExamples(
      commonFlags(y, { store: true, quiet: 'log checkpoint, --verify: no hints and no notes on stderr' })
        .positional('name', { type: 'string', describe: 'only entries whose ref is NAME@… (exit 3 if there are none); the word checkpoint: sign a checkpoint of the log (see --key)' })
        .option('verify', {
          type: 'boolean',
          describe: 'check the whole log: exit 1 if a line was edited, removed, reordered or inserted, log.head disagrees, or the log no longer extends a signed checkpoint',
        })
        .option('pubkey', { type: 'string', array: true, requiresArg: true, describe: '--verify: public key(s) the newest checkpoint must be signed by' })
        .option('checkpoint', { type: 'string', array: true, requiresArg: true, describe: '--verify: a checkpoint kept elsewhere that the log must still extend; repeatable' })
        .option('key', { type: 'string', array: true, requiresArg: true, describe: 'log checkpoint: the private key to sign the checkpoint with' })
        .option('passphrase-env', { type: 'string', requiresArg: true, describe: 'log checkpoint: environment variable holding the key passphrase' })
        .option('origin', { type: 'string', requiresArg: true, describe: "log checkpoint: the log's name in the checkpoint (default: that of the newest checkpoint, else a new snap.local/log/<random>); --verify: the name every checkpoint must carry (a log copied from another store fails; default: the one this machine kept for the store when it signed or verified it)" })
        .option('out', { type: 'string', requiresArg: true, describe: 'log checkpoint: also write the checkpoint to this file' })
        .option('state-dir', { ...STATE_DIR_OPTION, describe: 'log checkpoint, --verify: folder of the trusted state, where the checkpoint this machine signed or verified is kept (default: $SNAP_STATE_DIR, else $XDG_STATE_HOME/snap, else ~/.local/state/snap)' }),
      [
        ['$0 log fraud-train', 'who sealed and verified fraud-train, when, with what outcome'],
        ['$0 log checkpoint --key audit.key > cp.txt', 'sign the log as it is now; keep cp.txt elsewhere'],
        ['$0 log --verify --pubkey audit.pub --checkpoint cp.txt', 'exit 1 if the log was rewritten since'],
        ['$0 log --verify --pubkey audit.pub --origin snap.local/log/3f9a…', "exit 1 if the checkpoints are another log's"],
        ['$0 log --verify', 'exit 0 only if the log is an unbroken hash chain'],
      ],
    ),
  run: cmdLog,
};
