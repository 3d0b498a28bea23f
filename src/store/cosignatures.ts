/**
 * Co-signatures of a committed snapshot in an S3 store (docs/FORMAT.md §23.8). A snapshot's files
 * are write-once there (its commit object names `envelope.json` by digest, and only the first
 * commit object counts), so `snap sign` cannot replace the envelope: each co-signing adds one
 * write-once file
 *
 *     signatures/<NAME>/<VERSION>/<sha256 hex of the file's bytes>.json
 *
 * holding the whole co-signed envelope (RFC 8785 JSON, the same payload byte for byte). A reader
 * merges the signatures of every such file whose name is its digest and whose payload is the
 * committed envelope's into the committed envelope, at most MAX_SIGNATURES in all:
 *
 * 1. the committed signatures, always;
 * 2. when the reader knows whom it trusts (`--pubkey`, `--policy`): for each trusted key, the first
 *    signature of the files (in name order) that verifies under it (Ed25519 over the PAE, as
 *    {@link verifyEnvelope} checks it; the keyid a signature claims plays no part);
 * 3. the files' other signatures, in name order, duplicates dropped, in the room left.
 *
 * The merged envelope keeps the signatures' order (committed, then by file name). Anything else is
 * ignored and said (a file whose bytes changed, another payload, a malformed envelope, a file
 * larger than MAX_ENVELOPE_BYTES), and so are signatures left out for lack of room.
 *
 * What bucket write access without keys can do with this: add signatures (they count only when a
 * trusted key made them, as in any envelope), or (in an unversioned bucket: a versioned one's
 * readers read each file's first version, S3Backend.firstVersionOf) remove or spoil a co-signature file, which can
 * only make a threshold fail. Planted files full of junk signatures (their names ground to sort
 * first) cannot push out a signature that a trusted key made when the reader knows its trusted
 * keys (step 2); a reader that does not (sign, export, fsck) keeps the first MAX_SIGNATURES, and
 * reads at most MAX_COSIGNATURE_FILES files. Nothing here makes a snapshot trusted that was not.
 */
import { createHash } from 'node:crypto';
import { MAX_SIGNATURES, maxSignaturesOver, parseEnvelope, serializeEnvelope, verifyEnvelope, type Envelope, type EnvelopeSignature, type TrustedKey } from '../core/envelope.js';

/** The top folder of co-signature files (an "other file" path of the store). */
export const COSIGNATURES_DIR = 'signatures';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** The folder (with its trailing `/`) of NAME@VERSION's co-signature files. */
export function cosignatureFolder(name: string, version: string): string {
  return `${COSIGNATURES_DIR}/${name}/${version}/`;
}

/** The path of a co-signed envelope's file: named by its bytes' SHA-256. */
export function cosignaturePath(name: string, version: string, envelope: Uint8Array): string {
  return `${cosignatureFolder(name, version)}${sha(envelope)}.json`;
}

/**
 * Most co-signature files of one snapshot read by a reader that knows no trusted key (in name
 * order; the rest are left unread and said). A reader that knows its trusted keys reads every file
 * (one at a time per transfer job, each at most MAX_ENVELOPE_BYTES, keeping at most
 * 2 × MAX_SIGNATURES signatures), because a count bound would let planted files sorting first
 * hide a trusted co-signature.
 */
export const MAX_COSIGNATURE_FILES = 1024;

/** Ignored co-signature files named one by one on stderr; the rest are counted in one note. */
const MAX_FILE_NOTES = 20;

/** How a reader ranks the co-signatures it merges. */
export interface CosignatureMergeOptions {
  /**
   * The keys the reader trusts (`--pubkey` keys, the keys of a `--policy`): for each, the first
   * signature that verifies under it is kept before any other co-signature. Absent or empty: the
   * first signatures in name order are kept (and at most MAX_COSIGNATURE_FILES files are read).
   */
  trusted?: readonly TrustedKey[];
  /**
   * Signatures to leave room for (`snap sign`: one per signing key), so that a co-signature can
   * still be added to an envelope whose co-signature files are full of other signatures. Default 0.
   */
  reserve?: number;
}

/** One co-signature file: its path in the store (`signatures/NAME/VERSION/<sha256>.json`) and bytes. */
export interface CosignatureFile {
  path: string;
  bytes: Uint8Array;
}

