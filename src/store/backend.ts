/**
 * One small interface in front of where a store keeps its bytes, in the style of restic's
 * `internal/backend`: the local folder (`local.ts`, SPEC §7, the default) and an S3 bucket
 * (`s3.ts`, docs/FORMAT.md §23). Every name a backend is asked for is content-addressed or
 * write-once, except the mutable "other" files (revocations, attestations, checkpoints…), which are
 * signed where they matter.
 *
 * A backend knows nothing of statements or signatures: it moves bytes. What is trusted is decided
 * by the commands, over the local layout (see `sync.ts` for how a remote store is used).
 */
import type { Readable } from 'node:stream';

/** A snapshot's files as a backend holds them: file name (e.g. `statement.json`) → bytes. */
export type SnapshotFiles = Map<string, Uint8Array>;

/** Object Lock retention (S3 Object Lock; refused by the local backend). */
export interface Retention {
  /** `COMPLIANCE` (nobody can shorten or delete) or `GOVERNANCE` (a privileged user can). */
  mode: 'COMPLIANCE' | 'GOVERNANCE';
  /** Until when (the lock is never shortened). */
  until: Date;
}

/** What {@link StoreBackend.putObject} did. */
export type PutResult = 'stored' | 'present';

/** A held backend lock. */
export interface BackendLock {
  /** Release it (once; later calls do nothing). */
  release(): Promise<void>;
}

/** A snapshot a backend holds, and what the backend knows about how it was committed. */
export interface CommittedSnapshot {
  name: string;
  version: string;
  /**
   * Later commits of the same NAME@VERSION that lost (S3 store on a server that ignores
   * `If-None-Match`): their snapshot ids, reported and ignored (FORMAT.md §23.3).
   */
  ignored?: string[];
}

/**
 * The store backend. Digests are 64 lowercase hex SHA-256 digits.
 * Errors are `SnapError`s: `SNAPSHOT_EXISTS`, `OBJECT_CORRUPT` (a read whose bytes do not hash to
 * their name), `STORE_LOCKED`, `NOT_FOUND`, `IO_ERROR`, `USAGE` (e.g. retention on a local store).
 */
export interface StoreBackend {
  /** `local` or `s3`. */
  readonly kind: 'local' | 's3';
  /** Where it is, as the user named it (a folder, `s3://BUCKET/PREFIX`). */
  readonly location: string;

  /** Whether the object named by `hex` is there. */
  hasObject(hex: string): Promise<boolean>;
  /**
   * The object's bytes as a stream, re-hashed as read: the stream fails with `OBJECT_CORRUPT`
   * at its end when the bytes do not hash to `hex`. `NOT_FOUND` when absent.
   */
  getObject(hex: string): Promise<Readable>;
  /**
   * Store an object unless it is there already (never replaced: write-once).
   * @param open   gives the bytes (called at most once, only when they are needed)
   * @param size   their length in bytes
   * @param retain Object Lock for a new object (S3 only)
   */
  putObject(hex: string, open: () => Readable, size: number, retain?: Retention): Promise<PutResult>;
  /** Every object's digest, in no particular order. */
  listObjects(): AsyncIterable<string>;

  /** The committed snapshots. */
  listSnapshots(): Promise<CommittedSnapshot[]>;
  /** A committed snapshot's files. `NOT_FOUND` when it is not there. */
  readSnapshot(name: string, version: string): Promise<SnapshotFiles>;
  /**
   * Commit a snapshot's files at once: a reader sees all of them or none; of two committers of
   * one NAME@VERSION exactly one wins, the other gets `SNAPSHOT_EXISTS`.
   */
  commitSnapshot(name: string, version: string, files: SnapshotFiles, retain?: Retention): Promise<void>;

  /** The audit log's lines (each with its `\n`) and its head (`log.head`'s bytes), if any. */
  readLog(): Promise<{ lines: Uint8Array[]; head?: Uint8Array }>;
  /** Append whole lines (seq numbers following the last one) and move the head. */
  appendLog(lines: Uint8Array[], head: Uint8Array, retain?: Retention): Promise<void>;

  /**
   * The store's other files (revocations/, attestations/, log checkpoints/, …): paths relative to
   * the store root, with `/` separators.
   */
  listFiles(): Promise<string[]>;
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, bytes: Uint8Array): Promise<void>;

  /** Take the store's write lock (waits up to `waitMs`; `STORE_LOCKED` after). */
  lock(waitMs?: number): Promise<BackendLock>;
}

/** Whether a `--store` value names an S3 store (`s3://BUCKET[/PREFIX]`). */
export function isS3Store(text: string | undefined): text is string {
  return typeof text === 'string' && /^s3:\/\//i.test(text);
}

/** The snapshot file names every snapshot has, and the unsigned bookkeeping beside them. */
export const SNAPSHOT_FILE_NAMES = ['manifest.jsonl', 'statement.json', 'envelope.json', 'contents.json'] as const;

/**
 * A committed snapshot's staged file whose current version in a versioned bucket is not the one its
 * commit object pins (FORMAT.md §23.3): written over (`current`, the version ID now there) or
 * deleted (`current` `null`: a delete marker) after the seal wrote version `pinned`. Every reader
 * still reads `pinned`; someone with write access to the bucket changed the key.
 */
export interface ChangedFile {
  /** The file's name (`manifest.jsonl`, …). */
  file: string;
  /** The version ID the commit object records. */
  pinned: string;
  /** The key's current version ID; `null` for a delete marker. */
  current: string | null;
}

/**
 * What happened to a {@link ChangedFile} of snapshot `ref` in the store at `location`, as fsck's
 * failure and every reader's note begin: `REF: its FILE in LOCATION was written over (now version
 * V) | was deleted (a delete marker is its newest version) after the seal wrote version P, which
 * its commit object pins`.
 */
export function changedFileText(location: string, ref: string, c: ChangedFile): string {
  const now = c.current === null ? 'deleted (a delete marker is its newest version)' : `written over (now version ${c.current})`;
  return `${ref}: its ${c.file} in ${location} was ${now} after the seal wrote version ${c.pinned}, which its commit object pins`;
}
