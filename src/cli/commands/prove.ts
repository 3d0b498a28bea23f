/**
 * `snap prove <ref> <path>`: an inclusion proof (docs/FORMAT.md §11) that one entry is part of a
 * signed snapshot, without the rest of the manifest: written to `-o FILE`, or to stdout.
 */
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { SnapError } from '../../core/errors.js';
import { isSymlinkEntry } from '../../core/manifest.js';
import { storePath } from '../../io/store.js';
import { writeOutputFile } from '../../io/output-temp.js';
import { prove, type ProveResult } from '../../proofs/prove.js';
import { proveRecord, type ProveRecordResult } from '../../proofs/prove-record.js';
import { objectsDirOf } from '../../ops/diff.js';
import type { TrustedKey } from '../../core/envelope.js';
import type { IndexEntry } from '../../records/index-line.js';
import { EXIT_OK } from '../exit-codes.js';
import { escapeForTerminal as shown, escapeMessage, escapePath } from '../../core/display.js';
import { keyArrayText } from '../../records/key-text.js';
import { labelShown } from '../records-print.js';
import { formatBytes, formatCount, plural, shortDigest, shortKeyid } from '../format.js';
import { jsonOut, trustedKeys, checkThreshold, commonFlags, wholeNumberOption, withExamples, MAX_THRESHOLD, type Args, type CliIo, type CommandSpec } from '../common.js';
import { openSnapshotRef } from '../snapshot-ref.js';

async function cmdProve(a: Args, io: CliIo): Promise<number> {
  const store = storePath(a.store, io.env, io.cwd);
  if (a.threshold !== undefined && a.pubkey === undefined) throw new SnapError('USAGE', '--threshold needs --pubkey');
  const threshold = a.pubkey !== undefined ? checkThreshold(a) : undefined;
  const trusted = a.pubkey !== undefined ? await trustedKeys(a.pubkey as string[], io.cwd) : undefined;
  const out = a.out !== undefined ? resolve(io.cwd, String(a.out)) : undefined;
  // Said before the manifest is read (the write below refuses it too, atomically).
  if (out !== undefined && existsSync(out)) throw new SnapError('FILE_EXISTS', `${out} already exists; it is never overwritten`, { path: out });
  if (a.record !== undefined) return cmdProveRecord(a, io, store, out, trusted, threshold);
  const opened = await openSnapshotRef(String(a.ref), io, store);
  let r: ProveResult;
  try {
    r = await prove({ snapshot: opened.location, path: String(a.path), ...(trusted ? { trusted, threshold: threshold ?? 1 } : {}) });
  } finally {
    await opened.close();
  }
  if (out === undefined) {
    refuseJsonWithoutOut(a);
    // The proof itself is the output: exactly its bytes, nothing else.
    io.stdout.write(Buffer.from(r.proof));
    return EXIT_OK;
  }
  await writeOutputFile(out, r.proof, { exclusive: true, mode: 0o644, what: 'cannot write the proof' });
  const e = r.entry;
  if (a.json) {
    jsonOut(io, {
      ok: true, ref: r.ref, snapshot: r.snapshot, path: e.path, entry: e, leafIndex: r.leafIndex, treeSize: r.treeSize,
      auditPath: r.auditPathLength, keyids: r.keyids, proof: out, proofBytes: r.proof.length,
    });
  } else {
    const what = isSymlinkEntry(e) ? `symbolic link → ${escapePath(e.target)}` : `${formatBytes(e.size)}, sha256 ${shortDigest(e.sha256)}`;
    io.stdout.write(
      [
        `proved ${escapePath(e.path)} in ${r.ref}`,
        `  snapshot    ${r.snapshot}`,
        `  entry       ${formatCount(r.leafIndex + 1)} of ${plural(r.treeSize, 'entry', 'entries')} (${what})`,
        `  audit path  ${plural(r.auditPathLength, 'hash', 'hashes')}`,
        `  signatures  ${r.keyids.map((k) => shortKeyid(shown(k)) || '(no keyid)').join(', ')}`,
        `  proof       ${shown(out)} (${formatBytes(r.proof.length)})`,
        `  check with  snap verify-proof ${shown(String(a.out))} --pubkey KEY.pub`,
      ].join('\n') + '\n',
    );
  }
  return EXIT_OK;
}

/**
 * Without `-o` a proof is written to stdout as its exact bytes, a document with no `ok`; `--json`
 * promises one document whose `ok` says whether the command succeeded. So `--json` without `-o` is a
 * usage error, said once the proof could be made (a failure before that is still its own error
 * document, as with `-o`).
 * @throws SnapError `USAGE` when `--json` is given without `-o`
 */
function refuseJsonWithoutOut(a: Args): void {
  if (a.json) throw new SnapError('USAGE', '--json reports a proof written with -o FILE; without -o the proof itself is the output, in its exact bytes: give -o FILE, or leave --json out');
}

/** An index entry as `--json` shows it: `key` as the JSON array it is (docs/FORMAT.md §19.5). */
export function recordJson(e: IndexEntry): Record<string, unknown> {
  return { ...(e.key !== undefined ? { key: JSON.parse(e.key) as unknown } : {}), ...(e.label !== undefined ? { label: e.label } : {}), row: e.row, fingerprint: e.fingerprint, features: e.features };
}

