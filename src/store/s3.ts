/**
 * The S3 store behind the {@link StoreBackend} interface (docs/FORMAT.md §23). Loaded by dynamic
 * `import()` only for `s3://` stores, so `@aws-sdk` stays out of every other command's start-up.
 *
 * Layout under `s3://BUCKET/PREFIX/`:
 * ```
 * store.json                                  {"format":"snap-store/1"}
 * objects/sha256/<hex 0-1>/<hex 2-63>         one object per distinct content (write-once)
 * snapshots/<NAME>/<VERSION>/staged/<token>/  a sealer's snapshot files (manifest.jsonl …)
 * snapshots/<NAME>/<VERSION>/commit.json      the commit object: which staged files are the snapshot
 * log/<seq, 12 digits>.jsonl                  one audit log line per object; log.head its anchor
 * locks/<ms>-<token>.json                     the store lock: one exclusive holder, or readers and one adding writer (lock())
 * log.locks/<ms>-<token>.json                 the audit log's append lock (lockLog())
 * revocations/… attestations/… checkpoints/…  the other store files, at their local paths
 * ```
 * Write-once: objects are PUT with `If-None-Match: *` after a HEAD (the HEAD is what protects on
 * servers that ignore the condition), their SHA-256 sent as `x-amz-checksum-sha256` so that the
 * server refuses a body damaged on the way; every read is re-hashed. The commit object's FIRST
 * version wins (FORMAT.md §23.3), which holds also where `If-None-Match` is ignored.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectRetentionCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { SnapError } from '../core/errors.js';
import { escapeForTerminal } from '../core/display.js';
import { NAME_RE, VERSION_RE } from '../core/refs.js';
import { canonicalJson } from '../core/canonical-json.js';
import { MAX_STATEMENT_BYTES } from '../core/statement.js';
import { MAX_ENVELOPE_BYTES } from '../core/envelope.js';
import { MAX_CONTENTS_BYTES } from '../io/store.js';
import { MAX_HEAD_BYTES, MAX_LOG_LINE_BYTES, parseAuditLine, parseHead } from '../io/audit-log.js';
import { RESERVED_ROOT_NAMES, rehashing } from './local.js';
import { SNAPSHOT_FILE_NAMES, type BackendLock, type ChangedFile, type CommittedSnapshot, type PutResult, type Retention, type SnapshotFiles, type StoreBackend } from './backend.js';
import { killPointForTest } from '../io/test-kill-point.js';
import { bodyPrefix, decodeKey } from '../s3/read-objects.js';

/**
 * Longest segment of a store file's path, in UTF-8 bytes: 255 (NAME_MAX of the local file systems)
 * less the 18 bytes `writeFileAtomic` adds for its temporary name.
 */
const MAX_NAME_BYTES = 255 - 18;
/** The store marker's format (same as a local store's). */
const STORE_FORMAT = 'snap-store/1';
/** The commit object's format marker. */
export const COMMIT_FORMAT = 'snap-commit/1';
/** Objects larger than this go up in parts through `@aws-sdk/lib-storage` (bytes). */
export const MULTIPART_THRESHOLD = 64 * 1024 * 1024;
/** Part size and parts in flight per multipart upload (memory: at most PART_SIZE × QUEUE per upload). */
const PART_SIZE = 16 * 1024 * 1024;
const QUEUE = 2;
/** The smallest part S3 accepts (bytes). */
const MIN_PART_SIZE = 5 * 1024 * 1024;
/** A commit object or log line larger than this is refused unread (bytes). */
const SMALL_LIMIT = 64 * 1024 * 1024;
/**
 * Versions listed under one object key before retention gives up on it (ListObjectVersions, 1,000 a
 * page): snap writes one, or a few after fsck repairs; more were planted.
 */
const MAX_OBJECT_VERSIONS = 10_000;
/** How long a lock may be held before others may take it over, when its holder cannot be checked (ms). */
export const LOCK_STALE_MS = 15 * 60_000;
/** How often a held lock is rewritten with a new `since` (ms): well within {@link LOCK_STALE_MS}. */
const LOCK_REFRESH_MS = 60_000;
/** Versions of one lock object deleted at once when it is removed (one for each PUT: its first and each rewrite). */
const LOCK_VERSION_DELETE_JOBS = 8;
/**
 * Largest lock object read (bytes). snap's are `{"pid":…,"host":…,"since":…}`: under 400 bytes
 * (a host name is at most 253 bytes, RFC 1035 §2.3.4; Linux's HOST_NAME_MAX is 64). A larger one
 * is none snap wrote: read no further, and taken as a malformed lock.
 */
export const MAX_LOCK_BYTES = 4096;
/** The folder of the audit log's append locks (FORMAT.md §23.4), apart from `locks/`. */
export const LOG_LOCK_FOLDER = 'log.locks';
/** How long a command waits for another's audit log append (ms): an append is a few requests. */
export const LOG_LOCK_WAIT_MS = 60_000;
/**
 * A store lock's kind (FORMAT.md §23.4): `shared` for a command that only reads the store (and
 * appends its audit log line under the log's own lock); `append` for one that only adds to it —
 * objects, snapshots committed by their commit object, write-once files, retention — which readers
 * may run beside, since none of them sees a snapshot before its commit object; `exclusive` for one
 * that deletes or rewrites what readers read, or reads the whole log or store at once. Shared locks
 * coexist with each other and with one append lock; an append lock excludes another append lock;
 * an exclusive lock excludes every other.
 */
export type LockKind = 'exclusive' | 'append' | 'shared';

/**
 * A lock object as read (S3Backend.lockState): `stale` (removed), `gone` (deleted by its holder
 * between the listing and the read: it holds nothing), held (by whom, and its kind), or malformed.
 */
type LockObjectState = 'stale' | 'gone' | { holder: string; kind: LockKind } | { malformed: string };

/**
 * The kind of a lock object's body (FORMAT.md §23.4): `"shared": true` alone is a reader's,
 * `"append": true` alone an adding writer's; anything else — neither, both, or what an older snap
 * writes for every command — is exclusive.
 */
function lockKindOfBody(body: { shared?: unknown; append?: unknown }): LockKind {
  const shared = body.shared === true;
  const append = body.append === true;
  return shared && !append ? 'shared' : append && !shared ? 'append' : 'exclusive';
}

/**
 * Whether a lock of kind `mine` may be held beside a live one of kind `theirs` (FORMAT.md §23.4):
 * readers beside readers and beside one adding writer; nothing beside an exclusive lock.
 */
export function lockKindsCoexist(mine: LockKind, theirs: LockKind): boolean {
  if (mine === 'exclusive' || theirs === 'exclusive') return false;
  return mine === 'shared' || theirs === 'shared';
}

/** What keeps a lock from being held (S3Backend.lockConflicts): lock objects as [key, who holds it]. */
interface LockConflicts {
  conflicts: [string, string][];
  readers: [string, string][];
}

/** Where an S3 store is. */
export interface S3StoreLocation {
  bucket: string;
  /** '' or ending with '/'. */
  prefix: string;
}

interface Version {
  key: string;
  versionId?: string;
}

/**
 * A key of a listing asked with `EncodingType: url`, decoded when the server says it encoded it
 * (`encoded`: the listing's own `EncodingType`; moto ignores it for ListObjectVersions): the key as
 * it is in the bucket. A listing's keys come in XML, whose parser reads a carriage return as a line
 * feed (and could not carry some control characters at all): a planted key `…x\r` was listed as
 * `…x\n`, its GET failed, and so did every command of the store. Undefined for none, and for a key
 * whose bytes are not UTF-8 (no string names it; none of snap's).
 */
function listedKey(raw: string | undefined, encoded: boolean): string | undefined {
  if (!raw) return undefined;
  if (!encoded) return raw;
  const d = decodeKey(raw);
  return d.keyHex === undefined ? d.key : undefined;
}

function status(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}
function isNotFound(e: unknown): boolean {
  const n = (e as { name?: string })?.name;
  return status(e) === 404 || n === 'NotFound' || n === 'NoSuchKey';
}
function isPreconditionFailed(e: unknown): boolean {
  return status(e) === 412 || (e as { name?: string })?.name === 'PreconditionFailed';
}
/**
 * The working copy's disk filling up (ENOSPC, EDQUOT: errors of the local file system, never of
 * the server) while `what` wrote to it, as `DISK_FULL` — what io/errors.ts `ioError` names it for a
 * local store; undefined for any other error.
 */
export function workingCopyFull(e: unknown, what: string): SnapError | undefined {
  const code = (e as { code?: unknown } | undefined)?.code;
  if (e instanceof SnapError || (code !== 'ENOSPC' && code !== 'EDQUOT')) return undefined;
  return new SnapError('DISK_FULL', `${what}: no space left on the device of the S3 store's working copy (${escapeForTerminal(tmpdir())}, $TMPDIR); free some space there, or point $TMPDIR at a larger disk, and run the command again`, { errno: code }, { cause: e });
}

/** A transport or server error as `IO_ERROR` (SnapErrors pass through; a full working copy's disk: {@link workingCopyFull}). */
export function s3Error(e: unknown, what: string): SnapError {
  if (e instanceof SnapError) return e;
  const full = workingCopyFull(e, `S3: cannot ${what}`);
  if (full) return full;
  const err = e as { name?: string; message?: string };
  return new SnapError('IO_ERROR', `S3: cannot ${what}: ${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`, { status: status(e) ?? null });
}

async function bodyBytes(body: unknown, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) throw new SnapError('STORE_MALFORMED', `${what} is larger than ${limit} bytes`, {});
    chunks.push(Buffer.from(c));
  }
  return Buffer.concat(chunks);
}

/**
 * `OBJECT_CORRUPT` for objects in the store whose size is not their content's: their bytes cannot
 * hash to their name (someone else wrote them), so no snapshot may count on them.
 */
export function wrongSize(location: string, objects: { sha256: string; size: number; stored: number }[]): SnapError {
  const first = objects[0] as { sha256: string; size: number; stored: number };
  return new SnapError(
    'OBJECT_CORRUPT',
    `${objects.length} object(s) in ${location} are not what their name says (e.g. ${first.sha256}: ${first.stored} bytes stored, its content has ${first.size}); objects are write-once, so the seal cannot replace them and nothing was committed: run snap fsck --store ${location} and have the store's owner remove them`,
    { objects: objects.slice(0, 100) },
  );
}

/**
 * Most bytes copied of a snapshot's files other than the manifest: one more than the local store's
 * readers read (`snapshot.ts`, `io/store.ts`, `fsck.ts`), which refuse a file that long.
 */
export const SNAPSHOT_FILE_LIMITS: Readonly<Record<string, number>> = {
  'statement.json': MAX_STATEMENT_BYTES + 1,
  'envelope.json': MAX_ENVELOPE_BYTES + 1,
  'contents.json': MAX_CONTENTS_BYTES + 1,
};

/** Largest commit object read (bytes); snap's are about 500 (about 700 with `versions`). */
const MAX_COMMIT_BYTES = 64 * 1024;

/**
 * A version ID a commit object may record (`versions`, FORMAT.md §23.3): 1 to 1,024 printable ASCII
 * characters, no space. AWS's are about 32 characters of URL-safe base64 (with `+`, `/`, `.`, `_`),
 * Ceph's 32 alphanumerics and `.`, moto's UUIDs.
 */
const VERSION_ID_RE = /^[\x21-\x7e]{1,1024}$/;

/** A committed snapshot as its commit object names it (FORMAT.md §23.3). */
export interface Commit {
  /** The staged folder's token: 32 hex digits. */
  staged: string;
  /** Each file's SHA-256 (hex), by name (`manifest.jsonl`, …). */
  files: Record<string, string>;
  /** `sha256:<hex>` of the statement ('' when it has none). */
  snapshot: string;
  /** The version ID each file was written as, by name, in a versioned bucket (empty otherwise, and in commits written before snap recorded them). */
  versions: Record<string, string>;
}

/** The top folders of the layout whose keys are no other files (listed by their own readers). */
const OWN_FOLDERS: readonly string[] = ['objects/', 'snapshots/', 'log/', 'locks/'];

