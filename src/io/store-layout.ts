/**
 * The local store's own layout (docs/FORMAT.md §6), name by name and kind by kind: every entry snap
 * itself puts in a store folder, and nothing else. One place, read by
 *
 * - the dataset walk (walk.ts, parallel-walk.ts) and a drill's copy, which leave out of a dataset
 *   only the layout of a store lying inside it: every other entry under the store folder is data
 *   (verify reports it as an extra file, seal seals it). A loader that lists the dataset reads it:
 *   torchvision's `ImageFolder` takes `.snap` for a class and loads `.snap/poison.jpg`, a glob
 *   `**\/*.jpg` loads `.snap/objects/ab/p.jpg`;
 * - fsck (ops/fsck.ts), whose strays under `objects/` and `snapshots/` are the entries these rules
 *   do not name ({@link FAN_RE}, {@link REST_RE}, {@link SNAPSHOT_FILES}).
 *
 * Every name here is exact: a fan-out folder is two lowercase hex digits, an object 62 more with no
 * extension, a snapshot folder a `NAME` and a `VERSION` snap accepts, holding its four files by
 * name. A name in the layout counts only with its kind: a folder where a file belongs (a
 * `store.json/` holding `x.jpg`), a symbolic link or a FIFO anywhere is no entry snap makes, so it
 * is data. What the layout holds is the store's whatever its bytes: an object whose bytes do not
 * hash to its name, or that no snapshot references, is fsck's and prune's business, not data — and
 * no object name has an extension a loader picks. What a store holds under `tmp/` is a running
 * writer's: a reader (verify, diff, a drill) takes it for data (no writer runs during a clean verify,
 * and a writer empties it when it takes and releases the lock); the seal that holds the lock leaves
 * its own `tmp/` out ({@link LayoutOptions.ownTmp}).
 */
import { NAME_RE, VERSION_RE } from '../core/refs.js';
import { CONTENTS_FILE, ENVELOPE_FILE, LOCK_FILE, MANIFEST_FILE, STATEMENT_FILE, STORE_MARKER_FILE } from './store.js';
import { LOG_FILE, LOG_HEAD_FILE, LOG_LOCK_FILE } from './audit-log.js';
import { CHECKPOINT_PARTIAL_WRITE_RE, REVOCATION_PARTIAL_WRITE_RE, SNAPSHOT_PARTIAL_WRITE_RE } from './leftovers.js';
import { REVOCATIONS_DIR, REVOCATION_FILE_NAME } from '../trust/revocations.js';
import { CHECKPOINTS_DIR, CHECKPOINT_NAME } from '../trust/log-checkpoints.js';

/** The name of a fan-out folder of `objects/sha256`: the first 2 hex of its objects' digests. */
export const FAN_RE = /^[0-9a-f]{2}$/;
/** The name of an object in its fan-out folder: the other 62 hex of its digest. */
export const REST_RE = /^[0-9a-f]{62}$/;
/** The folder of model attestations (FORMAT §13): `attestations/<MODEL>/<VERSION>/`. */
export const ATTESTATIONS_DIR = 'attestations';
/** The files of a snapshot folder `snapshots/<NAME>/<VERSION>/`: the three signed ones and `contents.json`. */
export const SNAPSHOT_FILES: ReadonlySet<string> = new Set([MANIFEST_FILE, STATEMENT_FILE, ENVELOPE_FILE, CONTENTS_FILE]);
/** The files of an attestation folder `attestations/<MODEL>/<VERSION>/`. */
const ATTESTATION_FILES: ReadonlySet<string> = new Set([STATEMENT_FILE, ENVELOPE_FILE]);
/** A revocations folder's name: the hex of the snapshot id revoked. */
const SNAPSHOT_HEX_RE = /^[0-9a-f]{64}$/;
/**
 * The files of the store root: its marker, the audit log and its head, the two locks and their
 * takeover guards (each there only while held or being taken over).
 */
const ROOT_FILES: ReadonlySet<string> = new Set([STORE_MARKER_FILE, LOG_FILE, LOG_HEAD_FILE, LOCK_FILE, LOG_LOCK_FILE, `${LOCK_FILE}.takeover`, `${LOG_LOCK_FILE}.takeover`]);
/**
 * A root file's temporary name, `.<file>.<12 hex>.tmp`: an atomic write of `store.json` or
 * `log.head` (`writeFileAtomic`), or a lock moved aside to be removed (`removeIfSame`).
 */
const ROOT_PARTIAL_RE = /^\.(.+)\.[0-9a-f]{12}\.tmp$/;
/** The store's folder of work in progress. */
export const TMP_DIR = 'tmp';

/** An entry's kind on disk, as the layout tells them apart: a regular file, a folder (not a link to one), anything else. */
export type LayoutKind = 'file' | 'folder' | 'other';

