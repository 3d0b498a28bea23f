/** `snap keygen <name>`: Make an Ed25519 key pair NAME.key (0600) and NAME.pub; never overwrites. */
import { basename, dirname, resolve } from 'node:path';
import { KEY_NAME_RE, invalidKeyName, writeKeyPair } from '../../io/keyfile.js';
import { SnapError } from '../../core/errors.js';
import { escapeForTerminal as shown } from '../../core/display.js';
import { EXIT_OK } from '../exit-codes.js';
import { jsonOut, passphrase, commonFlags, type Args, type CliIo, type CommandSpec, withExamples } from '../common.js';

/** The endings of the two files keygen writes: a NAME given with one would double it (ci.key.key). */
const KEY_FILE_ENDING = /\.(key|pub)$/;

async function cmdKeygen(a: Args, io: CliIo): Promise<number> {
  const given = String(a.name);
  if (KEY_FILE_ENDING.test(given) && KEY_NAME_RE.test(basename(given).replace(KEY_FILE_ENDING, ''))) {
    const stem = basename(given).replace(KEY_FILE_ENDING, '');
    throw new SnapError('USAGE', `NAME is the base name of the two files: "${io.program ?? 'snap'} keygen ${stem}" writes ${stem}.key and ${stem}.pub (${given} would give ${given}.key and ${given}.pub)`);
  }
  // Checked before any passphrase is asked for. A NAME given as a path (keys/ci): the folder is --out-dir's to say.
  if (!KEY_NAME_RE.test(given)) {
    const stem = basename(given);
    const hint = given.includes('/') && a['out-dir'] === '.' && KEY_NAME_RE.test(stem) ? `; to write it into a folder: ${io.program ?? 'snap'} keygen ${stem} --out-dir ${dirname(given)}` : '';
    throw invalidKeyName(given, hint);
  }
  let pass = passphrase(io, a['passphrase-env']);
  if (pass === undefined && a['passphrase-prompt']) {
    const { promptPassphrase } = await import('../prompt.js');
    pass = await promptPassphrase(`passphrase for ${shown(String(a.name))}.key: `, { input: io.stdin, output: io.stderr as NodeJS.WriteStream, confirm: true });
  }
  const r = await writeKeyPair(resolve(io.cwd, String(a['out-dir'] ?? '.')), given, { passphrase: pass });
  if (a.json) jsonOut(io, { ok: true, keyid: r.keyid, key: r.keyPath, pub: r.pubPath });
  else {
    io.stdout.write(`${shown(r.keyid)}\n`);
    if (!a.quiet) io.stderr.write(`wrote ${shown(r.keyPath)} (private, mode 0600: keep it secret) and ${shown(r.pubPath)} (public: give it to verifiers)\n`);
  }
  return EXIT_OK;
}

/** `snap keygen <name>`. */
export const keygenCommand: CommandSpec = {
  command: 'keygen <name>',
  describe: 'New Ed25519 key pair NAME.key (0600) + NAME.pub; never overwrites',
  builder: (y) =>
    withExamples(
      commonFlags(y, { quiet: 'print only the keyid: no note on stderr' })
        .positional('name', { type: 'string', describe: 'base name of the two files: NAME.key (private) and NAME.pub (public)' })
        .option('out-dir', { type: 'string', requiresArg: true, default: '.', describe: 'folder to write the key pair into (default: the working folder)' })
        .option('passphrase-env', { type: 'string', requiresArg: true, describe: 'encrypt NAME.key with the passphrase in this environment variable' })
        .option('passphrase-prompt', { type: 'boolean', describe: 'encrypt NAME.key with a passphrase typed on the terminal (asked twice)' })
        .conflicts('passphrase-env', 'passphrase-prompt'),
      [
        ['$0 keygen release --out-dir ~/.snap-keys', 'writes ~/.snap-keys/release.key and release.pub'],
      ],
    ),
  run: cmdKeygen,
};
