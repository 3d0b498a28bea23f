/**
 * What the audit log records of each attestation made, and reading it back (docs/FORMAT.md §13,
 * §18; docs/DESIGN.md, "Audit log"). The line of a successful `attest` carries the attestation's
 * `MODEL@VERSION` (`ref`) and id (`snapshot`), and in `details`:
 * ```
 * {"datasets":[{"ref":"spam@v1","snapshot":"sha256:<64 hex>"}],"models":[{"name":"model.safetensors","sha256":"<64 hex>"}]}
 * ```
 * — enough to name the model and its training data once the attestation folder is gone (deleting
 * it needs no key). `snap impact` reads the records back ({@link attestRecords}) and holds the
 * store to them. A log line is not signed until a checkpoint covers it, so a record is read as a
 * claim: checked strictly, bounded, and able only to add to an answer (a false alarm), never to
 * take a model out of it.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { parseNameVersion, SNAPSHOT_ID_RE } from '../core/refs.js';
import { isValidTime } from '../core/statement.js';
import { MAX_MODEL_FILES, MAX_TRAINING_DATASETS, isArtifactName, type AttestationStatement } from '../core/attestation.js';
import { MAX_SIGNATURES } from '../core/envelope.js';
import { isObject } from '../core/is-object.js';
import { logFileThere, visitLogChunks, LOG_FILE, MAX_LOG_LINE_BYTES, parseAuditLine, type AuditLine, type LeafSink, type RawLogLine } from '../io/audit-log.js';

/** A training snapshot as an attest line records it: its signed name and id. */
export interface LoggedDataset {
  ref: string;
  snapshot: string;
}

/** A model artifact as an attest line records it: its file name and SHA-256 (hex). */
export interface LoggedArtifact {
  name: string;
  sha256: string;
}

/** The `details` of the audit line of a successful `attest`. */
export interface AttestLogDetails {
  /** The training snapshots, as the attestation names them: 1 to 64 ({@link MAX_TRAINING_DATASETS}). */
  datasets: LoggedDataset[];
  /** The artifacts (the attestation's subjects): 1 to 256 ({@link MAX_MODEL_FILES}). */
  models: LoggedArtifact[];
  /**
   * The keyids (64 hex) of the keys that signed it: 1 to {@link MAX_SIGNATURES}; absent for a line
   * of a snap before they were recorded. A keyless edit of the envelope (a signature corrupted,
   * removed, or its keyid changed) makes an attestation no trusted key's; the log says whose it was.
   */
  signers?: string[];
}

/**
 * The `details` an attest line records of a signed attestation (at most ~180 KB: §13 bounds the
 * counts and names), with the keyids of the keys that signed it.
 */
export function attestLogDetails(s: AttestationStatement, signers: readonly string[]): AttestLogDetails {
  return {
    datasets: s.predicate.datasets.map((d) => ({ ref: d.ref, snapshot: d.snapshot })),
    models: s.subject.map((x) => ({ name: x.name, sha256: x.digest.sha256 })),
    signers: [...new Set(signers)],
  };
}

/** An attestation the audit log says was made: one `attest` line with outcome `ok`. */
export interface AttestRecord {
  /** The line's seq, and its 1-based line number in the file. */
  seq: number;
  line: number;
  /** The line's time (RFC 3339 UTC): when the attestation was stored. */
  time: string;
  /** MODEL@VERSION. */
  ref: string;
  /** The attestation id, `sha256:<64 hex>`. */
  id: string;
  /** What it was trained on and its artifacts; absent for a line of a snap before they were recorded, or whose details were refused. */
  details?: AttestLogDetails;
  /** Why the line's details (present, but not as {@link AttestLogDetails}) were not used. */
  refusedDetails?: string;
}