/** Options of {@link storeLayout}. */
export interface LayoutOptions {
  /**
   * `tmp/` and all it holds are the store's: set only by the writer that holds the store's lock
   * (seal), whose own work in progress is there. Otherwise what `tmp/` holds is data.
   */
  ownTmp?: boolean;
}

/**
 * One kind of entry of the layout: its name (a set of names, or a pattern), its kind, and for a
 * folder the entries it may hold (`'all'`: everything it holds is the store's, unread).
 */
export interface LayoutRule {
  name: ReadonlySet<string> | RegExp | ((name: string) => boolean);
  kind: 'file' | 'folder';
  holds?: readonly LayoutRule[] | 'all';
}

const file = (name: LayoutRule['name']): LayoutRule => ({ name, kind: 'file' });
const folder = (name: LayoutRule['name'], holds: LayoutRule['holds']): LayoutRule => ({ name, kind: 'folder', holds });
const one = (n: string): ReadonlySet<string> => new Set([n]);

/** The layout below the root, the same for every store. */
const OBJECTS = folder(one('objects'), [folder(one('sha256'), [folder(FAN_RE, [file(REST_RE)])])]);
const SNAPSHOTS = folder(one('snapshots'), [folder(NAME_RE, [folder(VERSION_RE, [file(SNAPSHOT_FILES), file(SNAPSHOT_PARTIAL_WRITE_RE)])])]);
const ATTESTATIONS = folder(one(ATTESTATIONS_DIR), [folder(NAME_RE, [folder(VERSION_RE, [file(ATTESTATION_FILES)])])]);
const REVOCATIONS = folder(one(REVOCATIONS_DIR), [folder(SNAPSHOT_HEX_RE, [file(REVOCATION_FILE_NAME), file(REVOCATION_PARTIAL_WRITE_RE)])]);
const CHECKPOINTS = folder(one(CHECKPOINTS_DIR), [file(CHECKPOINT_NAME), file(CHECKPOINT_PARTIAL_WRITE_RE)]);
const ROOT_COMMON: readonly LayoutRule[] = [
  file(ROOT_FILES),
  file((n) => ROOT_FILES.has(ROOT_PARTIAL_RE.exec(n)?.[1] ?? '')),
  OBJECTS,
  SNAPSHOTS,
  ATTESTATIONS,
  REVOCATIONS,
  CHECKPOINTS,
];
const ROOT_READER: readonly LayoutRule[] = [...ROOT_COMMON, folder(one(TMP_DIR), [])];
const ROOT_WRITER: readonly LayoutRule[] = [...ROOT_COMMON, folder(one(TMP_DIR), 'all')];

/** The entries a store's root folder may hold (see {@link LayoutOptions}). */
export function storeLayout(opts: LayoutOptions = {}): readonly LayoutRule[] {
  return opts.ownTmp ? ROOT_WRITER : ROOT_READER;
}

function nameMatches(rule: LayoutRule, name: string): boolean {
  const n = rule.name;
  if (n instanceof RegExp) return n.test(name);
  if (typeof n === 'function') return n(name);
  return n.has(name);
}

/**
 * How an entry of a store folder counts, given the rules of the folder it is in (the store's root:
 * {@link storeLayout}; a folder of the layout: what its {@link LayoutRule.holds} gave):
 * - `'data'`: not the store's — a dataset walk takes it (and all a folder holds) for data;
 * - `'store'`: the store's: a file, or a folder whose whole content is (`tmp/` of the seal holding
 *   the lock); left out, not entered;
 * - the rules of a layout folder: not data itself, entered, each of its entries judged by them.
 */
export function judgeStoreEntry(rules: readonly LayoutRule[], name: string, kind: LayoutKind): 'data' | 'store' | readonly LayoutRule[] {
  if (kind === 'other') return 'data';
  for (const r of rules) {
    if (r.kind !== kind || !nameMatches(r, name)) continue;
    if (kind === 'file' || r.holds === 'all') return 'store';
    return r.holds ?? [];
  }
  return 'data';
}

/**
 * How the entry at `segments` (its path below the store root, split at `/`; at least one) counts,
 * each folder above it taken to be a real folder: as {@link judgeStoreEntry}, `'data'` as soon as a
 * folder above it is data (or wholly the store's: then `'store'`), a layout folder's rules for a
 * layout folder.
 */
export function judgeStorePath(segments: readonly string[], kind: LayoutKind, opts: LayoutOptions = {}): 'data' | 'store' | readonly LayoutRule[] {
  let rules = storeLayout(opts);
  for (let i = 0; i < segments.length - 1; i++) {
    const v = judgeStoreEntry(rules, segments[i] as string, 'folder');
    if (typeof v === 'string') return v;
    rules = v;
  }
  return judgeStoreEntry(rules, segments[segments.length - 1] as string, kind);
}