/**
 * The folders of a store's other files (docs/FORMAT.md §6, §23): revocations
 * (trust/revocations.ts REVOCATIONS_DIR), model attestations (provenance/attestation-store.ts),
 * audit log checkpoints (trust/log-checkpoints.ts CHECKPOINTS_DIR) and co-signatures
 * (store/cosignatures.ts COSIGNATURES_DIR); a test holds them to those constants.
 */
export const FILE_FOLDERS: readonly string[] = ['revocations/', 'attestations/', 'log.checkpoints/', 'signatures/'];

/** The folder of co-signature files (store/cosignatures.ts COSIGNATURES_DIR), one of {@link FILE_FOLDERS}. */
const COSIGNATURE_FOLDER = 'signatures/';

/** The folder of revocations (trust/revocations.ts REVOCATIONS_DIR), one of {@link FILE_FOLDERS}. */
export const REVOCATION_FOLDER = 'revocations/';

/** The folder of model attestations (provenance/attestation-store.ts), one of {@link FILE_FOLDERS}. */
export const ATTESTATION_FOLDER = 'attestations/';

/**
 * The folders of {@link FILE_FOLDERS} whose files are written once (co-signatures, FORMAT.md §23.8,
 * and revocations, §15, each named by its bytes' SHA-256; model attestations, §13, by their
 * MODEL@VERSION, which `attest` refuses to write again): in a versioned bucket each is read at its
 * first version ({@link S3Backend.firstVersionOf}), whatever was written over it or a delete marker
 * put on it later — someone else's, which must not take a co-signature away, hide a revocation, or
 * hide or replace what a model was trained on. The log checkpoints are not among them: a checkpoint
 * file is rewritten when another key co-signs it (trust/log-checkpoints.ts), so its current version
 * is read.
 */
const FIRST_VERSION_FOLDERS: readonly string[] = [COSIGNATURE_FOLDER, REVOCATION_FOLDER, ATTESTATION_FOLDER];

/** One day in milliseconds (S3 default retention periods are whole days, or years of 365 days here). */
const DAY_MS = 86_400_000;

/**
 * Most keys under `snapshots/` that are none of snap's kept by name (for fsck's strays and the
 * note every command gives), and most keys under `objects/` that are not object names listed by
 * fsck as strays; the rest are only counted, so planted junk costs no memory. snap writes none of
 * them: a store in use has none.
 */
export const MAX_JUNK_KEYS_KEPT = 1000;

/**
 * Bounds of the listing of the other files ({@link FILE_FOLDERS}; FORMAT.md §23.5), so that the
 * memory a command spends on it, and the files it copies, do not grow with keys planted there.
 * Each equals, or is one past, what the local store's reader of those files reads (a test holds
 * them to trust/revocations.ts, trust/log-checkpoints.ts and store/cosignatures.ts):
 *
 * - revocations: per snapshot folder `revocations/<64 hex>/`, {@link MAX_REVOCATION_FILES_READ} + 1
 *   files (the reader refuses a folder with more, REVOCATION_MALFORMED, as in a local store); in
 *   all, {@link MAX_REVOCATION_FILES_LISTED};
 * - attestations: {@link MAX_ATTESTATION_FILES_LISTED} files (two an attestation);
 * - log checkpoints: {@link MAX_CHECKPOINT_FILES_READ} + 1 files (the reader refuses more,
 *   CHECKPOINT_MALFORMED);
 * - co-signatures: {@link MAX_COSIGNATURE_FILES_LISTED} in all (of any number of snapshots), however
 *   many of one snapshot: a command that knows no trusted key reads the first
 *   {@link MAX_COSIGNATURE_FILES_READ} of a snapshot by name, but one that does reads them until each
 *   of its keys has a signature kept (store/cosignatures.ts), so that files planted to sort first
 *   cannot push a genuine co-signature out of what it sees.
 *
 * Past a bound, co-signature and checkpoint files are counted and skipped ({@link fileSkips}): a
 * co-signature not read can leave a threshold unmet, never make a snapshot trusted, and the
 * checkpoint reader refuses the folder anyway. Past the bound of revocations or of attestations the
 * listing is refused (`STORE_MALFORMED`): a revocation left out could let a revoked snapshot pass,
 * and an attestation left out could be written over by `attest` (a store file goes back by a plain
 * PUT). A store in use is far below each: revocations and attestations are a few per snapshot or
 * model, not thousands.
 */
export const MAX_REVOCATION_FILES_READ = 64;
/** See {@link MAX_REVOCATION_FILES_READ}: revocation files listed in all (of any number of snapshots). */
export const MAX_REVOCATION_FILES_LISTED = 10_000;
/** See {@link MAX_REVOCATION_FILES_READ}: attestation files listed (statement.json and envelope.json of 10,000 attestations). */
export const MAX_ATTESTATION_FILES_LISTED = 20_000;
/** See {@link MAX_REVOCATION_FILES_READ}: trust/log-checkpoints.ts MAX_CHECKPOINTS. */
export const MAX_CHECKPOINT_FILES_READ = 10_000;
/** See {@link MAX_REVOCATION_FILES_READ}: store/cosignatures.ts MAX_COSIGNATURE_FILES. */
export const MAX_COSIGNATURE_FILES_READ = 1024;
/** See {@link MAX_REVOCATION_FILES_READ}: co-signature files listed in all (of any number of snapshots). */
export const MAX_COSIGNATURE_FILES_LISTED = 100_000;

/** Audit log lines read at once. */
export const LOG_READ_JOBS = 16;

/**
 * Write the first `limit` bytes of `body` to a new file at `path` (mode 0444); the rest is not read.
 * @returns the SHA-256 (hex) of the bytes written
 */
