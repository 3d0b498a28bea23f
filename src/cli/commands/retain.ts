/**
 * `snap retain <ref> --until DATE`: extend the Object Lock retention of a snapshot in an S3 store
 * (its commit object, its staged files, its co-signatures — with `--pubkey`, those its keys made —
 * and every object it names), never shortening one
 * (docs/FORMAT.md §23.6). Only for `--store s3://…`; a local store cannot lock its files (USAGE).
 * The objects locked are those of the files the snapshot's commit object pins: a snapshot whose
 * files are not those is refused (`INTEGRITY_FAILURE`, exit 1), nothing locked.
 */
import { SnapError } from '../../core/errors.js';
import { parseRef } from '../../core/refs.js';
import { parseExpiry } from '../../core/durations.js';
import { escapeForTerminal as shown } from '../../core/display.js';
import { EXIT_OK } from '../exit-codes.js';
import { jsonOut, commonFlags, trustedKeys, type Args, type CliIo, type CommandSpec, withExamples } from '../common.js';
import { parseEnvelope, verifyEnvelope, type TrustedKey } from '../../core/envelope.js';
import { lockKindFor, s3StoreOf } from '../remote-store.js';
import { makeScratchDir, removeWhenDone } from '../../io/scratch-dir.js';
import { ENVELOPE_FILE, MANIFEST_FILE, STATEMENT_FILE } from '../../io/store.js';
import { MAX_COSIGNATURE_FILES, notCosignatureOf } from '../../store/cosignatures.js';
import { MAX_ENVELOPE_BYTES } from '../../core/envelope.js';
import { SNAPSHOT_FILE_NAMES } from '../../store/backend.js';
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';

/** Co-signature files not locked named one by one on stderr; the rest are counted. */
const MAX_NOTES = 20;
/** Co-signature files read and locked at once (each at most MAX_ENVELOPE_BYTES in memory). */
const COSIGNATURE_JOBS = 16;

