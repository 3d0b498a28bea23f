/** `snap list [name]`: List the snapshots in the store (all, or of one NAME). */
import { storePath, openStore, listSnapshots } from '../../io/store.js';
import { EXIT_OK } from '../exit-codes.js';
import { formatBytes, formatCount, shortId } from '../format.js';
import { escapeForTerminal as shown } from '../../core/display.js';
import { jsonOut, type Args, type CliIo, type CommandSpec } from '../common.js';

async function cmdList(a: Args, io: CliIo): Promise<number> {
  const store = await openStore(storePath(a.store, io.env, io.cwd));
  const name = a.name as string | undefined;
  const list = await listSnapshots(store, name);
  if (a.json) {
    jsonOut(io, { store: store.root, snapshots: list.map(({ dir: _d, ...rest }) => ({ ref: `${rest.name}@${rest.version}`, ...rest })) });
    return EXIT_OK;
  }
  if (list.length === 0) {
    io.stdout.write(name ? `no snapshots of ${shown(name)} in ${shown(store.root)}\n` : `no snapshots in ${shown(store.root)}\n`);
    return EXIT_OK;
  }
  const rows = list.map((s) => [shown(`${s.name}@${s.version}`), shortId(s.id), shown(s.createdAt), formatCount(s.fileCount), formatBytes(s.totalBytes)]);
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
    y.positional('name', { type: 'string' }),
  run: cmdList,
};