async function copyAtMost(body: Readable, path: string, limit: number): Promise<string> {
  const fh = await fsp.open(path, 'wx', 0o444);
  const h = createHash('sha256');
  try {
    let left = limit;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
      h.update(part);
      await fh.write(part);
      left -= part.length;
      if (left <= 0) break; // leaving the loop destroys the response: the rest is never downloaded
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

const sha256hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const b64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

/**
 * The checksum fields of a PUT whose body's SHA-256 (`hex`) is known: `x-amz-checksum-sha256`, so
 * the server refuses a body damaged on the way, and `x-amz-sdk-checksum-algorithm: SHA256` naming
 * it. Under an Object Lock retention (the bucket's default rule, or `--retain`) S3 requires a
 * checksum with each PUT; AWS accepts either header, some servers (moto) only the second or
 * `Content-MD5` (FORMAT.md §23.2). The SDK computes nothing more when the value is given.
 */
const sha256Checksum = (hex: string): Pick<PutObjectCommandInput, 'ChecksumAlgorithm' | 'ChecksumSHA256'> => ({ ChecksumAlgorithm: 'SHA256', ChecksumSHA256: b64(hex) });

/** Counters of what this backend sent (tests and the bench read them). */
export interface S3Counters {
  objectPuts: number;
  objectsPresent: number;
}

/** A key of a listing: the whole key, its size in bytes, and when the server last wrote it (ms since the epoch, when the listing says). */
export interface ListedKey {
  key: string;
  size: number;
  modified?: number;
}

/**
 * What {@link S3Backend.open} does where the prefix holds no store: refuse (`false`), make it now
 * (`true`: `snap init`), or make it before the first key the command writes (`'when-written'`:
 * seal, import).
 */
export type CreateStore = boolean | 'when-written';

/** An S3 bucket prefix as a {@link StoreBackend}. */
export class S3Backend implements StoreBackend {
  readonly kind = 's3' as const;
  readonly location: string;
  readonly counters: S3Counters = { objectPuts: 0, objectsPresent: 0 };
  /** Whether the bucket is versioned, asked once (listings started at once share the question). */
  private versioned: Promise<boolean> | undefined;
  /** Winning commit versions found by listSnapshots (key → version). */
  private winners = new Map<string, Version>();

  /** Objects above this many bytes go up in parts ({@link MULTIPART_THRESHOLD} unless given). */
  readonly multipartThreshold: number;

  /**
   * @param opts.multipartThreshold objects above this size (bytes) are uploaded in parts (tests
   *   lower it; parts are at least 5 MiB as S3 requires)
   */
  constructor(
    readonly client: S3Client,
    readonly where: S3StoreLocation,
    opts: { multipartThreshold?: number } = {},
  ) {
    this.location = `s3://${where.bucket}/${where.prefix}`;
    this.multipartThreshold = opts.multipartThreshold ?? MULTIPART_THRESHOLD;
  }

  private key(rel: string): string {
    return this.where.prefix + rel;
  }

  /** `objects/sha256/ab/cdef…` */
  objectKey(hex: string): string {
    return this.key(`objects/sha256/${hex.slice(0, 2)}/${hex.slice(2)}`);
  }

  /**
   * Open the store: read `store.json`. Where there is none: with `create: true`, make it now (`snap
   * init`); with `create: 'when-written'` (seal, import), make it only before the first key this
   * backend writes (an object, a snapshot file, a store file, a log line; never the lock object:
   * see {@link made}), so that a command that fails before it puts anything there leaves no store;
   * without `create`, `NOT_FOUND`. `store.json` is written with `If-None-Match: *`: when another
   * writer made it first, its format is checked as here.
   * @throws SnapError `NOT_FOUND` (no store there, or no such bucket) | `STORE_MALFORMED` | `IO_ERROR`
   * @returns whether this call made the store (false with `'when-written'`: see {@link madeStore})
   */
  async open(create: CreateStore): Promise<boolean> {
    const text = await this.readStoreJson();
    if (text === undefined) {
      if (!create) throw new SnapError('NOT_FOUND', `no snap store at ${this.location}: give --store s3://BUCKET/PREFIX (or set $SNAP_STORE) to the store the snapshots were sealed into, or seal a dataset first: snap seal DIR --as NAME@VERSION --key KEY --store ${this.location} makes the store (snap init --store ${this.location} makes an empty one)`, { store: this.location });
      if (create === 'when-written') {
        this.unmade = true;
        return false;
      }
      return this.makeStore();
    }
    this.checkStoreJson(text);
    return false;
  }

  /** Whether this backend made the store (`store.json`): at {@link open}, or before its first write. */
  get madeStore(): boolean {
    return this.madeHere;
  }

  /** Whether the store is there: false only after an `open('when-written')` that found none, until this backend writes a key. */
  get storeExists(): boolean {
    return !this.unmade;
  }

  /** The store was not there at open('when-written'), and nothing was written since. */
  private unmade = false;
  private madeHere = false;
  /** The PUT of `store.json` in flight (concurrent writers of one command wait for the same one). */
  private making: Promise<void> | undefined;

  /**
   * Make the store, when {@link open} deferred it, before a key is written under the prefix: every
   * write of this backend but the lock object's calls it first.
   * @throws SnapError `STORE_MALFORMED` (another writer made a `store.json` of another format) | `IO_ERROR`
   */
  private async made(): Promise<void> {
    if (!this.unmade) return;
    this.making ??= this.makeStore().then(
      () => {
        this.unmade = false;
      },
      (e: unknown) => {
        this.making = undefined;
        throw e;
      },
    );
    await this.making;
  }

  /**
   * PUT `store.json` with `If-None-Match: *`; when another writer made it first (412), read it and
   * check its format.
   * @returns whether this call made it
   */
  private async makeStore(): Promise<boolean> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.where.bucket, Key: this.key('store.json'), Body: JSON.stringify({ format: STORE_FORMAT }) + '\n', IfNoneMatch: '*' }));
      this.madeHere = true;
      return true;
    } catch (e) {
      if (!isPreconditionFailed(e)) throw s3Error(e, `create the store ${this.location}`);
    }
    const text = await this.readStoreJson();
    if (text !== undefined) this.checkStoreJson(text);
    return false;
  }

  /** `store.json`'s text, or undefined when there is none. @throws SnapError `NOT_FOUND` (no such bucket) | `IO_ERROR` */
  private async readStoreJson(): Promise<string | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.where.bucket, Key: this.key('store.json') }));
      return (await bodyBytes(r.Body, 4096, 'store.json')).toString('utf8');
    } catch (e) {
      if ((e as { name?: string })?.name === 'NoSuchBucket') throw new SnapError('NOT_FOUND', `no bucket ${this.where.bucket} (store ${this.location})`, { store: this.location });
      if (!isNotFound(e)) throw s3Error(e, `read ${this.location}store.json`);
      return undefined;
    }
  }

  /** @throws SnapError `STORE_MALFORMED` unless `text` is `{"format":"snap-store/1"}` */
  private checkStoreJson(text: string): void {
    let fmt: unknown;
    try {
      fmt = (JSON.parse(text) as { format?: unknown }).format;
    } catch {
      /* below */
    }
    if (fmt !== STORE_FORMAT) throw new SnapError('STORE_MALFORMED', `${this.location}store.json does not say {"format":"${STORE_FORMAT}"}`, { store: this.location });
  }

  /** Whether the bucket has Object Lock enabled. */
  async objectLockEnabled(): Promise<boolean> {
    try {
      const r = await this.client.send(new GetObjectLockConfigurationCommand({ Bucket: this.where.bucket }));
      return r.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
    } catch (e) {
      if (status(e) === 404 || (e as { name?: string })?.name === 'ObjectLockConfigurationNotFoundError') return false;
      throw s3Error(e, `read the Object Lock configuration of bucket ${this.where.bucket}`);
    }
  }

  /**
   * The bucket's default retention rule (S3 `DefaultRetention`: a mode and a period of `Days` or
   * `Years`, applied to every new object without retention of its own), when Object Lock is on and
   * the bucket has one. A year counts 365 days (the shortest: a lock computed from it never ends
   * after the one S3 gives an object written at the same moment).
   * @returns the mode and the period (ms), or undefined (also when the key may not read the
   *   bucket's configuration: 403, AccessDenied)
   * @throws SnapError `IO_ERROR`
   */
  async defaultRetention(): Promise<{ mode: Retention['mode']; periodMs: number } | undefined> {
    let rule;
    try {
      const r = await this.client.send(new GetObjectLockConfigurationCommand({ Bucket: this.where.bucket }));
      if (r.ObjectLockConfiguration?.ObjectLockEnabled !== 'Enabled') return undefined;
      rule = r.ObjectLockConfiguration.Rule?.DefaultRetention;
    } catch (e) {
      if (status(e) === 404 || (e as { name?: string })?.name === 'ObjectLockConfigurationNotFoundError') return undefined;
      // A key allowed to write the store but not to read the bucket's configuration (a minimal
      // policy without s3:GetBucketObjectLockConfiguration): seal as without a rule. Only the
      // alignment is lost (fsck may then report the rule's shorter locks; snap retain extends them).
      if (status(e) === 403 || (e as { name?: string })?.name === 'AccessDenied') return undefined;
      throw s3Error(e, `read the Object Lock configuration of bucket ${this.where.bucket}`);
    }
    const mode = rule?.Mode;
    // One of the two is set; moto sends the other as 0.
    const days = rule?.Days ? rule.Days : rule?.Years ? rule.Years * 365 : undefined;
    if ((mode !== 'COMPLIANCE' && mode !== 'GOVERNANCE') || days === undefined || !Number.isSafeInteger(days) || days <= 0) return undefined;
    return { mode, periodMs: days * DAY_MS };
  }

  /**
   * Refuse retention on a bucket without Object Lock enabled.
   * @throws SnapError `STORE_MALFORMED`
   */
  async checkObjectLock(): Promise<void> {
    if (!(await this.objectLockEnabled())) throw new SnapError('STORE_MALFORMED', `bucket ${this.where.bucket} does not have Object Lock enabled, so nothing can be locked there (make the bucket with Object Lock)`, { store: this.location });
  }

  /** Whether the bucket keeps versions (Object Lock buckets always do). */
  async isVersioned(): Promise<boolean> {
    this.versioned ??= this.client.send(new GetBucketVersioningCommand({ Bucket: this.where.bucket })).then(
      (r) => r.Status === 'Enabled',
      (e: unknown) => {
        this.versioned = undefined; // asked again next time
        throw s3Error(e, `read the versioning of bucket ${this.where.bucket}`);
      },
    );
    return this.versioned;
  }

  async hasObject(hex: string): Promise<boolean> {
    return this.exists(this.objectKey(hex));
  }

  private async exists(key: string, versionId?: string): Promise<boolean> {
    return (await this.sizeOf(key, versionId)) !== undefined;
  }

  /** The size in bytes of the object at `key` (a HEAD; of `versionId` when given), `undefined` when there is none. */
  private async sizeOf(key: string, versionId?: string): Promise<number | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.where.bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }));
      return r.ContentLength ?? 0;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw s3Error(e, `look for ${key}`);
    }
  }

  async getObject(hex: string): Promise<Readable> {
    const r = await this.get(this.objectKey(hex));
    return (r as Readable).pipe(rehashing(hex, `object ${hex} in ${this.location}`));
  }

  /** The object's bytes as stored, NOT re-hashed: for a caller that hashes them itself. */
  async getRaw(hex: string): Promise<Readable> {
    return this.get(this.objectKey(hex));
  }

  private async get(key: string, versionId?: string): Promise<Readable> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.where.bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }));
      return r.Body as Readable;
    } catch (e) {
      if (isNotFound(e)) throw new SnapError('NOT_FOUND', `${key} is not in bucket ${this.where.bucket}`, { key });
      throw s3Error(e, `read ${key}`);
    }
  }

  /** An object's bytes, at most `limit` (default SMALL_LIMIT); `STORE_MALFORMED` past it. */
  private async getSmall(key: string, versionId?: string, limit = SMALL_LIMIT): Promise<Buffer> {
    return bodyBytes(await this.get(key, versionId), limit, key);
  }

  /** Object Lock parameters of a PUT. */
  private lockParams(retain?: Retention): Partial<PutObjectCommandInput> {
    return retain ? { ObjectLockMode: retain.mode, ObjectLockRetainUntilDate: retain.until } : {};
  }

  /**
   * PUT unless present: `If-None-Match: *` (412 → present). Small bodies carry their SHA-256 as
   * `x-amz-checksum-sha256`; large ones go in parts through lib-storage (each part checksummed).
   */
  private async putOnce(key: string, body: Uint8Array | (() => Readable), size: number, sha: string, retain?: Retention, once = true, stored?: { versionId?: string }): Promise<PutResult> {
    await this.made();
    const cond = once ? { IfNoneMatch: '*' } : {};
    try {
      if (size > this.multipartThreshold && typeof body === 'function') {
        const up = new Upload({
          client: this.client,
          queueSize: QUEUE,
          partSize: Math.max(MIN_PART_SIZE, Math.min(PART_SIZE, this.multipartThreshold)),
          leavePartsOnError: false,
          params: { Bucket: this.where.bucket, Key: key, Body: body(), ChecksumAlgorithm: 'SHA256', ...cond, ...this.lockParams(retain) } as PutObjectCommandInput,
        });
        const r = await up.done();
        if (stored && r.VersionId) stored.versionId = r.VersionId;
      } else {
        const r = await this.client.send(
          new PutObjectCommand({
            Bucket: this.where.bucket,
            Key: key,
            Body: typeof body === 'function' ? body() : body,
            ContentLength: size,
            ...sha256Checksum(sha),
            ...cond,
            ...this.lockParams(retain),
          }),
        );
        if (stored && r.VersionId) stored.versionId = r.VersionId;
      }
      return 'stored';
    } catch (e) {
      if (isPreconditionFailed(e)) return 'present';
      throw s3Error(e, `upload ${key}`);
    }
  }

  /**
   * Store an object unless present (HEAD, then `PUT If-None-Match: *`).
   * @throws SnapError `OBJECT_CORRUPT` when an object is there under that name with another size
   *   than `size` — found by the HEAD, or, written between the HEAD and the PUT (412), by a second
   *   HEAD: it cannot be the content (someone wrote other bytes under its name), and write-once
   *   forbids replacing it: it must not be counted as stored.
   * With `retain`, a present object's versions of `size` bytes are all locked ({@link lockObject}).
   */
  async putObject(hex: string, open: () => Readable, size: number, retain?: Retention): Promise<PutResult> {
    const key = this.objectKey(hex);
    // The HEAD first: on servers that ignore If-None-Match it is what keeps an object write-once.
    const there = await this.sizeOf(key);
    if (there !== undefined && there !== size) throw wrongSize(this.location, [{ sha256: hex, size, stored: there }]);
    let r: PutResult = there !== undefined ? 'present' : await this.putOnce(key, open, size, hex, retain);
    if (r === 'present' && there === undefined) {
      // Written by someone else between the HEAD and the PUT (412): its size is looked at as the
      // HEAD's would have been — one of another size cannot be the content.
      const now = await this.sizeOf(key);
      if (now !== undefined && now !== size) throw wrongSize(this.location, [{ sha256: hex, size, stored: now }]);
    }
    if (r === 'stored') this.counters.objectPuts++;
    else this.counters.objectsPresent++;
    if (r === 'present' && retain) await this.lockObject(hex, retain, size);
    return r;
  }

  /**
   * Put an object's bytes over a damaged one: `fsck --repair-from` only, whose caller checked that
   * they hash to `hex` (the one overwrite write-once allows: it puts back what the name says). In a
   * versioned bucket the damaged version stays (readers read the newest); the new one gets
   * `retain`, the damaged one's lock, so that it is locked as long.
   */
  async replaceObject(hex: string, open: () => Readable, size: number, retain?: Retention): Promise<void> {
    await this.putOnce(this.objectKey(hex), open, size, hex, retain, false);
  }

  async *listObjects(): AsyncIterable<string> {
    for await (const o of this.listObjectSizes()) yield o.hex;
  }

  /** Every object's digest and size in bytes (as listed: one ListObjectsV2 page per 1,000 objects). */
  async *listObjectSizes(): AsyncIterable<{ hex: string; size: number }> {
    for await (const page of this.objectPages()) yield* page.objects;
  }

  /**
   * The listing of `objects/sha256/`, one ListObjectsV2 page (at most 1,000 keys) at a time, in key
   * order: the objects of the page (digest, size in bytes; keys of another shape left out) and the
   * page's last key relative to `objects/sha256/` (any shape: every object key up to it was listed);
   * `more` when another page follows.
   */
  async *objectPages(): AsyncIterable<{ objects: { hex: string; size: number }[]; last: string; more: boolean }> {
    const base = this.key('objects/sha256/');
    for await (const page of this.listPages(base)) {
      const objects: { hex: string; size: number }[] = [];
      let last = '';
      for (const o of page.entries) {
        last = o.key.slice(base.length);
        const m = /^([0-9a-f]{2})\/([0-9a-f]{62})$/.exec(last);
        if (m) objects.push({ hex: (m[1] as string) + (m[2] as string), size: o.size });
      }
      yield { objects, last, more: page.more };
    }
  }

  /** The size in bytes of the object `hex` (a HEAD), `undefined` when the bucket has none. */
  async objectSize(hex: string): Promise<number | undefined> {
    return this.sizeOf(this.objectKey(hex));
  }

  /** Every key under `prefix` (ListObjectsV2, paged). */
  private async *listKeys(prefix: string, startAfter?: string): AsyncIterable<string> {
    for await (const o of this.listEntries(prefix, startAfter)) yield o.key;
  }

  /**
   * Every key under `prefix`, its size in bytes and when the server last wrote it (ms since the
   * epoch by the server's clock; undefined when the listing does not say), ListObjectsV2, paged, in
   * key order; nothing is held past the page being read. With `startAfter`, only the keys after it
   * (S3 `StartAfter`).
   * @throws SnapError `IO_ERROR` (a listing failed)
   */
  async *listEntries(prefix: string, startAfter?: string): AsyncIterable<ListedKey> {
    for await (const page of this.listPages(prefix, startAfter)) yield* page.entries;
  }

  /**
   * The keys under `prefix` one ListObjectsV2 page (at most 1,000 keys) at a time, in key order, as
   * {@link listEntries} gives them; `more` when another page follows.
   * @throws SnapError `IO_ERROR` (a listing failed)
   */
  private async *listPages(prefix: string, startAfter?: string): AsyncIterable<{ entries: ListedKey[]; more: boolean }> {
    let token: string | undefined;
    do {
      let r;
      try {
        r = await this.client.send(new ListObjectsV2Command({ Bucket: this.where.bucket, Prefix: prefix, EncodingType: 'url', ...(token ? { ContinuationToken: token } : startAfter !== undefined ? { StartAfter: startAfter } : {}) }));
      } catch (e) {
        throw s3Error(e, `list ${prefix}`);
      }
      const entries: ListedKey[] = [];
      const encoded = r.EncodingType === 'url';
      for (const o of r.Contents ?? []) {
        const key = listedKey(o.Key, encoded);
        if (key === undefined) continue;
        const modified = o.LastModified ? new Date(o.LastModified).getTime() : NaN;
        entries.push({ key, size: o.Size ?? 0, ...(Number.isFinite(modified) ? { modified } : {}) });
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
      yield { entries, more: token !== undefined };
    } while (token);
  }

  /**
   * The first-written version of every key under `prefix` (versions that are delete markers left
   * out), with the later ones: in a versioned bucket from ListObjectVersions (which lists each key's
   * versions newest first, so the last one listed is the oldest); else the current object.
   */
  private async firstVersions(prefix: string, keep: (key: string) => boolean = () => true, startAfter?: string): Promise<Map<string, { first: Version; later: Version[] }>> {
    const out = new Map<string, { first: Version; later: Version[] }>();
    if (!(await this.isVersioned())) {
      for await (const k of this.listKeys(prefix, startAfter)) if (keep(k)) out.set(k, { first: { key: k }, later: [] });
      return out;
    }
    const all = new Map<string, Version[]>();
    for await (const r of this.versionPages(prefix, startAfter)) {
      for (const v of r.Versions ?? []) {
        if (!v.Key || !keep(v.Key)) continue;
        const list = all.get(v.Key) ?? [];
        list.push({ key: v.Key, ...(v.VersionId ? { versionId: v.VersionId } : {}) });
        all.set(v.Key, list);
      }
    }
    for (const [k, list] of all) out.set(k, { first: list[list.length - 1] as Version, later: list.slice(0, -1).reverse() });
    return out;
  }

  /**
   * Keys under `snapshots/` that the last {@link listSnapshots} found to be none of snap's: neither
   * a commit object of a valid NAME@VERSION nor a staged file (`NAME/VERSION/staged/<32 hex>/FILE`).
   * `count` is all of them (each version once in a versioned bucket); `keys` the first
   * {@link MAX_JUNK_KEYS_KEPT} in listing order, relative to the store's prefix.
   */
  snapshotJunk: { count: number; keys: string[] } = { count: 0, keys: [] };

  /**
   * Every committed snapshot (its commit object's first version). Only commit objects are kept from
   * the listing of `snapshots/` (memory grows with the snapshots, not with the staged files nor with
   * keys planted there); keys that are none of snap's are counted in {@link snapshotJunk}, skipped.
   * @param scope list only these folders of `snapshots/` — each `NAME/` (every version of NAME) or
   *   `NAME/VERSION/` — one listing each, in key order (so that a command naming one snapshot of a
   *   store that holds thousands lists a few keys: store/remote-session.ts snapshotListingScope);
   *   every snapshot when absent
   * @throws SnapError `INTERNAL` (a scope that is not such a folder of a valid NAME and VERSION) | `IO_ERROR`
   */
  async listSnapshots(scope?: readonly string[]): Promise<CommittedSnapshot[]> {
    const base = this.key('snapshots/');
    for (const folder of scope ?? []) {
      const m = /^([^/]+)\/(?:([^/]+)\/)?$/.exec(folder);
      if (!m || !NAME_RE.test(m[1] as string) || (m[2] !== undefined && !VERSION_RE.test(m[2]))) throw new SnapError('INTERNAL', `not a folder of snapshots/ to list: ${JSON.stringify(folder)}`);
    }
    const out: CommittedSnapshot[] = [];
    const junk = { count: 0, keys: [] as string[] };
    const commit = (k: string): RegExpExecArray | null => {
      const m = /^([^/]+)\/([^/]+)\/commit\.json$/.exec(k.slice(base.length));
      return m && NAME_RE.test(m[1] as string) && VERSION_RE.test(m[2] as string) ? m : null;
    };
    const keep = (k: string): boolean => {
      if (commit(k)) return true;
      const m = /^([^/]+)\/([^/]+)\/staged\/[0-9a-f]{32}\/[^/]+$/.exec(k.slice(base.length));
      if (!m || !NAME_RE.test(m[1] as string) || !VERSION_RE.test(m[2] as string)) {
        junk.count++;
        if (junk.keys.length < MAX_JUNK_KEYS_KEPT) junk.keys.push(k.slice(this.where.prefix.length));
      }
      return false;
    };
    const found = new Map<string, { first: Version; later: Version[] }>();
    if (scope === undefined) for (const [k, v] of await this.firstVersions(base, keep)) found.set(k, v);
    else for (const folder of [...scope].sort()) for (const [k, v] of await this.firstVersions(base + folder, keep)) found.set(k, v);
    this.snapshotJunk = junk;
    for (const [k, v] of found) {
      const m = commit(k) as RegExpExecArray;
      this.winners.set(k, v.first);
      out.push({ name: m[1] as string, version: m[2] as string, ...(v.later.length ? { ignored: v.later.map((l) => l.versionId ?? '?') } : {}) });
    }
    return out;
  }

  private commitKey(name: string, version: string): string {
    return this.key(`snapshots/${name}/${version}/commit.json`);
  }

  /**
   * The winning commit object of NAME@VERSION: its version and parsed body.
   * @throws SnapError `NOT_FOUND` | `SNAPSHOT_MALFORMED` (not a commit object, or larger than
   *   {@link MAX_COMMIT_BYTES}: read no further) | `IO_ERROR`
   */
  async readCommit(name: string, version: string): Promise<{ version: Version; commit: Commit }> {
    const key = this.commitKey(name, version);
    let v = this.winners.get(key);
    if (!v) {
      const found = (await this.firstVersions(key)).get(key);
      if (!found) throw new SnapError('NOT_FOUND', `no snapshot ${name}@${version} in ${this.location}`, { ref: `${name}@${version}` });
      v = found.first;
    }
    const bytes = await bodyPrefix(await this.get(key, v.versionId), MAX_COMMIT_BYTES + 1).catch((e: unknown) => {
      throw s3Error(e, `read ${key}`);
    });
    let c: { format?: unknown; staged?: unknown; files?: unknown; snapshot?: unknown; versions?: unknown };
    try {
      // Longer than any commit object snap writes (about 500 bytes): read no further, and refused.
      c = bytes.length > MAX_COMMIT_BYTES ? {} : JSON.parse(bytes.toString('utf8'));
    } catch {
      c = {};
    }
    const files = c.files as Record<string, unknown> | undefined;
    if (c.format !== COMMIT_FORMAT || typeof c.staged !== 'string' || !/^[0-9a-f]{32}$/.test(c.staged) || typeof c.snapshot !== 'string' || !files || typeof files !== 'object' ||
      Object.entries(files).some(([f, h]) => !/^[a-z][a-z0-9._-]{0,63}$/.test(f) || typeof h !== 'string' || !/^[0-9a-f]{64}$/.test(h)) ||
      (c.versions !== undefined && (!c.versions || typeof c.versions !== 'object' || Array.isArray(c.versions) ||
        Object.entries(c.versions).some(([f, id]) => !Object.prototype.hasOwnProperty.call(files, f) || typeof id !== 'string' || !VERSION_ID_RE.test(id))))) {
      throw new SnapError('SNAPSHOT_MALFORMED', `the commit object of ${name}@${version} in ${this.location} is malformed`, { ref: `${name}@${version}` });
    }
    const versions = (c.versions ?? {}) as Record<string, string>;
    return { version: v, commit: { staged: c.staged, files: files as Record<string, string>, snapshot: c.snapshot, versions } };
  }

  /**
   * Where a committed snapshot's file is: its staged key and, when the commit object records it,
   * the version the seal wrote (FORMAT.md §23.3): the one read, whatever was written over it since.
   */
  private stagedFile(name: string, version: string, commit: Commit, file: string): Version {
    const key = this.key(`snapshots/${name}/${version}/staged/${commit.staged}/${file}`);
    const versionId = Object.prototype.hasOwnProperty.call(commit.versions, file) ? commit.versions[file] : undefined;
    return versionId !== undefined ? { key, versionId } : { key };
  }

  /** Why a file read is not the one its commit object pins, for a note. */
  private notPinned(name: string, version: string, file: string, got: string, pin: string): string {
    return `${name}@${version}: its ${file} in ${this.location} is not the one its commit object pins (sha256 ${got}, pinned ${pin}): left out, as a missing file`;
  }

  /**
   * Open the body of a staged file at the version its commit object pins, and find whether that
   * version is still the key's current one, at no extra request when it is (FORMAT.md §23.3): the
   * key is read without a version first, and when the server answers with the pinned version ID
   * those are the bytes; otherwise (another version, or a delete marker: `404`) that response is
   * dropped unread and the pinned version is read — one GET more, only for a changed file. A GET of
   * the pinned version alone could not tell (nothing in its answer says whether it is the newest).
   * A file without a pinned version (an unversioned bucket) is read as it is: one written over there
   * does not hash to its pin, and one deleted is missing, which the readers already report.
   * @returns the body (`undefined`: no such version), and `changed` when the current version is not the pinned one
   * @throws SnapError `IO_ERROR`
   */
  private async getPinned(v: Version): Promise<{ body?: Readable; changed?: { pinned: string; current: string | null } }> {
    const orMissing = (e: unknown): undefined => {
      if (e instanceof SnapError && e.code === 'NOT_FOUND') return undefined;
      throw e;
    };
    if (v.versionId === undefined) return { body: await this.get(v.key).catch(orMissing) };
    let current: string | null;
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.where.bucket, Key: v.key }));
      if (r.VersionId === v.versionId) return { body: r.Body as Readable };
      (r.Body as Readable | undefined)?.destroy();
      // A server that names no version cannot tell: the pinned version is read, and nothing said.
      if (r.VersionId === undefined) return { body: await this.get(v.key, v.versionId).catch(orMissing) };
      current = r.VersionId;
    } catch (e) {
      if (!isNotFound(e)) throw s3Error(e, `read ${v.key}`);
      current = null;
    }
    return { body: await this.get(v.key, v.versionId).catch(orMissing), changed: { pinned: v.versionId, current } };
  }

  /**
   * Copy a committed snapshot's files — those of SNAPSHOT_FILE_NAMES its commit object names, no
   * other — into the folder `dir` (which must exist), each streamed from
   * its staged key to a file of the same name (mode 0444): the manifest whole (never held in
   * memory, whatever its size), every other file at most {@link SNAPSHOT_FILE_LIMITS} bytes, one
   * more than the local store's readers read, so that a larger one reaches the command cut there and
   * is refused by it as in a local store. A file the commit object names that is missing is left
   * out, and so is one whose bytes are not those the commit object pins (its SHA-256): it is not the
   * snapshot's file, and the command reports the file missing. Each is read at the version the
   * commit object records for it (a versioned bucket): what was written over it since is not read,
   * and is told to `changed` (found at no extra request for a file not changed: {@link getPinned}).
   * @param only copy only these of its files (default: all four)
   * @param note told of each file left out for not being the one pinned (a message, and its name)
   * @param changed told of each file read whose current version in the bucket is not the one pinned
   *   (`current` `null`: a delete marker), as fsck's {@link overwrittenFiles} finds them
   * @returns the names of the files written
   * @throws SnapError `NOT_FOUND` (no such snapshot) | `SNAPSHOT_MALFORMED` (its commit object) | `IO_ERROR`
   */
  async readSnapshotInto(name: string, version: string, dir: string, only: readonly string[] = SNAPSHOT_FILE_NAMES, note: (text: string, file: string) => void = () => {}, changed: (c: ChangedFile) => void = () => {}): Promise<string[]> {
    const { commit } = await this.readCommit(name, version);
    const written: string[] = [];
    // Only the files a snapshot has: any other name a commit object lists (planted) is not read.
    for (const f of Object.keys(commit.files).filter((n) => (SNAPSHOT_FILE_NAMES as readonly string[]).includes(n) && only.includes(n))) {
      const v = this.stagedFile(name, version, commit, f);
      const { body, changed: ch } = await this.getPinned(v);
      if (ch) changed({ file: f, ...ch });
      if (!body) continue;
      const path = join(dir, f);
      const got = await copyAtMost(body, path, SNAPSHOT_FILE_LIMITS[f] ?? Infinity).catch((e: unknown) => {
        throw s3Error(e, `read ${v.key}`);
      });
      if (got !== commit.files[f]) {
        await fsp.rm(path, { force: true });
        note(this.notPinned(name, version, f, got, commit.files[f] as string), f);
        continue;
      }
      written.push(f);
    }
    return written;
  }

  /**
   * A committed snapshot's files in memory (each at most 64 MiB: a larger one is `STORE_MALFORMED`),
   * read as {@link readSnapshotInto} reads them: at the version the commit object records, and left
   * out when not the bytes it pins. Commands copy snapshots with {@link readSnapshotInto}, which has
   * no such bound.
   */
  async readSnapshot(name: string, version: string): Promise<SnapshotFiles> {
    const { commit } = await this.readCommit(name, version);
    const out: SnapshotFiles = new Map();
    for (const [f, hex] of Object.entries(commit.files).filter(([n]) => (SNAPSHOT_FILE_NAMES as readonly string[]).includes(n))) {
      const v = this.stagedFile(name, version, commit, f);
      const bytes = await this.getSmall(v.key, v.versionId).catch((e) => {
        if (e instanceof SnapError && e.code === 'NOT_FOUND') return undefined; // a missing file is for verify to report
        throw e;
      });
      // A file that is not the one the commit object pins is not the snapshot's: left out, as missing.
      if (!bytes || sha256hex(bytes) !== hex) continue;
      out.set(f, bytes);
    }
    return out;
  }

  /**
   * Commit NAME@VERSION (FORMAT.md §23.3): upload the files under a fresh `staged/<token>/`, then
   * PUT the commit object with `If-None-Match: *`, naming each file by its SHA-256 and, in a
   * versioned bucket, by the version ID its PUT returned. 412 → another sealer won. In a versioned
   * bucket (where the server may ignore the condition) the commit object's versions are listed: only
   * the first-written one is the snapshot; when it is not ours, this commit lost.
   * @throws SnapError `SNAPSHOT_EXISTS` | `STORE_MALFORMED` (a staged key was written by another
   *   writer before this seal's PUT: nothing is committed) | `IO_ERROR`
   */
  async commitSnapshot(name: string, version: string, files: SnapshotFiles, retain?: Retention): Promise<void> {
    const ref = `${name}@${version}`;
    const key = this.commitKey(name, version);
    const exists = (): SnapError => new SnapError('SNAPSHOT_EXISTS', `${ref} already exists in ${this.location}; snapshots are write-once, choose a new VERSION`, { ref });
    if ((await this.firstVersions(key)).has(key)) throw exists();
    const token = randomBytes(16).toString('hex');
    const digests: Record<string, string> = {};
    const versions: Record<string, string> = {};
    const taken: string[] = [];
    await Promise.all(
      [...files].map(async ([f, bytes]) => {
        const hex = sha256hex(bytes);
        digests[f] = hex;
        const written: { versionId?: string } = {};
        const key = this.key(`snapshots/${name}/${version}/staged/${token}/${f}`);
        if ((await this.putOnce(key, bytes, bytes.length, hex, retain, true, written)) === 'present') taken.push(key);
        if (written.versionId !== undefined && VERSION_ID_RE.test(written.versionId)) versions[f] = written.versionId;
      }),
    );
    // The token is new: a key of it already there was written by someone else, whose bytes the
    // commit object would name by our digest. Nothing is committed.
    if (taken.length) throw new SnapError('STORE_MALFORMED', `${taken.sort()[0]} was written by another writer before this seal wrote it; nothing was committed (seal again)`, { ref, keys: taken.sort() });
    killPointForTest('s3-staged');
    const statement = files.get('statement.json');
    // The version each file was written as, only when all have one (a versioned bucket): the readers
    // read those, not whatever was written over them between these PUTs and the commit.
    const pinned = Object.keys(versions).length === files.size ? { versions } : {};
    const body = Buffer.from(canonicalJson({ files: digests, format: COMMIT_FORMAT, snapshot: statement ? `sha256:${sha256hex(statement)}` : '', staged: token, ...pinned }));
    let ours: string | undefined;
    await this.made();
    try {
      const r = await this.client.send(new PutObjectCommand({ Bucket: this.where.bucket, Key: key, Body: body, ContentLength: body.length, ...sha256Checksum(sha256hex(body)), IfNoneMatch: '*', ...this.lockParams(retain) }));
      ours = r.VersionId;
    } catch (e) {
      if (isPreconditionFailed(e)) throw exists();
      throw s3Error(e, `commit ${ref}`);
    }
    if (await this.isVersioned()) {
      const v = (await this.firstVersions(key)).get(key);
      const first = v?.first;
      const won = first !== undefined && (ours !== undefined ? first.versionId === ours : (await this.getSmall(key, first.versionId)).equals(body));
      if (!won) throw exists();
    }
  }

  /**
   * The audit log's lines (first versions, in seq order) and head, each line read at most
   * MAX_LOG_LINE_BYTES + 1 bytes and ending with its `\n` (see {@link readLogInto}).
   */
  async readLog(): Promise<{ lines: Uint8Array[]; head?: Uint8Array }> {
    const lines: Uint8Array[] = [];
    const found = await this.logLineVersions();
    for (let i = 0; i < found.length; i += LOG_READ_JOBS) lines.push(...(await mapLimit(found.slice(i, i + LOG_READ_JOBS), LOG_READ_JOBS, (v) => this.logLine(v))));
    const head = await this.logHead();
    return { lines, ...(head ? { head } : {}) };
  }

  /**
   * Write the audit log's lines (each `log/<seq>.jsonl`'s first version, in seq order) into a new
   * file at `path`, {@link LOG_READ_JOBS} read at once: memory holds at most that many lines, never
   * the log. A line longer than MAX_LOG_LINE_BYTES is none snap wrote (planted): it is cut one byte
   * past that bound, and a line without its `\n` gets one, so that it stays one line of the local
   * log, which `snap log --verify` reports, and never swallows the line after it. The head
   * (`log.head`) is read at most one byte past the local reader's bound.
   * @param opts.tail only the last line (the greatest seq listed) when it is a line snap writes
   *   (io/audit-log.ts parseAuditLine), else every line: for a command that reads no line of the
   *   log and only chains its own after it (FORMAT.md §23.5): one GET, not one per line
   * @returns how many lines and bytes were written, the head's bytes, and the seq in the greatest
   *   line key listed (io/audit-log.ts setLogSeqFloor)
   * @throws SnapError `IO_ERROR`
   */
  async readLogInto(path: string, opts: { tail?: boolean } = {}): Promise<{ lines: number; bytes: number; head?: Uint8Array; lastKeySeq?: number }> {
    // The last line is all a command that appends needs when it is a line snap writes: the next
    // line's seq and prev follow from it (and the head) alone. It is looked for from the line the
    // head names on (a listing of the keys after the one before it: one page, not one per 1,000
    // lines); when there is none from there (the head is ahead of the log, or none), or the last
    // line is not one snap writes (planted, cut: the next seq is then counted from the lines before
    // it, io/audit-log.ts findChainPoint), the whole log is read, so that the chain point is the one
    // a command reading every line finds.
    const tailHead = opts.tail ? await this.logHead() : undefined;
    const headSeq = tailHead ? parseHead(tailHead.toString('utf8'))?.seq : undefined;
    let listed = headSeq !== undefined ? await this.logLineVersions(this.key(`log/${String(headSeq - 1).padStart(12, '0')}.jsonl`)) : [];
    if (listed.length === 0) listed = await this.logLineVersions();
    const last = opts.tail && listed.length > 0 ? await this.logLine(listed[listed.length - 1] as Version) : undefined;
    const lastOnly = last !== undefined && parseAuditLine(last.subarray(0, last.length - 1)) !== undefined;
    if (opts.tail && !lastOnly && headSeq !== undefined) listed = await this.logLineVersions();
    const found = lastOnly ? [] : listed;
    let bytes = 0;
    const fh = await fsp.open(path, 'wx', 0o644);
    try {
      if (lastOnly) {
        await fh.write(last);
        bytes += last.length;
      }
      for (let i = 0; i < found.length; i += LOG_READ_JOBS) {
        const batch = await mapLimit(found.slice(i, i + LOG_READ_JOBS), LOG_READ_JOBS, (v) => this.logLine(v));
        for (const line of batch) {
          await fh.write(line);
          bytes += line.length;
        }
      }
    } finally {
      await fh.close();
    }
    const head = opts.tail ? tailHead : await this.logHead();
    const lastKey = listed[listed.length - 1]?.key;
    const lastKeySeq = lastKey !== undefined ? Number(lastKey.slice(-'000000000000.jsonl'.length, -'.jsonl'.length)) : undefined;
    return { lines: lastOnly ? 1 : listed.length, bytes, ...(head ? { head } : {}), ...(lastKeySeq !== undefined ? { lastKeySeq } : {}) };
  }

  /** The first version of every `log/<12 digits>.jsonl` (after the key `startAfter`, when given), in seq order. */
  private async logLineVersions(startAfter?: string): Promise<Version[]> {
    const base = this.key('log/');
    const line = (k: string): boolean => /^\d{12}\.jsonl$/.test(k.slice(base.length));
    return [...(await this.firstVersions(base, line, startAfter))]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, v]) => v.first);
  }

  /** One log line's bytes: at most MAX_LOG_LINE_BYTES + 1 of them, ending with `\n`. */
  private async logLine(v: Version): Promise<Buffer> {
    const b = await bodyPrefix(await this.get(v.key, v.versionId), MAX_LOG_LINE_BYTES + 1).catch((e: unknown) => {
      throw s3Error(e, `read ${v.key}`);
    });
    return b.length > 0 && b[b.length - 1] === 0x0a ? b : Buffer.concat([b, Buffer.from('\n')]);
  }

  /**
   * `log.head`'s bytes (at most one more than the local reader reads), or undefined when there is none.
   * @throws SnapError `IO_ERROR`
   */
  async logHead(): Promise<Buffer | undefined> {
    try {
      return await bodyPrefix(await this.get(this.key('log.head')), MAX_HEAD_BYTES + 1);
    } catch (e) {
      if (e instanceof SnapError && e.code === 'NOT_FOUND') return undefined;
      throw s3Error(e, 'read log.head');
    }
  }

  async appendLog(lines: Uint8Array[], head: Uint8Array, retain?: Retention): Promise<void> {
    for (const line of lines) {
      let seq: unknown;
      try {
        seq = (JSON.parse(Buffer.from(line).toString('utf8')) as { seq?: unknown }).seq;
      } catch {
        /* below */
      }
      if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) throw new SnapError('LOG_INCONSISTENT', 'an audit log line to append has no seq', {});
      const r = await this.putOnce(this.key(`log/${String(seq).padStart(12, '0')}.jsonl`), line, line.length, sha256hex(line), retain);
      if (r === 'present') throw new SnapError('LOG_INCONSISTENT', `audit log line ${seq} of ${this.location} was written by another writer`, { seq });
    }
    killPointForTest('s3-log-lines');
    await this.made();
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.where.bucket, Key: this.key('log.head'), Body: head, ContentLength: head.length, ...sha256Checksum(sha256hex(head)) }));
    } catch (e) {
      throw s3Error(e, 'move the audit log head');
    }
  }

  /**
   * Keys under the folders of the other files that the last {@link listFiles} found to be none of
   * snap's (see there), skipped: `count` is all of them; `keys` the first {@link MAX_JUNK_KEYS_KEPT}
   * in listing order, relative to the store's prefix.
   */
  fileJunk: { count: number; keys: string[] } = { count: 0, keys: [] };

  /**
   * Store files the last {@link listFiles} skipped for being past a bound (see
   * {@link MAX_REVOCATION_FILES_READ}): how many, and the first of them (relative to the prefix).
   */
  fileSkips: { count: number; first?: string } = { count: 0 };

  /**
   * The other files' paths (revocations/, attestations/, signatures/, …), as a local store can hold
   * them: keys with an empty, `.` or `..` segment, a segment starting with `.` or longer than
   * {@link MAX_NAME_BYTES} bytes, or under a name a local store keeps for itself (`tmp/`, `lock`,
   * `log.jsonl`, … : RESERVED_ROOT_NAMES) are none of snap's and are left out, as are those no
   * reader reads: under `revocations/` all but `<64 hex>/FILE.json`, under `attestations/` all but
   * `MODEL/VERSION/statement.json` and `envelope.json` (valid names), under `signatures/` all but
   * `NAME/VERSION/FILE`, under `log.checkpoints/` all but `FILE`. They are counted in {@link fileJunk}. At most the bounds of
   * {@link MAX_REVOCATION_FILES_READ} are kept: memory grows with the store's files, not with keys
   * planted among them.
   * @throws SnapError `STORE_MALFORMED` when a path is both a file and the folder of another (keys
   *   `a` and `a/b`: one was not written by snap, and which is cannot be told), or past the bound
   *   of revocations or of attestations | `IO_ERROR`
   */
  async listFiles(): Promise<string[]> {
    const out: string[] = [];
    const folders = new Set<string>();
    const junk = { count: 0, keys: [] as string[] };
    const skips: { count: number; first?: string } = { count: 0 };
    const skip = (rel: string): void => {
      if (skips.count++ === 0) skips.first = rel;
    };
    /** Files kept per folder, and of the current subfolder (keys come in key order: a subfolder's one after the other). */
    const kept = new Map<string, number>();
    let sub = { folder: '', n: 0 };
    this.fileFirsts.clear();
    try {
      for await (const { key: k, first } of this.otherKeys()) {
        const rel = k.slice(this.where.prefix.length);
        const parts = rel.split('/');
        const top = parts[0] as string;
        const bad = rel === 'store.json' || rel === 'log.head' || (OWN_FOLDERS.includes(`${top}/`) && rel.includes('/')) ||
          parts.some((p) => p === '' || p === '.' || p === '..' || p.startsWith('.') || Buffer.byteLength(p) > MAX_NAME_BYTES) || RESERVED_ROOT_NAMES.has(top) || !snapsFile(rel);
        if (bad) {
          junk.count++;
          if (junk.keys.length < MAX_JUNK_KEYS_KEPT) junk.keys.push(rel);
          continue;
        }
        const folder = `${top}/`;
        const n = kept.get(folder) ?? 0;
        const subfolder = parts.slice(0, -1).join('/');
        if (sub.folder !== subfolder) sub = { folder: subfolder, n: 0 };
        if (folder === 'revocations/') {
          if (sub.n > MAX_REVOCATION_FILES_READ) { skip(rel); continue; } // the reader refuses the folder already
          if (n >= MAX_REVOCATION_FILES_LISTED) throw tooMany(this.location, folder, MAX_REVOCATION_FILES_LISTED, 'a revocation left out could let a revoked snapshot pass');
        } else if (folder === ATTESTATION_FOLDER) {
          if (n >= MAX_ATTESTATION_FILES_LISTED) throw tooMany(this.location, folder, MAX_ATTESTATION_FILES_LISTED, 'an attestation left out could be written over');
        } else if (folder === 'log.checkpoints/') {
          if (n > MAX_CHECKPOINT_FILES_READ) { skip(rel); continue; } // the reader refuses the folder already
        } else if (folder === COSIGNATURE_FOLDER) {
          // Not per snapshot: a command that knows its trusted keys reads a snapshot's files until
          // each key has a signature kept, past the first MAX_COSIGNATURE_FILES_READ (junk ground to
          // sort first must not push a genuine co-signature out of the listing).
          if (n >= MAX_COSIGNATURE_FILES_LISTED) { skip(rel); continue; }
        }
        sub.n++;
        kept.set(folder, n + 1);
        for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'));
        if (first) this.fileFirsts.set(rel, first);
        out.push(rel);
      }
    } finally {
      this.fileJunk = junk;
      this.fileSkips = skips;
    }
    const both = out.find((p) => folders.has(p));
    if (both !== undefined) {
      throw new SnapError('STORE_MALFORMED', `${this.location}: the keys ${JSON.stringify(both)} and ${JSON.stringify(`${both}/…`)} cannot both be store files (a file and a folder of the same name): one of them was not written by snap; remove it`, { store: this.location, path: both });
    }
    return out;
  }

  /**
   * Every key under the folders of the store's other files ({@link FILE_FOLDERS}), each listed in
   * full, in key order (with, for a co-signature, a revocation or an attestation file of a versioned
   * bucket, its first version: {@link FIRST_VERSION_FOLDERS}). Nothing
   * else under the prefix is snap's: a key planted beside them (a junk folder of millions of keys,
   * files of megabytes) is never listed nor pulled into a command's working copy, which would cost
   * every command, `list` included, the listing and the bytes. The objects, snapshot files, log
   * lines and locks are listed by their own readers.
   */
  private async *otherKeys(): AsyncIterable<{ key: string; first?: { versionId: string; changed?: 'written over' | 'deleted' } }> {
    const versioned = await this.isVersioned();
    const listKeys = async function* (self: S3Backend, f: string): AsyncGenerator<{ key: string }> {
      for await (const key of self.listKeys(self.where.prefix + f)) yield { key };
    };
    // Each folder's listing, in folder order; the first page of every folder is asked for at once
    // (one round trip where a store's folders each fit in a page, not one per folder), the later
    // pages as the keys are read: at most a page a folder is held ahead.
    const lists = FILE_FOLDERS.map((f) => (FIRST_VERSION_FOLDERS.includes(f) && versioned ? this.firstVersionKeys(f) : listKeys(this, f))[Symbol.asyncIterator]());
    const firsts = lists.map((it) => it.next());
    for (const p of firsts) p.catch(() => {}); // awaited below, in order; not unhandled meanwhile
    try {
      for (const [i, it] of lists.entries()) {
        for (let r = await (firsts[i] as Promise<IteratorResult<{ key: string; first?: { versionId: string; changed?: 'written over' | 'deleted' } }>>); !r.done; r = await it.next()) yield r.value;
      }
    } finally {
      await Promise.all(lists.map((it) => it.return?.(undefined).catch(() => {})));
    }
  }

  /**
   * Co-signature, revocation and attestation files of a versioned bucket
   * ({@link FIRST_VERSION_FOLDERS}), as the last {@link listFiles} found them: path (under the
   * prefix) → its first version, which is what {@link readFile} and {@link readFilePrefix} read, and
   * whether the key was written over or deleted since. Such a file is written once (named by its
   * bytes' digest, or by its MODEL@VERSION), so a later version or a delete marker is someone
   * else's: its first version is still the co-signature, the revocation or the attestation (under
   * Object Lock it is locked; a delete marker is not, and a plain DELETE, no version named, only
   * adds one).
   */
  private fileFirsts = new Map<string, { versionId: string; changed?: 'written over' | 'deleted' }>();

  /**
   * Every page of ListObjectVersions under `prefix` (versions and delete markers; each key's versions
   * newest first), following the key and version-id markers until the listing is no longer truncated.
   * @throws SnapError (s3Error) when a page cannot be listed
   */
  private async *versionPages(prefix: string, startAfter?: string): AsyncIterable<ListObjectVersionsCommandOutput> {
    let keyMarker: string | undefined = startAfter;
    let versionMarker: string | undefined;
    for (;;) {
      let r: ListObjectVersionsCommandOutput;
      try {
        r = await this.client.send(new ListObjectVersionsCommand({ Bucket: this.where.bucket, Prefix: prefix, EncodingType: 'url', ...(keyMarker ? { KeyMarker: keyMarker } : {}), ...(versionMarker ? { VersionIdMarker: versionMarker } : {}) }));
      } catch (e) {
        throw s3Error(e, `list the versions under ${prefix}`);
      }
      // The keys as they are in the bucket (a key that is not UTF-8 dropped: none of snap's).
      const encoded = r.EncodingType === 'url';
      const keyed = <T extends { Key?: string }>(xs: T[] | undefined): T[] | undefined => xs?.flatMap((x) => {
        const key = listedKey(x.Key, encoded);
        return key === undefined ? [] : [{ ...x, Key: key }];
      });
      const next = r.NextKeyMarker !== undefined && encoded ? decodeKey(r.NextKeyMarker).key : r.NextKeyMarker;
      yield { ...r, Versions: keyed(r.Versions), DeleteMarkers: keyed(r.DeleteMarkers), ...(next !== undefined ? { NextKeyMarker: next } : {}) };
      if (!r.IsTruncated) return;
      keyMarker = next;
      versionMarker = r.NextVersionIdMarker;
    }
  }

  /**
   * The keys under `folder` (one of {@link FIRST_VERSION_FOLDERS}) of a versioned bucket that have a
   * version that is not a delete marker — also those whose newest version is a delete marker — each
   * once, in key order, with its first version and whether it was written over or deleted since (for
   * {@link fileFirsts}).
   * ListObjectVersions lists keys in order and each key's versions newest first, so a key is done
   * once a later key is listed: only the keys of one page are held, whatever the folder holds.
   */
  private async *firstVersionKeys(folder: string): AsyncIterable<{ key: string; first?: { versionId: string; changed?: 'written over' | 'deleted' } }> {
    const prefix = this.where.prefix + folder;
    const seen = new Map<string, { versionId?: string; versions: number; deleted: boolean }>();
    /** Every key listed so far but `open` (the key the next page starts with, which may go on there), in key order. */
    const done = function* (open?: string): Generator<{ key: string; first: { versionId: string; changed?: 'written over' | 'deleted' } }> {
      for (const k of [...seen.keys()].sort()) {
        if (k === open) continue;
        const x = seen.get(k) as { versionId?: string; versions: number; deleted: boolean };
        seen.delete(k);
        if (x.versionId === undefined) continue; // only delete markers: nothing to read
        const changed = x.deleted ? 'deleted' : x.versions > 1 ? 'written over' : undefined;
        yield { key: k, first: { versionId: x.versionId, ...(changed ? { changed } : {}) } };
      }
    };
    for await (const r of this.versionPages(prefix)) {
      for (const d of r.DeleteMarkers ?? []) {
        if (!d.Key || !d.IsLatest) continue;
        const x = seen.get(d.Key) ?? { versions: 0, deleted: false };
        x.deleted = true;
        seen.set(d.Key, x);
      }
      for (const v of r.Versions ?? []) {
        if (!v.Key || !v.VersionId) continue;
        const x = seen.get(v.Key) ?? { versions: 0, deleted: false };
        x.versions++;
        x.versionId = v.VersionId; // the last one listed is the oldest
        seen.set(v.Key, x);
      }
      // The next page starts at NextKeyMarker: only that key can go on; every other one is done.
      if (r.IsTruncated) yield* done(r.NextKeyMarker);
    }
    yield* done();
  }

  /**
   * A co-signature, revocation or attestation file ({@link FIRST_VERSION_FOLDERS}) as the last {@link listFiles}
   * found it in a versioned bucket: the version read (its first) and whether the key was written
   * over or deleted since it was written; undefined in an unversioned bucket (the current object is
   * read) and for any other path.
   */
  firstVersionOf(path: string): { versionId: string; changed?: 'written over' | 'deleted' } | undefined {
    return this.fileFirsts.get(path);
  }

  /**
   * The co-signature, revocation and attestation files of a versioned bucket that were written over
   * or deleted since they were written, as the last {@link listFiles} found them (no request: that
   * listing gave every version), sorted by path. Every command reads their first version
   * ({@link firstVersionOf}); fsck fails on them, as on a snapshot file written over.
   */
  changedStoreFiles(): { path: string; change: 'written over' | 'deleted' }[] {
    const out: { path: string; change: 'written over' | 'deleted' }[] = [];
    for (const [path, f] of this.fileFirsts) if (f.changed) out.push({ path, change: f.changed });
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /**
   * Write a write-once store file (a co-signature, FORMAT.md §23.8; a model attestation's file,
   * §13): `If-None-Match: *` after a HEAD, as an object; never replaced. `present` when the key is
   * there already.
   */
  async putFileOnce(path: string, bytes: Uint8Array, retain?: Retention): Promise<PutResult> {
    const key = this.key(path);
    if (await this.exists(key)) return 'present';
    return this.putOnce(key, bytes, bytes.length, sha256hex(bytes), retain);
  }

  /**
   * An other file's bytes (of a co-signature, revocation or attestation file in a versioned bucket,
   * its first version: see {@link firstVersionOf}).
   * @param limit most bytes read (default 64 MiB): a larger file is refused as soon as that many came
   * @throws SnapError `STORE_MALFORMED` (larger than `limit`) | `NOT_FOUND` | `IO_ERROR`
   */
  async readFile(path: string, limit = SMALL_LIMIT): Promise<Uint8Array> {
    return this.getSmall(this.key(path), this.fileFirsts.get(path)?.versionId, limit);
  }

  /**
   * An other file's first `limit` bytes (all of them when it is shorter): the rest is never read. Of
   * a co-signature, revocation or attestation file in a versioned bucket, its first version ({@link firstVersionOf}).
   * @throws SnapError `NOT_FOUND` | `IO_ERROR`
   */
  async readFilePrefix(path: string, limit: number): Promise<Uint8Array> {
    const key = this.key(path);
    return bodyPrefix(await this.get(key, this.fileFirsts.get(path)?.versionId), limit).catch((e: unknown) => {
      throw s3Error(e, `read ${key}`);
    });
  }

  async writeFile(path: string, bytes: Uint8Array): Promise<void> {
    await this.made();
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.where.bucket, Key: this.key(path), Body: bytes, ContentLength: bytes.length, ...sha256Checksum(sha256hex(bytes)) }));
    } catch (e) {
      throw s3Error(e, `write ${path}`);
    }
  }

  /**
   * The store lock: PUT `locks/<ms>-<token>.json` ({pid, host, since}; `"shared": true` for a
   * `shared` one, `"append": true` for an `append` one), then list `locks/`. Held when every other
   * live lock listed may be held beside ours ({@link lockKindsCoexist}): a `shared` one (the
   * commands that only read the store, and append their audit log line: FORMAT.md §23.4) beside
   * shared ones and one `append` lock (the commands that only add to the store); an `append` one
   * beside shared ones only; an `exclusive` one beside none. A lock object of neither kind — also
   * what an older snap writes for every command — or a malformed one is exclusive. An exclusive lock
   * that finds only shared ones keeps its object and waits in place for them to go (so that readers
   * coming one after the other cannot keep it out: a reader that comes meanwhile sees it and waits);
   * otherwise ours is deleted and we wait and try again. Listing is strongly consistent after a PUT, so of two writers at least the second sees
   * the first.
   * A lock whose holder is a dead process on this host, or that was not rewritten for
   * {@link LOCK_STALE_MS} (its holder rewrites it every minute), is stale and removed. Its age is the
   * server's: the time the server gave our own lock object just written less the one it gave that
   * object (S3 `LastModified`), so that no writer's clock counts — a `since` in the future (a
   * skewed clock, or planted) cannot keep the store locked for longer than that.
   * @param waitMs how long to wait for a conflicting holder (ms)
   * @param kind   `exclusive` (the default), `append` or `shared`
   * @throws SnapError `STORE_LOCKED` (after `waitMs`: naming the holder, its lock object and how to
   *   break it) | `IO_ERROR`
   */
  async lock(waitMs = 60_000, kind: LockKind = 'exclusive'): Promise<BackendLock> {
    return this.lockUnder(this.key('locks/'), waitMs, kind, this.location);
  }

  /**
   * The audit log's append lock (FORMAT.md §23.4): an exclusive lock under `log.locks/`, taken by
   * every command for the moment it appends its lines (S3Backend.appendLog, after re-chaining them
   * on lines appended since it read the log: store/remote-session.ts), apart from the store lock,
   * so that commands holding a shared store lock append one after the other.
   * @throws SnapError `STORE_LOCKED` (after `waitMs`) | `IO_ERROR`
   */
  async lockLog(waitMs = LOG_LOCK_WAIT_MS): Promise<BackendLock> {
    return this.lockUnder(this.key(`${LOG_LOCK_FOLDER}/`), waitMs, 'exclusive', `the audit log of ${this.location}`);
  }

  /** A lock among the lock objects under `base` (see {@link lock}); `what` names what is locked in STORE_LOCKED. */
  private async lockUnder(base: string, waitMs: number, kind: LockKind, what: string): Promise<BackendLock> {
    const deadline = Date.now() + waitMs;
    const bodyOf = (): string => JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString(), ...(kind === 'shared' ? { shared: true } : kind === 'append' ? { append: true } : {}) });
    /** PUT the lock object `key`, noting in `written` the version the answer names (a versioned bucket's). */
    const put = async (key: string, written: string[]): Promise<void> => {
      try {
        const r = await this.client.send(new PutObjectCommand({ Bucket: this.where.bucket, Key: key, Body: bodyOf() }));
        if (r.VersionId && r.VersionId !== 'null') written.push(r.VersionId);
      } catch (e) {
        throw s3Error(e, `lock ${what}`);
      }
    };
    const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 200 + Math.floor(Math.random() * 400)));
    for (;;) {
      const mine = `${base}${String(Date.now()).padStart(13, '0')}-${randomBytes(8).toString('hex')}.json`;
      /** The versions of `mine` this process wrote: the first PUT's and each rewrite's. */
      const written: string[] = [];
      const remove = (): Promise<void> => this.removeLockObject(mine, written);
      await put(mine, written);
      let found: LockConflicts;
      // An exclusive lock that finds only shared ones keeps its object while it waits for them to
      // go (rewritten before each look, for a fresh server time): a reader that comes meanwhile
      // sees it and waits, so that readers coming one after the other cannot keep a writer out.
      try {
        for (;;) {
          found = await this.lockConflicts(base, mine, kind);
          if (found.conflicts.length > 0 || found.readers.length === 0 || Date.now() > deadline) break;
          await pause();
          await put(mine, written);
        }
      } catch (e) {
        // A listing, a read or a rewrite that failed: our object must not stay behind to lock others out.
        await remove();
        throw e;
      }
      if (found.conflicts.length === 0 && found.readers.length === 0) {
        let released = false;
        // A long command (a seal of hours) keeps its lock fresh: `since` is rewritten well before
        // another writer would take the lock for stale.
        let beating: Promise<void> = Promise.resolve();
        const beat = setInterval(() => {
          beating = put(mine, written).catch(() => {});
        }, LOCK_REFRESH_MS);
        beat.unref();
        return {
          release: async () => {
            if (released) return;
            released = true;
            clearInterval(beat);
            await beating; // a rewrite still on its way would put the lock back after its removal
            await remove();
          },
        };
      }
      await remove();
      if (Date.now() > deadline) {
        const [key, first] = (found.conflicts[0] ?? found.readers[0]) as [string, string];
        throw new SnapError(
          'STORE_LOCKED',
          `${what} is locked by ${first}. A lock object not rewritten for ${LOCK_STALE_MS / 60_000} minutes (by the server's clock) is taken over; if its process is gone, delete it now: aws s3 rm s3://${this.where.bucket}/${key}`,
          { store: this.location, key },
        );
      }
      await pause();
    }
  }

  /**
   * Remove this process's lock object `key`. In a versioned bucket each version it wrote
   * (`versions`, from the answers to its PUTs) is deleted by its id, so that no version and no delete
   * marker is left under `locks/` for every command that ran — a bucket's listing of the folder
   * would otherwise skip more of them each time (S3 lists past delete markers). Should a version
   * remain — deleting one by id refused (an Object Lock retention, no `s3:DeleteObjectVersion`
   * permission) or a version someone else wrote there — the key is deleted as before (a delete
   * marker), so that no live lock object stays behind. Never throws: a failure leaves a lock object
   * that turns stale (§23.4).
   */
  private async removeLockObject(key: string, versions: readonly string[]): Promise<void> {
    const plain = (): Promise<unknown> => this.client.send(new DeleteObjectCommand({ Bucket: this.where.bucket, Key: key })).catch(() => {});
    if (versions.length === 0) {
      await plain();
      return;
    }
    const removed = await mapLimit([...new Set(versions)], LOCK_VERSION_DELETE_JOBS, async (VersionId) => {
      try {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.where.bucket, Key: key, VersionId }));
        return true;
      } catch {
        return false;
      }
    });
    if (removed.every(Boolean) && !(await this.exists(key).catch(() => true))) return;
    await plain();
  }

  /**
   * The live lock objects under `base` other than `mine` that keep a lock of `kind` from being
   * held, each as [key, who holds it]: `conflicts` (those of a kind that may not be held beside
   * `kind`, {@link lockKindsCoexist}; a malformed one always) and, for an exclusive lock, the shared
   * `readers` it waits for in place (see {@link lockUnder}). Stale ones are removed.
   */
  private async lockConflicts(base: string, mine: string, kind: LockKind): Promise<LockConflicts> {
    // The server's time of our object (a HEAD, which never throws) is asked for while the lock
    // objects are listed: one round trip, not two.
    const serverNow = this.serverTime(mine);
    const out: LockConflicts = { conflicts: [], readers: [] };
    for await (const o of this.listEntries(base)) {
      if (o.key === mine) continue;
      const now = await serverNow;
      const held = await this.lockState(o.key, now !== undefined && o.modified !== undefined ? now - o.modified : undefined);
      if (held === 'stale' || held === 'gone') continue;
      if ('holder' in held && lockKindsCoexist(kind, held.kind)) continue;
      if ('holder' in held && held.kind === 'shared') {
        // An exclusive lock waits for a shared one in place.
        out.readers.push([o.key, `another snap: ${held.holder}; its lock object is ${o.key}`]);
        continue;
      }
      out.conflicts.push([o.key, 'malformed' in held ? `a lock object that is not one snap writes: ${o.key} (${held.malformed})` : `another snap: ${held.holder}; its lock object is ${o.key}`]);
    }
    return out;
  }

  /** When the server last wrote `key` (its `LastModified`, ms since the epoch), undefined when it cannot say. */
  private async serverTime(key: string): Promise<number | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.where.bucket, Key: key }));
      const t = r.LastModified ? new Date(r.LastModified).getTime() : NaN;
      return Number.isFinite(t) ? t : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Whether the lock object at `key` is held (then who holds it, for the error), `stale` (then it is
   * deleted), or malformed (larger than {@link MAX_LOCK_BYTES}, read no further, or not a JSON
   * object: none snap wrote). A lock, malformed or not, is stale when `ageMs` (by the server's
   * clock, see {@link lock}) exceeds {@link LOCK_STALE_MS}, or when its holder is a dead process on
   * this host; its `since` is only shown. Without `ageMs` (a listing without `LastModified`), a
   * well-formed lock's `since` is its age when it is in the past, and a malformed one is held. One
   * gone meanwhile (the read finds no such key: its holder released it, or a writer that backed off
   * deleted it) is `gone` and holds nothing; one that cannot be read otherwise is held.
   */
  private async lockState(key: string, ageMs: number | undefined): Promise<LockObjectState> {
    const old = ageMs !== undefined && ageMs > LOCK_STALE_MS;
    const state = await this.readLockObject(key, ageMs);
    if (state === 'gone') return state;
    if (old || state === 'stale') {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.where.bucket, Key: key })).catch(() => {});
      return 'stale';
    }
    return state;
  }

  /** The lock object at `key` read (see {@link lockState}); `stale` only for a dead holder on this host or, without `ageMs`, a past `since` older than LOCK_STALE_MS. */
  private async readLockObject(key: string, ageMs: number | undefined): Promise<LockObjectState> {
    let bytes: Buffer;
    try {
      bytes = await bodyPrefix(await this.get(key), MAX_LOCK_BYTES + 1);
    } catch (e) {
      if (e instanceof SnapError && e.code === 'NOT_FOUND') return 'gone';
      return { holder: `a lock object that could not be read (${e instanceof Error ? e.message : String(e)})`, kind: 'exclusive' };
    }
    if (bytes.length > MAX_LOCK_BYTES) return { malformed: `larger than ${MAX_LOCK_BYTES} bytes` };
    let holder: { pid?: unknown; host?: unknown; since?: unknown; shared?: unknown; append?: unknown };
    try {
      holder = JSON.parse(bytes.toString('utf8'));
    } catch {
      return { malformed: 'not JSON' };
    }
    if (!holder || typeof holder !== 'object' || Array.isArray(holder)) return { malformed: 'not a JSON object' };
    const since = typeof holder.since === 'string' ? Date.parse(holder.since) : NaN;
    if (ageMs === undefined && Number.isFinite(since) && Date.now() - since > LOCK_STALE_MS) return 'stale';
    if (holder.host === hostname() && typeof holder.pid === 'number') {
      try {
        process.kill(holder.pid, 0);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EPERM') return 'stale';
      }
    }
    const pid = typeof holder.pid === 'number' && Number.isSafeInteger(holder.pid) ? String(holder.pid) : '?';
    const host = typeof holder.host === 'string' ? JSON.stringify(holder.host.slice(0, 255)) : '?';
    const ahead = Number.isFinite(since) ? since - Date.now() : 0;
    const sinceText = Number.isFinite(since)
      ? `, since ${new Date(since).toISOString()}${ahead > 60_000 ? ` (${Math.round(ahead / 60_000)} minutes ahead of this machine's clock: its clock is wrong, or the object was planted)` : ''}`
      : '';
    const written = ageMs !== undefined ? `, last written ${Math.max(0, Math.round(ageMs / 1000))} s ago` : '';
    const kind = lockKindOfBody(holder);
    return { holder: `${kind === 'shared' ? 'a reader, ' : kind === 'append' ? 'a writer that only adds, ' : ''}pid ${pid} on host ${host}${sinceText}${written}`, kind };
  }

  /** The retention of a key (undefined when it has none). */
  async retentionOf(key: string, versionId?: string): Promise<Retention | undefined> {
    try {
      const r = await this.client.send(new GetObjectRetentionCommand({ Bucket: this.where.bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }));
      const mode = r.Retention?.Mode;
      const until = r.Retention?.RetainUntilDate;
      return (mode === 'COMPLIANCE' || mode === 'GOVERNANCE') && until ? { mode, until: new Date(until) } : undefined;
    } catch (e) {
      const n = (e as { name?: string })?.name;
      if (n === 'NoSuchObjectLockConfiguration' || status(e) === 404) return undefined;
      throw s3Error(e, `read the retention of ${key}`);
    }
  }

  /**
   * Lock a key until `retain.until`, extending and never shortening: a later date already set is
   * kept, and a COMPLIANCE lock stays COMPLIANCE.
   */
  async extendRetention(key: string, retain: Retention, versionId?: string): Promise<void> {
    const now = await this.retentionOf(key, versionId);
    if (now && now.until.getTime() >= retain.until.getTime() && (now.mode === 'COMPLIANCE' || retain.mode === 'GOVERNANCE')) return;
    const mode = now?.mode === 'COMPLIANCE' ? 'COMPLIANCE' : retain.mode;
    const until = now && now.until.getTime() > retain.until.getTime() ? now.until : retain.until;
    await this.made();
    try {
      await this.client.send(new PutObjectRetentionCommand({ Bucket: this.where.bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}), Retention: { Mode: mode, RetainUntilDate: until } }));
    } catch (e) {
      throw s3Error(e, `lock ${key} until ${retain.until.toISOString()}`);
    }
  }

  /**
   * The stored versions of the object `hex` that can hold its bytes, newest first: every version of
   * its key that is not a delete marker, of `size` bytes when `size` is given (a version of another
   * size cannot be the content; a record index's size is not in the statement: any size). Which of
   * them is the sealed one the listing cannot tell — someone with write access can PUT a version of
   * the same size over it — so retention locks them all (FORMAT.md §23.6). In an unversioned bucket,
   * the current object (no version ID) when it is there.
   * @param maxVersions the bound, {@link MAX_OBJECT_VERSIONS} (tests set a smaller one)
   * @throws SnapError `STORE_MALFORMED` past `maxVersions` versions listed under the key (planted) |
   *   `IO_ERROR`
   */
  async objectVersions(hex: string, size?: number, maxVersions = MAX_OBJECT_VERSIONS): Promise<{ versionId?: string; size: number }[]> {
    const key = this.objectKey(hex);
    if (!(await this.isVersioned())) {
      const there = await this.sizeOf(key);
      return there !== undefined && (size === undefined || there === size) ? [{ size: there }] : [];
    }
    const out: { versionId?: string; size: number }[] = [];
    let listed = 0;
    // Keys come in order and the key itself first of those it begins: listing stops at the first
    // other key (`KEY.junk`, planted), whose versions would otherwise count against the bound.
    pages: for await (const page of this.versionPages(key)) {
      for (const v of page.Versions ?? []) {
        if (v.Key !== key) {
          if (v.Key !== undefined && v.Key > key) break pages;
          continue;
        }
        if (++listed > maxVersions) throw new SnapError('STORE_MALFORMED', `more than ${maxVersions} versions of the object key ${key} are in bucket ${this.where.bucket}: not written by snap (run snap fsck)`, { key });
        if (size !== undefined && v.Size !== size) continue;
        out.push({ ...(v.VersionId && v.VersionId !== 'null' ? { versionId: v.VersionId } : {}), size: v.Size ?? 0 });
      }
      if ((page.DeleteMarkers ?? []).some((d) => d.Key !== undefined && d.Key > key)) break;
    }
    return out;
  }

  /**
   * Lock every version of the object `hex` that can hold its bytes ({@link objectVersions}) until
   * `retain.until`, extending and never shortening. Locking only the current version would lock
   * whatever someone with write access PUT over the sealed one, and let the sealed one's lock run out.
   * @returns how many versions are locked (0: the bucket has none of that size)
   * @throws SnapError `STORE_MALFORMED` | `IO_ERROR`
   */
  async lockObject(hex: string, retain: Retention, size?: number): Promise<number> {
    const versions = await this.objectVersions(hex, size);
    for (const v of versions) await this.extendRetention(this.objectKey(hex), retain, v.versionId);
    return versions.length;
  }

  /**
   * A committed snapshot's retention (its winning commit object's), the objects among `objects`
   * and the snapshot's own files (its staged files, as read) whose lock ends before it (or that
   * have none while the snapshot has one). An object's current version is the one looked at: it is
   * what readers read, and fsck's read of the object checks that it is the sealed bytes (older
   * versions, under a delete marker or written over, keep whatever lock they had).
   */
  async retentionReport(name: string, version: string, objects: Iterable<string>): Promise<RetentionReport> {
    const { version: v, commit } = await this.readCommit(name, version);
    const retention = await this.retentionOf(v.key, v.versionId);
    const list = [...objects];
    const shorter: string[] = [];
    const shorterFiles: string[] = [];
    if (retention) {
      await mapLimit(list, 16, async (hex) => {
        if (!(await this.hasObject(hex))) return; // missing objects are fsck's own finding
        const r = await this.retentionOf(this.objectKey(hex));
        if (!r || r.until.getTime() < retention.until.getTime()) shorter.push(hex);
      });
      // The snapshot's own files, as read (the version the commit object records, else the current
      // one): a manifest whose lock ends first can be deleted while the commit object is still locked.
      await mapLimit(snapshotFilesOf(commit), 16, async (f) => {
        const v = this.stagedFile(name, version, commit, f);
        if (!(await this.exists(v.key, v.versionId))) return; // a missing file is verify's and fsck's own finding
        const r = await this.retentionOf(v.key, v.versionId);
        if (!r || r.until.getTime() < retention.until.getTime()) shorterFiles.push(f);
      });
    }
    return { ...(retention ? { retention } : {}), objects: list.length, shorter: shorter.sort(), shorterFiles: shorterFiles.sort() };
  }

  /**
   * The staged files of a committed snapshot whose current version is not the one its commit object
   * pins (FORMAT.md §23.3): written over, or deleted (a delete marker), after the seal's PUT —
   * between it and the commit, or since — by someone with write access to the bucket. Readers read
   * the pinned version whatever this says; fsck reports it. One HEAD per pinned file; files without
   * a recorded version (an unversioned bucket: a file written over there does not hash to its pin
   * and is left out as missing) are not looked at.
   * @returns the files, in name order, each with the current version ID (`null`: deleted)
   * @throws SnapError `NOT_FOUND` | `SNAPSHOT_MALFORMED` (its commit object) | `IO_ERROR`
   */
  async overwrittenFiles(name: string, version: string): Promise<ChangedFile[]> {
    const { commit } = await this.readCommit(name, version);
    const out: ChangedFile[] = [];
    for (const f of snapshotFilesOf(commit).sort()) {
      const v = this.stagedFile(name, version, commit, f);
      if (v.versionId === undefined) continue;
      let current: string | null;
      try {
        const r = await this.client.send(new HeadObjectCommand({ Bucket: this.where.bucket, Key: v.key }));
        current = r.VersionId ?? 'null';
      } catch (e) {
        if (!isNotFound(e)) throw s3Error(e, `look for ${v.key}`);
        current = null;
      }
      if (current !== v.versionId) out.push({ file: f, pinned: v.versionId, current });
    }
    return out;
  }

  /**
   * Keys of a committed snapshot's commit object (its winning version) and staged files (the
   * versions it records): of the files it names, those a snapshot has (SNAPSHOT_FILE_NAMES), no
   * other — retain locks these, and a commit object may have been planted naming junk.
   */
  async snapshotKeys(name: string, version: string): Promise<Version[]> {
    const { version: v, commit } = await this.readCommit(name, version);
    return [v, ...snapshotFilesOf(commit).map((f) => this.stagedFile(name, version, commit, f))];
  }
}