/**
 * How a proven record is named on a terminal (prove, verify-proof): its key as the JSON array the
 * index holds (`["1"]` beside `[1]`), a value that could pass for another with its letters outside
 * ASCII escaped (records/key-text.ts `keyArrayText`); its feature hash; or its record number.
 */
export function recordKeyShown(identity: string, e: IndexEntry): string {
  return e.key !== undefined ? escapeMessage(keyArrayText(e.key)) : identity === 'features' ? e.features : String(e.row);
}

/** `snap prove REF SET --record KEY`: a record proof (docs/FORMAT.md §11.5). */
async function cmdProveRecord(a: Args, io: CliIo, store: string, out: string | undefined, trusted: TrustedKey[] | undefined, threshold: number | undefined): Promise<number> {
  const key = String(a.record);
  if (key.length === 0) throw new SnapError('USAGE', '--record needs a key');
  const opened = await openSnapshotRef(String(a.ref), io, store);
  let r: ProveRecordResult;
  try {
    const objectDirs = [objectsDirOf(opened.location), join(store, 'objects', 'sha256')].filter((d): d is string => d !== undefined);
    r = await proveRecord({ snapshot: opened.location, set: String(a.path), key, objectDirs, ...(trusted ? { trusted, threshold: threshold ?? 1 } : {}) });
  } finally {
    await opened.close();
  }
  if (out === undefined) {
    refuseJsonWithoutOut(a);
    io.stdout.write(Buffer.from(r.proof));
    return EXIT_OK;
  }
  await writeOutputFile(out, r.proof, { exclusive: true, mode: 0o644, what: 'cannot write the proof' });
  const e = r.record;
  if (a.json) {
    jsonOut(io, {
      ok: true, ref: r.ref, snapshot: r.snapshot, set: String(a.path), record: recordJson(e), entry: r.line, leafIndex: r.leafIndex, treeSize: r.treeSize,
      auditPath: r.auditPathLength, matches: r.matches, keyids: r.keyids, proof: out, proofBytes: r.proof.length,
    });
  } else {
    io.stdout.write(
      [
        `proved record ${recordKeyShown(r.set.identity, e)} of ${escapePath(String(a.path))} in ${r.ref}`,
        `  snapshot    ${r.snapshot}`,
        `  record      ${formatCount(r.leafIndex + 1)} of ${plural(r.treeSize, 'index line', 'index lines')}: row ${e.row}${e.label !== undefined ? `, label ${labelShown(e.label)}` : ''}, fingerprint ${shortDigest(e.fingerprint)}`,
        ...(r.matches > 1 ? [`  note        ${r.matches} records have this key (identity ${r.set.identity}); the first in index order is proven`] : []),
        `  audit path  ${plural(r.auditPathLength, 'hash', 'hashes')}`,
        `  signatures  ${r.keyids.map((k) => shortKeyid(shown(k)) || '(no keyid)').join(', ')}`,
        `  proof       ${shown(out)} (${formatBytes(r.proof.length)})`,
        `  check with  snap verify-proof ${shown(String(a.out))} --pubkey KEY.pub`,
      ].join('\n') + '\n',
    );
  }
  return EXIT_OK;
}

/** `snap prove <ref> <path>`. */
export const proveCommand: CommandSpec = {
  command: 'prove <ref> <path>',
  describe: 'Prove that one file, or one record, is in a signed snapshot, without revealing the rest',
  builder: (y) =>
    withExamples(
      commonFlags(y, { store: true })
        .positional('ref', { type: 'string', describe: 'NAME@VERSION, a snapshot id or prefix, a snapshot folder, or a NAME@VERSION.snap.tar archive' })
        .positional('path', { type: 'string', describe: 'the entry to prove, as the manifest lists it (relative to the dataset root, e.g. ham/0001.txt); with --record: the record set (a tabular file\'s path, or a files set\'s pattern)' })
        .option('record', { type: 'string', requiresArg: true, describe: "prove the record with this key in the record set PATH instead (a key value, or a JSON array such as '[\"a\",17]'; a feature hash or record number for sets without a key; for a label-folder set, also the file's path, e.g. images/cat/image_0001.jpg; docs/FORMAT.md §11.5)" })
        .option('out', { alias: 'o', type: 'string', requiresArg: true, describe: 'write the proof to this file (never overwritten); default: the proof on stdout (then --json is a usage error: the proof itself is the output)' })
        .option('pubkey', { type: 'string', array: true, requiresArg: true, describe: 'keep only the signatures of these keys (SPKI PEM; repeatable), checked first: for verifiers who trust only some co-signers' })
        .option('threshold', wholeNumberOption('threshold', 'with --pubkey: how many distinct given keys must have signed (default: 1)', 1, MAX_THRESHOLD)),
      [
        ['$0 prove spam@v1 ham/0001.txt -o ham-0001.proof.json', 'a proof to hand to an auditor'],
        ['$0 prove spam@v1.snap.tar spam/0042.txt > p.json', 'from an archive, to stdout'],
        ['$0 prove tabular@v1 breast_cancer.csv --record 17 -o bc-17.proof.json', 'a record proof: the record whose key (id) is 17 in breast_cancer.csv, its label and fingerprint (examples/tabular)'],
        ['$0 verify-proof ham-0001.proof.json --pubkey ci.pub', 'check it, with only the public key'],
      ],
    ),
  run: cmdProve,
};