/** An `attest` line with outcome `ok` that names no attestation that can be looked for (no valid MODEL@VERSION or id). */
export interface RefusedAttestLine {
  seq: number;
  line: number;
  reason: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
/** Whether `ref` is a MODEL@VERSION (NAME and VERSION of SPEC §1, as core `parseNameVersion` reads them). */
const isModelRef = (ref: string): boolean => {
  try {
    parseNameVersion(ref);
    return true;
  } catch {
    return false;
  }
};

/**
 * The {@link AttestLogDetails} of a line's `details`, copied member by member (nothing else of the
 * parsed line is kept), or why it is not one. Members other than `datasets`, `models` and
 * `signers` (optional) are ignored (a later version may add some).
 */
function detailsOf(d: Record<string, unknown>): AttestLogDetails | string {
  const ds = d.datasets;
  const ms = d.models;
  if (!Array.isArray(ds) || ds.length === 0 || ds.length > MAX_TRAINING_DATASETS) return `details.datasets must hold 1 to ${MAX_TRAINING_DATASETS} snapshots`;
  if (!Array.isArray(ms) || ms.length === 0 || ms.length > MAX_MODEL_FILES) return `details.models must hold 1 to ${MAX_MODEL_FILES} artifacts`;
  const datasets: LoggedDataset[] = [];
  for (const [i, x] of ds.entries()) {
    if (!isObject(x) || typeof x.ref !== 'string' || !isModelRef(x.ref) || typeof x.snapshot !== 'string' || !SNAPSHOT_ID_RE.test(x.snapshot)) return `details.datasets[${i}] is not {ref: NAME@VERSION, snapshot: sha256:<64 hex>}`;
    datasets.push({ ref: x.ref, snapshot: x.snapshot });
  }
  const models: LoggedArtifact[] = [];
  for (const [i, x] of ms.entries()) {
    if (!isObject(x) || typeof x.name !== 'string' || !isArtifactName(x.name)) return `details.models[${i}].name is not an artifact name (a file name of at most 255 bytes, no control character)`;
    if (typeof x.sha256 !== 'string' || !HEX64.test(x.sha256)) return `details.models[${i}].sha256 is not 64 lowercase hex`;
    models.push({ name: x.name, sha256: x.sha256 });
  }
  if (d.signers === undefined) return { datasets, models };
  const ks = d.signers;
  if (!Array.isArray(ks) || ks.length === 0 || ks.length > MAX_SIGNATURES || !ks.every((k) => typeof k === 'string' && HEX64.test(k))) return `details.signers must hold 1 to ${MAX_SIGNATURES} keyids (64 lowercase hex)`;
  return { datasets, models, signers: [...(ks as string[])] };
}

/**
 * The attestation a parsed log line records: undefined for any line but an `attest` with outcome
 * `ok`; a {@link RefusedAttestLine} when its `ref` is no MODEL@VERSION, its `snapshot` no
 * attestation id or its `time` no RFC 3339 UTC time as snap writes it (a planted time of up to
 * 1 MiB was copied into every answer listing the record); else the record, with its details when they are valid (a line without details —
 * an older snap's — or with refused ones still names the attestation to look for). Pure.
 */
export function attestRecordOf(e: AuditLine, line: number): AttestRecord | RefusedAttestLine | undefined {
  if (e.command !== 'attest' || e.outcome !== 'ok') return undefined;
  if (typeof e.ref !== 'string' || !isModelRef(e.ref)) return { seq: e.seq, line, reason: 'its ref is not a MODEL@VERSION' };
  if (typeof e.snapshot !== 'string' || !SNAPSHOT_ID_RE.test(e.snapshot)) return { seq: e.seq, line, reason: 'its snapshot is not an attestation id (sha256:<64 hex>)' };
  // The only member of a record not bounded by §13's counts and names: snap writes it with formatTime.
  if (!isValidTime(e.time)) return { seq: e.seq, line, reason: 'its time is not an RFC 3339 UTC time with whole seconds (2026-11-21T10:00:00Z)' };
  const base = { seq: e.seq, line, time: e.time, ref: e.ref, id: e.snapshot };
  if (e.details === undefined) return base;
  const d = isObject(e.details) ? detailsOf(e.details) : 'details is not an object';
  return typeof d === 'string' ? { ...base, refusedDetails: d } : { ...base, details: d };
}

/**
 * The bytes every line that could record an attestation holds (`"command":"attest"`, in the
 * line's canonical form). A line without them is not parsed: it is no attest line, and if it is
 * a malformed one, it stands for a line removed (no key is needed to garble a line, nor to remove
 * it), which only the checkpoints can show (impact's and verify-model's checkpoint check). Parsing
 * every line strictly cost about 5 µs of 9 a line: a 300,000-line log took 2.75 CPU-s per verify-model.
 */
const ATTEST_MARK = Buffer.from('attest');

/** One item of {@link attestRecords}. */
export type AttestLogItem =
  | { record: AttestRecord }
  | { refused: RefusedAttestLine }
  /**
   * Complete lines that are no log lines (malformed, or over 1 MiB: never parsed), and were not
   * sealed off by the next append as torn ones: `lines` of them, from line `unreadable` on.
   */
  | { unreadable: number; lines: number };

/**
 * The attestations the store's audit log records, in file order (io `visitLogChunks`: each line's
 * bytes bounded by MAX_LOG_LINE_BYTES, a longer one hashed as it streams, never kept), so that a
 * log of any length — planted or not — costs one pass and bounded memory: the items of one read
 * of the file are handed on before the next. A torn last line (no `\n`) is no record; a malformed
 * line that the next line records as the torn append it sealed off (`recovered`, matching its
 * length and SHA-256) is not reported. A line that does not hold the word `attest` is not parsed
 * ({@link ATTEST_MARK}), unless it follows a malformed line (it may record that line as a torn
 * append it sealed off); a run of such unreadable lines is one item. Nothing when there is no log.
 * With `opts.leaves`, the same pass hashes the leaves a check of the log's checkpoints needs
 * (trust/log-checkpoints `prepareCheckpointCheck`), so that impact and verify-model read the log once.
 * @throws SnapError `IO_ERROR` (the log exists but cannot be read, or is not a regular file)
 */
export async function* attestRecords(storeRoot: string, opts: { leaves?: LeafSink } = {}): AsyncGenerator<AttestLogItem> {
  const path = join(storeRoot, LOG_FILE);
  if (!logFileThere(path)) return opts.leaves?.end(0);
  const items: AttestLogItem[] = [];
  const unreadable = (line: number): void => {
    const last = items[items.length - 1];
    if (last && 'unreadable' in last && last.unreadable + last.lines === line) last.lines++;
    else items.push({ unreadable: line, lines: 1 });
  };
  /** The line before, when malformed: its number and length, and its SHA-256 when long (else its bytes are in `copy`, hashed only if the next line records it). */
  let malformed: { line: number; bytes: number; sha256?: string } | undefined;
  let copy: Buffer | undefined;
  // The lines holding the mark, and each line after a malformed one, are handed over (wantNext).
  const select = { mark: ATTEST_MARK, wantNext: false };
  let torn = false;
  const visit = (l: RawLogLine): void => {
    if (!l.complete) {
      torn = true;
      return;
    }
    const e = l.long ? undefined : parseAuditLine(l.bytes);
    if (!e) {
      if (malformed) unreadable(malformed.line);
      if (!l.long) l.bytes.copy((copy ??= Buffer.allocUnsafe(MAX_LOG_LINE_BYTES)), 0);
      malformed = { line: l.line, bytes: l.size, ...(l.long ? { sha256: l.long.sha256 } : {}) };
      select.wantNext = true;
      return;
    }
    if (malformed) {
      const m = malformed;
      const sealedOff = m.line === l.line - 1 && e.recovered?.bytes === m.bytes && e.recovered.sha256 === (m.sha256 ?? createHash('sha256').update((copy as Buffer).subarray(0, m.bytes)).digest('hex'));
      if (!sealedOff) unreadable(m.line);
      malformed = undefined;
      select.wantNext = false;
    }
    const r = attestRecordOf(e, l.line);
    if (r) items.push('reason' in r ? { refused: r } : { record: r });
  };
  for await (const _ of visitLogChunks(path, { select, ...(opts.leaves ? { leaves: opts.leaves } : {}) }, visit)) {
    yield* items.splice(0);
    if (torn) break;
  }
  if (malformed) unreadable(malformed.line);
  yield* items.splice(0);
}

/**
 * Why an attestation the audit log records is not in the store as recorded: `gone` (no folder of
 * its MODEL@VERSION), `replaced` (the folder holds another attestation id), `unreadable` (the
 * folder cannot be read or is signed as another name), `unverified` (impact with keys: it does
 * not verify, see its `unverifiedModels`; verify-model: the line's `signers` names a trusted key,
 * and no signature of it verifies under one).
 */
export type MissingState = 'gone' | 'replaced' | 'unreadable' | 'unverified';

/** An attestation the audit log records that the store does not hold as recorded. */
export interface MissingAttestation {
  /** MODEL@VERSION and attestation id, as the log line records them. */
  ref: string;
  id: string;
  /** The log line's seq and time. */
  seq: number;
  time: string;
  state: MissingState;
  /** For `replaced` (and `unverified` of another id): the id the store's folder holds. */
  found?: string;
  /** What the log records it was trained on, and its artifacts: absent for a line of an older snap (or whose details were refused: impact's `auditLog.refused`). */
  datasets?: { ref: string; snapshot: string }[];
  models?: { name: string; sha256: string }[];
}

/**
 * Most missing attestations impact and verify-model list (each holds at most 64 snapshots and 256
 * artifact names of 255 bytes: ~180 KB); a log planted with more costs a count, not memory.
 */
export const MAX_MISSING_ATTESTATIONS_LISTED = 100;