/** The files a commit object names that a snapshot has (SNAPSHOT_FILE_NAMES): any other name is none of snap's. */
/**
 * Whether `rel` (a key under one of {@link FILE_FOLDERS}, relative to the prefix) is where snap
 * writes a store file that a reader reads: `revocations/<64 hex>/FILE.json`,
 * `attestations/MODEL/VERSION/statement.json|envelope.json` (valid names), `log.checkpoints/FILE`
 * (the reader reports every name there that is not a checkpoint), `signatures/NAME/VERSION/FILE`.
 */
function snapsFile(rel: string): boolean {
  const p = rel.split('/');
  switch (p[0]) {
    case 'revocations':
      return p.length === 3 && /^[0-9a-f]{64}$/.test(p[1] as string) && (p[2] as string).endsWith('.json');
    case 'attestations':
      return p.length === 4 && NAME_RE.test(p[1] as string) && VERSION_RE.test(p[2] as string) && (p[3] === 'statement.json' || p[3] === 'envelope.json');
    case 'signatures':
      return p.length === 4;
    default: // log.checkpoints
      return p.length === 2;
  }
}

/** `STORE_MALFORMED`: more files under `folder` than `most` (see {@link MAX_REVOCATION_FILES_READ}). */
function tooMany(location: string, folder: string, most: number, why: string): SnapError {
  return new SnapError('STORE_MALFORMED', `${location}: more than ${most} files under ${folder}, more than a store in use holds: they were planted; remove those snap did not write — in a versioned bucket each of their versions (DeleteObjectVersion): a plain DELETE only adds a delete marker, and the first version is what snap reads (${why}, so none is skipped)`, { store: location, path: folder });
}

function snapshotFilesOf(commit: Commit): string[] {
  return Object.keys(commit.files).filter((n) => (SNAPSHOT_FILE_NAMES as readonly string[]).includes(n));
}

/** What {@link S3Backend.retentionReport} found. */
export interface RetentionReport {
  /** The snapshot's retention: its commit object's (none when it is not locked). */
  retention?: Retention;
  /** How many objects the snapshot names. */
  objects: number;
  /** Those whose lock ends before the snapshot's (hex digests, sorted). */
  shorter: string[];
  /** The snapshot's own files (names its commit object gives, e.g. `manifest.jsonl`) whose lock ends before the snapshot's, sorted. */
  shorterFiles: string[];
}

/** Map with at most `limit` calls in flight, results in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
