/** `snap list [name]`: List the snapshots in the store (all, or of one NAME). */
import { storePath, openStore, listSnapshots } from '../../io/store.js';
import { NAME_RE } from '../../core/refs.js';
import { SnapError } from '../../core/errors.js';
import { EXIT_OK } from '../exit-codes.js';
import { formatBytes, formatCount, shortId } from '../format.js';
import { jsonOut, commonFlags, type Args, type CliIo, type CommandSpec, withExamples } from '../common.js';

async function cmdList(a: Args, io: CliIo): Promise<number> {
  const store = await openStore(storePath(a.store, io.env, io.cwd));
  const name = a.name as string | undefined;
  if (name !== undefined && !NAME_RE.test(name)) throw new SnapError('USAGE', `${JSON.stringify(name)} is not a dataset NAME (${NAME_RE.source})`);
  const list = await listSnapshots(store, name);
  // A NAME that matches nothing is most likely mistyped: an error, not an empty list.
  if (name !== undefined && list.length === 0) throw new SnapError('REF_NOT_FOUND', `no snapshots of ${name} in ${store.root} (run "snap list" to see every NAME)`, { name });
  if (a.json) {
    jsonOut(io, { store: store.root, snapshots: list.map(({ dir: _d, ...rest }) => ({ ref: `${rest.name}@${rest.version}`, ...rest })) });
    return EXIT_OK;
  }
  if (list.length === 0) {
    io.stdout.write(`no snapshots in ${store.root}\n`);
    return EXIT_OK;
  }
  const rows = list.map((s) => [`${s.name}@${s.version}`, shortId(s.id), s.createdAt, formatCount(s.fileCount), formatBytes(s.totalBytes)]);
  const head = ['REF', 'SNAPSHOT', 'CREATED', 'FILES', 'BYTES'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const fmt = (r: string[]) => r.map((c, i) => (i >= 3 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ');
  io.stdout.write([fmt(head), ...rows.map(fmt)].join('\n') + '\n');
  return EXIT_OK;
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
        ['snap list', 'every snapshot, oldest first'],
        ['snap list fraud-train --json', 'the versions of one dataset'],
      ],
    ),
  run: cmdList,
};