async function cmdRetain(a: Args, io: CliIo): Promise<number> {
  const url = s3StoreOf(a, io);
  if (!url) throw new SnapError('USAGE', 'retain needs an S3 store with Object Lock (--store s3://BUCKET/PREFIX); a local store cannot lock its files');
  const ref = parseRef(String(a.ref));
  if (ref.kind !== 'name') throw new SnapError('USAGE', `retain takes NAME@VERSION, not ${JSON.stringify(String(a.ref))}`);
  const mode = String(a['retain-mode'] ?? 'compliance').toLowerCase() === 'governance' ? 'GOVERNANCE' : 'COMPLIANCE';
  const until = new Date(parseExpiry(String(a.until), new Date(), '--until'));
  const pubkeys = await trustedKeys((a.pubkey as string[] | undefined) ?? [], io.cwd);
  const [{ openS3Backend }, { objectSizesOfSnapshotIn }, { mapLimit }] = await Promise.all([import('../../store/open-s3.js'), import('../../store/remote-session.js'), import('../../store/s3.js')]);
  const remote = await openS3Backend(url, io.env);
  await remote.open(false);
  await remote.checkObjectLock();
  // Retention is only ever extended, never shortened: readers may run beside (an append lock,
  // FORMAT.md §23.4); a seal or another retain may not.
  const lock = await remote.lock(undefined, lockKindFor('retain'));
  let objects: Map<string, number | undefined>;
  let committedEnvelope: Uint8Array | undefined;
  try {
    // The snapshot's files go through a temporary folder: its manifest may be larger than memory allows.
    const dir = await makeScratchDir('snap-retain-');
    const removeDir = removeWhenDone(dir);
    try {
      // Which objects to lock is read from the snapshot's files: only from those its commit object
      // pins. A manifest replaced in the bucket (by someone with write access and no key) would
      // otherwise choose the objects locked, and leave the snapshot's own unlocked for deletion.
      const { commit } = await remote.readCommit(ref.name, ref.version);
      const notPinned: string[] = [];
      const written = await remote.readSnapshotInto(ref.name, ref.version, dir, SNAPSHOT_FILE_NAMES, (t) => notPinned.push(t));
      const wrong = await filesNotPinned(dir, written, commit.files);
      // A file left out for not being the one pinned is said so, not only missing.
      for (const w of wrong) if (w.why === 'missing' && notPinned.some((t) => t.includes(` its ${w.file} `))) w.why = 'not the bytes the commit object pins';
      if (wrong.length > 0) {
        throw new SnapError(
          'INTEGRITY_FAILURE',
          `the files of ${ref.name}@${ref.version} in ${remote.location} are not those its commit object names (${wrong.map((w) => `${w.file}: ${w.why}`).join('; ')}); nothing was locked: run snap fsck --store ${remote.location}`,
          { ref: `${ref.name}@${ref.version}`, files: wrong },
        );
      }
      objects = await objectSizesOfSnapshotIn(dir);
      committedEnvelope = written.includes(ENVELOPE_FILE) ? await fsp.readFile(join(dir, ENVELOPE_FILE)) : undefined;
    } finally {
      await removeDir();
    }
    const retain = { mode, until } as const;
    // Every version of each object that can hold its bytes, not only the current one: a version PUT
    // over the sealed one (same size, other bytes) would take the lock, and the sealed one's run out.
    await mapLimit([...objects], 16, async ([hex, size]) => void (await remote.lockObject(hex, retain, size)));
    // Its co-signatures (FORMAT.md §23.8): a threshold of signers holds as long as the snapshot.
    // Only files that are co-signatures of it, as readers merge them: with --pubkey, those that
    // carry a signature of one of its keys, wherever they sort; without, at most as many as a reader
    // without trusted keys reads. Any key planted under that folder (junk of any size, or envelopes
    // of the public payload with junk signatures, ground to sort first) would otherwise be locked
    // too, undeletable until then under COMPLIANCE, and a genuine one past them left unlocked.
    const cosigned = `signatures/${ref.name}/${ref.version}/`;
    const paths = (await remote.listFiles()).filter((p) => p.startsWith(cosigned)).sort();
    // Read, judged and locked COSIGNATURE_JOBS at a time (at most that many envelopes in memory);
    // what was not locked is said in name order.
    const whys = await mapLimit([...paths.entries()], COSIGNATURE_JOBS, async ([i, path]): Promise<string | undefined> => {
      let why: string | undefined;
      if (pubkeys.length === 0 && i >= MAX_COSIGNATURE_FILES) why = `is past the first ${MAX_COSIGNATURE_FILES} co-signature files (give --pubkey to lock those its keys signed, wherever they are)`;
      else if (!committedEnvelope) why = 'cannot be compared with the committed envelope, which is missing';
      else {
        const bytes = await remote.readFile(path, MAX_ENVELOPE_BYTES).catch((e: unknown) => {
          if (e instanceof SnapError && (e.code === 'STORE_MALFORMED' || e.code === 'NOT_FOUND')) return new Uint8Array(0);
          throw e;
        });
        why = notCosignatureOf(committedEnvelope, path, bytes) ?? (pubkeys.length > 0 && !signedByAny(bytes, pubkeys) ? 'carries no signature of a --pubkey key' : undefined);
      }
      if (why === undefined) await remote.extendRetention(remote.where.prefix + path, retain, remote.firstVersionOf(path)?.versionId);
      return why;
    });
    let notLocked = 0;
    for (const [i, why] of whys.entries()) {
      if (why !== undefined && ++notLocked <= MAX_NOTES) io.stderr.write(`${io.program ?? 'snap'} retain: co-signature file ${shown(paths[i] as string)} ${why}: not locked\n`);
    }
    if (notLocked > MAX_NOTES) io.stderr.write(`${io.program ?? 'snap'} retain: ${notLocked - MAX_NOTES} more co-signature files not locked\n`);
    // The snapshot's files, its commit object last: a snapshot is never locked longer than its objects.
    const keys = await remote.snapshotKeys(ref.name, ref.version);
    for (const k of [...keys.slice(1), keys[0]]) if (k) await remote.extendRetention(k.key, retain, k.versionId);
  } finally {
    await lock.release();
  }
  const untilText = until.toISOString().replace(/\.000Z$/, 'Z');
  if (a.json) jsonOut(io, { ok: true, ref: `${ref.name}@${ref.version}`, mode, until: untilText, objects: objects.size });
  else if (!a.quiet) io.stdout.write(`retained ${shown(`${ref.name}@${ref.version}`)}: ${objects.size} objects and the snapshot's files locked (${mode}) until at least ${untilText}\n`);
  return EXIT_OK;
}