/** A merge fed one file at a time, in name order (see {@link startCosignatureMerge}). */
export interface CosignatureMerge {
  /** Merge one more file (files must come in name order). */
  add(file: CosignatureFile): void;
  /** Note a file that could not be read whole (e.g. larger than MAX_ENVELOPE_BYTES): it counts as read, and is ignored. */
  ignore(path: string, why: string): void;
  /**
   * True when the caller should read no more files: the committed envelope is unparsable; with
   * trusted keys, every one of them has a signature kept; without, the envelope is full or
   * MAX_COSIGNATURE_FILES were read.
   */
  done(): boolean;
  /**
   * The merged envelope's bytes (`committed` itself when nothing was added); says what was left
   * out: the files not read (`unread` of them) and the signatures dropped for lack of room.
   */
  finish(unread?: number): Uint8Array;
}

/** A new signature of the files and where it was seen. */
interface Candidate {
  at: number;
  sig: EnvelopeSignature;
}

/**
 * Start merging co-signature files into the committed envelope (the module comment's rule),
 * reading the files one at a time: memory stays bounded by 2 × MAX_SIGNATURES signatures whatever
 * the number of files. Signatures are checked with {@link verifyEnvelope} (SPEC §5: every trusted
 * key is tried; the keyid is a hint only), at most MAX_SIGNATURES × trusted.length Ed25519
 * verifications per file.
 * @param committed the committed `envelope.json` bytes (returned as they are when unparsable:
 *   verify reports that)
 * @param note      told of each file that is ignored and why (the first MAX_FILE_NOTES by name, the
 *   rest counted), of files left unread and of signatures dropped for lack of room
 * @throws nothing: bad files are notes, never errors
 */
export function startCosignatureMerge(committed: Uint8Array, note: (text: string) => void, opts: CosignatureMergeOptions = {}): CosignatureMerge {
  let base: Envelope | undefined;
  try {
    base = parseEnvelope(committed);
  } catch {
    base = undefined;
  }
  const trusted = opts.trusted ?? [];
  const trustedKeyids = new Set(trusted.map((k) => k.keyid)).size;
  // Fewer than MAX_SIGNATURES over a large statement (MAX_SIGNATURE_WORK_BYTES): never more than verify accepts.
  const room = Math.max(0, (base ? maxSignaturesOver(base.payload) : MAX_SIGNATURES) - (opts.reserve ?? 0) - (base?.signatures.length ?? 0));
  const seen = new Set(base?.signatures.map((s) => s.sig) ?? []);
  /** Trusted keyids that already have a kept signature (committed, or the first from a file). */
  const signedBy = new Set<string>();
  if (base && trusted.length > 0) {
    try {
      for (const s of verifyEnvelope(base, trusted).signatures) if (s.verifiedBy !== undefined) signedBy.add(s.verifiedBy);
    } catch {
      base = undefined; // a payload that is not base64: verify reports the envelope
    }
  }
  const firsts: Candidate[] = []; // the first signature from the files verified by each trusted key not yet signed
  const others: Candidate[] = []; // every other new signature, the first `room` of them
  let candidates = 0;
  let files = 0;
  let ignored = 0;
  const ignore = (path: string, why: string): void => {
    if (++ignored <= MAX_FILE_NOTES) note(`co-signature file ${path} ${why}: ignored`);
  };
  return {
    ignore(path, why) {
      files++;
      ignore(path, why);
    },
    add(f) {
      files++;
      if (!base) return;
      const env = asCosignature(base, f.path, f.bytes);
      if ('why' in env) return ignore(f.path, env.why);
      const fresh = env.signatures.filter((s) => !seen.has(s.sig));
      if (fresh.length === 0) return;
      const checks = trusted.length > 0 ? verifyEnvelope({ ...base, signatures: fresh }, trusted).signatures : [];
      fresh.forEach((sig, i) => {
        if (seen.has(sig.sig)) return; // twice in this file
        const c: Candidate = { at: candidates++, sig };
        const by = checks[i]?.verifiedBy;
        // `seen` holds the kept signatures only (at most 2 × MAX_SIGNATURES): a dropped one met again is dropped again.
        if (by !== undefined && !signedBy.has(by) && firsts.length < room) {
          signedBy.add(by);
          firsts.push(c);
          seen.add(sig.sig);
        } else if (others.length < room) {
          others.push(c);
          seen.add(sig.sig);
        }
      });
    },
    done() {
      if (!base) return true;
      // Knowing its trusted keys, a reader reads every file (any of them may hold a trusted
      // signature) until each trusted key has a signature kept: no later file can add to the verdict.
      if (trusted.length > 0) return signedBy.size >= trustedKeyids;
      return others.length >= room || files >= MAX_COSIGNATURE_FILES;
    },
    finish(unread = 0) {
      if (ignored > MAX_FILE_NOTES) note(`${ignored - MAX_FILE_NOTES} more co-signature files ignored`);
      if (unread > 0 && base && trusted.length === 0) note(`${unread} co-signature file(s) not read (${files >= MAX_COSIGNATURE_FILES ? `at most ${MAX_COSIGNATURE_FILES} are read when no trusted key is given` : `the envelope is full${opts.reserve ? `, room kept for ${opts.reserve} new signature(s)` : ''}`})`);
      // With trusted keys, files are left unread only once each key has a signature kept: nothing to say.
      if (!base) return committed;
      // firsts.length ≤ room (add() keeps it so): the others fill what is left, in file order.
      const kept = [...firsts, ...others.slice(0, room - firsts.length)].sort((x, y) => x.at - y.at);
      const dropped = candidates - kept.length;
      if (dropped > 0) {
        const rank = trusted.length > 0 ? ' (those that verify under a trusted key kept first)' : '';
        note(`${dropped} signature(s) of co-signature files left out: the envelope carries at most ${MAX_SIGNATURES}${opts.reserve ? `, ${opts.reserve} kept free for signing` : ''}${rank}`);
      }
      if (kept.length === 0) return committed;
      return serializeEnvelope({ ...base, signatures: [...base.signatures, ...kept.map((c) => c.sig)] });
    },
  };
}

