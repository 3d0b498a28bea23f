/** `snap init`: make a new, empty store (the deliberate way; seal and import make one only where its parent folder exists). */
import { openStore, storePath } from '../../io/store.js';
import { EXIT_OK } from '../exit-codes.js';
import { escapeForTerminal as shown } from '../../core/display.js';
import { jsonOut, commonFlags, audit, type Args, type CliIo, type CommandSpec, withExamples } from '../common.js';

async function cmdInit(a: Args, io: CliIo): Promise<number> {
  const root = storePath(a.store, io.env, io.cwd);
  const store = await openStore(root, { create: true, parents: true });
  // On an S3 store, the working copy is always there: the bucket says whether init made the store.
  const created = store.created !== undefined || io.storeMade?.() === true;
  const log = created ? await audit(io, store.root, { command: 'init', outcome: 'ok' }, { quiet: !!a.quiet }) : undefined;
  if (a.json) jsonOut(io, { ok: true, store: store.root, storeCreated: created, ...(log ? { log } : {}) });
  else if (!a.quiet) io.stdout.write(created ? `made a new store at ${shown(store.root)}\n` : `${shown(store.root)} is already a snap store; nothing to do\n`);
  return EXIT_OK;
}

/** `snap init`. */
export const initCommand: CommandSpec = {
  command: 'init',
  describe: 'Make a new, empty store (--store PATH, else $SNAP_STORE, else ./.snap)',
  builder: (y) =>
    withExamples(
      commonFlags(y, { store: true, quiet: 'print nothing' })
        .epilog(
          'Makes the store folder and any missing parent folders. An existing store is left as it is (exit 0); ' +
            'a folder that is not empty and not a store, or a file, is refused (exit 3). Without init, seal and import ' +
            'make a store only where its parent folder exists, and say so on stderr.\n', // a blank line before the exit codes (run.ts)
        ),
      [
        ['$0 init --store /data/snap', 'a shared store for CI'],
        ['export SNAP_STORE=/data/snap; snap init', 'the same, for every later command'],
      ],
    ),
  run: cmdInit,
};