/**
 * The snapshot files in `dir` (those of `written`) that are not what the commit object pins
 * (`pinned`: file name → SHA-256 hex, FORMAT.md §23.3): missing, changed, or not pinned at all
 * (the manifest and the statement must be). Each file is hashed as it streams.
 * @throws SnapError `IO_ERROR` when a file cannot be read
 */
async function filesNotPinned(dir: string, written: string[], pinned: Record<string, string>): Promise<{ file: string; why: string }[]> {
  const out: { file: string; why: string }[] = [];
  for (const file of SNAPSHOT_FILE_NAMES) {
    const pin = pinned[file];
    if (pin === undefined) {
      if (file === MANIFEST_FILE || file === STATEMENT_FILE) out.push({ file, why: 'not named by the commit object' });
      continue;
    }
    if (!written.includes(file)) {
      out.push({ file, why: 'missing' });
      continue;
    }
    const h = createHash('sha256');
    try {
      for await (const chunk of createReadStream(join(dir, file))) h.update(chunk as Buffer);
    } catch (e) {
      throw new SnapError('IO_ERROR', `cannot read the copy of ${file}: ${(e as Error).message}`);
    }
    const got = h.digest('hex');
    if (got !== pin) out.push({ file, why: `sha256 ${got}, the commit object names ${pin}` });
  }
  return out;
}

/** Whether the envelope `bytes` (a co-signature file, checked to be one) carries a signature that verifies under one of `keys` (SPEC §5). */
function signedByAny(bytes: Uint8Array, keys: readonly TrustedKey[]): boolean {
  try {
    return verifyEnvelope(parseEnvelope(bytes), keys).trustedKeyids.length > 0;
  } catch {
    return false;
  }
}

/** `snap retain <ref>`. */
export const retainCommand: CommandSpec = {
  command: 'retain <ref>',
  describe: 'Extend the Object Lock of a snapshot in an S3 store (never shortens)',
  builder: (y) =>
    withExamples(
      commonFlags(y, { store: true, quiet: 'print nothing' })
        .positional('ref', { type: 'string', describe: 'NAME@VERSION of a snapshot in the S3 store' })
        .option('until', { type: 'string', requiresArg: true, demandOption: true, describe: 'lock until then: 400d, 2w, a date 2027-01-31 or 2027-01-31T12:00:00Z (required); a later lock already set is kept' })
        .option('retain-mode', { type: 'string', requiresArg: true, choices: ['compliance', 'governance'], describe: 'compliance (default; a COMPLIANCE lock stays one) or governance' })
        .option('pubkey', { type: 'string', array: true, requiresArg: true, describe: 'co-signatures to lock: the files carrying a signature of one of these public keys (SPKI PEM; repeatable), wherever they sort; without it, the first 1,024 co-signature files by name' }),
      [
        ['$0 retain fraud-train@model-v3 --until 2030-01-01 --store s3://ml-data/snap', 'keep the data behind a model version until 2030'],
        ['$0 retain fraud-train@model-v3 --until 2030-01-01 --pubkey reviewer.pub --store s3://ml-data/snap', 'and lock the co-signatures of reviewer.pub wherever they are'],
      ],
    ),
  run: cmdRetain,
};
