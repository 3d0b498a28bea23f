/** `snap list [name]`: List the snapshots in the store (all, or of one NAME). */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { storePath, openStore, listSnapshots, listSnapshotFolders, STATEMENT_FILE } from '../../io/store.js';
import { NAME_RE, NAME_RULE_TEXT } from '../../core/refs.js';
import { SnapError } from '../../core/errors.js';
import { EXIT_INTEGRITY, EXIT_OK } from '../exit-codes.js';
import { formatBytes, formatCount, shortId } from '../format.js';
import { escapeForTerminal as shown } from '../../core/display.js';
import { jsonOut, commonFlags, type Args, type CliIo, type CommandSpec, withExamples } from '../common.js';

async function cmdList(a: Args, io: CliIo): Promise<number> {
  const store = await openStore(storePath(a.store, io.env, io.cwd));
  const name = a.name as string | undefined;
  if (name !== undefined && !NAME_RE.test(name)) throw new SnapError('USAGE', `${JSON.stringify(name)} is not a dataset NAME (${NAME_RULE_TEXT})`);
  const list = await listSnapshots(store, name);
  // A folder whose statement.json cannot be read at all (missing, not a regular file) is no
  // snapshot listSnapshots can describe: named apart, it fails the listing too (fsck says more).
  const listed = new Set(list.map((x) => `${x.name}@${x.version}`));
  const unreadable = (await listSnapshotFolders(store))
    .filter((f) => (name === undefined || f.name === name) && !listed.has(`${f.name}@${f.version}`))
    .filter((f) => !lstatSync(join(f.dir, STATEMENT_FILE), { throwIfNoEntry: false })?.isFile())
    .map((f) => ({ ref: `${f.name}@${f.version}`, reason: `its ${STATEMENT_FILE} is missing or not a regular file` }));
  // A NAME that matches nothing is most likely mistyped: an error, not an empty list.
  if (name !== undefined && list.length === 0 && unreadable.length === 0) throw new SnapError('REF_NOT_FOUND', `no snapshots of ${name} in ${store.root} (run "snap list" to see every NAME)`, { name });
  // A folder whose statement names another snapshot (swapped or moved), or is no statement, is
  // listed, marked, and fails the listing.
  const exit = list.some((s) => s.signedAs !== undefined || s.malformed !== undefined) || unreadable.length > 0 ? EXIT_INTEGRITY : EXIT_OK;
  if (a.json) {
    jsonOut(io, { ok: exit === EXIT_OK, store: store.root, snapshots: list.map(({ dir: _d, ...rest }) => ({ ref: `${rest.name}@${rest.version}`, ...rest })), ...(unreadable.length > 0 ? { unreadable } : {}) });
    return exit;
  }
  for (const u of unreadable) io.stderr.write(`error: ${shown(u.ref)} is no readable snapshot: ${u.reason}; every command refuses it: run snap fsck\n`);
  if (list.length === 0) {
    io.stdout.write(`no snapshots in ${shown(store.root)}\n`);
    return exit;
  }
  const rows = list.map((s) => [shown(`${s.name}@${s.version}`), shortId(s.id), shown(s.createdAt), formatCount(s.fileCount), formatBytes(s.totalBytes)]);
  const head = ['REF', 'SNAPSHOT', 'CREATED', 'FILES', 'BYTES'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const fmt = (r: string[]) => r.map((c, i) => (i >= 3 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ');
  io.stdout.write([fmt(head), ...rows.map(fmt)].join('\n') + '\n');
  for (const s of list) {
    if (s.signedAs !== undefined) io.stderr.write(`error: ${shown(`${s.name}@${s.version}`)} holds a snapshot signed as ${shown(s.signedAs)} (swapped or moved); every command refuses it under this name: run snap fsck\n`);
    if (s.malformed !== undefined) io.stderr.write(`error: ${shown(`${s.name}@${s.version}`)} has a malformed statement (${shown(s.malformed)}); its row shows placeholders and every command refuses it: run snap fsck\n`);
  }
  return exit;
}

/** `snap list [name]`. */
export const listCommand: CommandSpec = {
  command: 'list [name]',
  describe: 'List the snapshots in the store (all, or of one NAME)',
  builder: (y) =>
    withExamples(
      commonFlags(y, { store: true })
        .positional('name', { type: 'string', describe: 'only the snapshots of this dataset NAME (exit 3 if it has none)' }),
      [
        ['$0 list', 'every snapshot, oldest first'],
        ['$0 list fraud-train --json', 'the versions of one dataset'],
      ],
    ),
  run: cmdList,
};