/**
 * The file `path` (`signatures/NAME/VERSION/<hex>.json`) as a co-signature of the snapshot whose
 * committed envelope is `base`: its envelope, or why it is none — its name is not its SHA-256, it
 * is not an envelope, or it signs another payload or payload type. Its signatures are not checked
 * (that takes trusted keys). The one rule {@link startCosignatureMerge} and `retain` apply.
 */
function asCosignature(base: Envelope, path: string, bytes: Uint8Array): Envelope | { why: string } {
  const m = /\/([0-9a-f]{64})\.json$/.exec(path);
  if (!m || m[1] !== sha(bytes)) return { why: 'does not hash to its name' };
  let env: Envelope;
  try {
    env = parseEnvelope(bytes);
  } catch {
    return { why: 'is not an envelope' };
  }
  if (env.payload !== base.payload || env.payloadType !== base.payloadType) return { why: "signs another payload than the snapshot's" };
  return env;
}

/**
 * Why the file at `path` is not a co-signature of the snapshot whose committed envelope bytes are
 * `committed` (see {@link asCosignature}), or `undefined` when it is one: what
 * {@link startCosignatureMerge} ignores, said the same way.
 */
export function notCosignatureOf(committed: Uint8Array, path: string, bytes: Uint8Array): string | undefined {
  let base: Envelope;
  try {
    base = parseEnvelope(committed);
  } catch {
    return 'cannot be compared with the committed envelope, which is not one';
  }
  const c = asCosignature(base, path, bytes);
  return 'why' in c ? c.why : undefined;
}

/**
 * The committed envelope with the co-signatures of `files` merged in (see the module comment):
 * {@link startCosignatureMerge} fed every file in name order.
 * @param committed the committed `envelope.json` bytes (returned as they are when unparsable:
 *   verify reports that)
 * @param files     co-signature files: path and bytes (any order)
 * @param note      told of each file that is ignored, and why, and of signatures left out
 * @param opts      the reader's trusted keys and the room to keep free ({@link CosignatureMergeOptions})
 * @returns the envelope's bytes (RFC 8785 JSON, as serializeEnvelope): `committed` itself when nothing was added
 * @throws nothing: bad files are notes, never errors
 */
export function mergeCosignatures(committed: Uint8Array, files: CosignatureFile[], note: (text: string) => void, opts: CosignatureMergeOptions = {}): Uint8Array {
  const merge = startCosignatureMerge(committed, note, opts);
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  let read = 0;
  for (const f of sorted) {
    if (merge.done()) break;
    merge.add(f);
    read++;
  }
  return merge.finish(sorted.length - read);
}
