/**
 * Model attestations (docs/FORMAT.md §13): an in-toto Statement v1 whose subjects are a model's
 * artifacts (weights, tokenizer, config: file name and SHA-256) and whose predicate names the
 * snapshots it was trained on. Signed in a DSSE envelope exactly as a snapshot statement is
 * (SPEC §5), serialized with RFC 8785. Pure: bytes and objects, no I/O.
 */
import { SnapError } from './errors.js';
import { canonicalJson } from './canonical-json.js';
import { decodeUtf8, utf8 } from './encoding.js';
import { NAME_RE, SNAPSHOT_ID_RE, VERSION_RE } from './refs.js';
import { parseJsonStrict } from './json-strict.js';
import { isValidTime, snapshotId, STATEMENT_TYPE } from './statement.js';
import { isObject } from './is-object.js';

/** The predicate type of a model attestation. */
export const ATTESTATION_PREDICATE_TYPE = 'urn:snap:model-attestation:v1';
/** Largest attestation statement accepted, in bytes. */
export const MAX_ATTESTATION_BYTES = 1024 * 1024;
/** Most model artifacts (subjects) in one attestation. */
export const MAX_MODEL_FILES = 256;
/** Most training-data snapshots one attestation names. */
export const MAX_TRAINING_DATASETS = 64;
/** Largest subject (artifact file) name, and training command, in UTF-8 bytes. */
export const MAX_ARTIFACT_NAME_BYTES = 255;
export const MAX_TRAINING_COMMAND_BYTES = 4096;

/** A training-data snapshot as the attestation names it. */
export interface TrainingDataset {
  /** `NAME@VERSION` the snapshot is signed as. */
  ref: string;
  /** Snapshot id, `sha256:<64 hex>`. */
  snapshot: string;
  /** The snapshot's Merkle root, 64 hex. */
  merkleRoot: string;
}

/** The training run, when it was described. */
export interface TrainingRun {
  command?: string;
  /** Git commit of the training code, 40 or 64 hex. */
  gitCommit?: string;
  /** The hyper-parameters file: its name and SHA-256. */
  hyperparameters?: { name: string; sha256: string };
}

/** The predicate of a model attestation. */
export interface ModelPredicate {
  model: string;
  version: string;
  createdAt: string;
  datasets: TrainingDataset[];
  training?: TrainingRun;
  tool: { name: string; version: string };
}

/** A model artifact: its file name (no folder) and SHA-256. */
export interface ArtifactSubject {
  name: string;
  digest: { sha256: string };
}

/** A model attestation statement. */
export interface AttestationStatement {
  _type: typeof STATEMENT_TYPE;
  subject: ArtifactSubject[];
  predicateType: typeof ATTESTATION_PREDICATE_TYPE;
  predicate: ModelPredicate;
}

const HEX64 = /^[0-9a-f]{64}$/;
const COMMIT_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** A file name: no folder separator, no control character, not `.` or `..`. */
const ARTIFACT_NAME_RE = /^(?!\.\.?$)[^/\\\x00-\x1f\x7f-\x9f]+$/;

function invalid(why: string): never {
  throw new SnapError('STATEMENT_INVALID', `invalid model attestation: ${why}`);
}


function onlyKeys(o: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) invalid(`unknown member ${JSON.stringify(k)} in ${where}`);
}

/** True when `text` is a valid artifact name (a file name without folders, at most 255 bytes). */
export function isArtifactName(text: string): boolean {
  return ARTIFACT_NAME_RE.test(text) && !/\p{Cs}/u.test(text) && utf8(text).length <= MAX_ARTIFACT_NAME_BYTES;
}

/**
 * Check a model attestation object. Unknown members anywhere are refused.
 * @throws SnapError `STATEMENT_MALFORMED` | `STATEMENT_UNKNOWN_TYPE` | `STATEMENT_UNKNOWN_PREDICATE_TYPE` | `STATEMENT_INVALID`
 */
export function validateAttestation(value: unknown): AttestationStatement {
  if (!isObject(value)) throw new SnapError('STATEMENT_MALFORMED', 'the attestation is not a JSON object');
  if (value._type !== STATEMENT_TYPE) throw new SnapError('STATEMENT_UNKNOWN_TYPE', `unknown statement _type ${JSON.stringify(value._type)}`);
  if (value.predicateType !== ATTESTATION_PREDICATE_TYPE) throw new SnapError('STATEMENT_UNKNOWN_PREDICATE_TYPE', `not a model attestation: predicateType ${JSON.stringify(value.predicateType)}`);
  onlyKeys(value, ['_type', 'subject', 'predicateType', 'predicate'], 'the statement');
  const subj = value.subject;
  if (!Array.isArray(subj) || subj.length === 0 || subj.length > MAX_MODEL_FILES) invalid(`subject must hold 1 to ${MAX_MODEL_FILES} artifacts`);
  const names = new Set<string>();
  subj.forEach((s, i) => {
    if (!isObject(s)) invalid(`subject[${i}] must be an object`);
    onlyKeys(s, ['name', 'digest'], `subject[${i}]`);
    if (typeof s.name !== 'string' || !isArtifactName(s.name)) invalid(`subject[${i}].name must be a file name`);
    if (names.has(s.name)) invalid(`subject[${i}].name repeats an earlier artifact`);
    names.add(s.name);
    const d = s.digest;
    if (!isObject(d) || Object.keys(d).join() !== 'sha256' || typeof d.sha256 !== 'string' || !HEX64.test(d.sha256)) invalid(`subject[${i}].digest must be {sha256: 64 hex}`);
  });
  const p = value.predicate;
  if (!isObject(p)) invalid('predicate must be an object');
  onlyKeys(p, ['model', 'version', 'createdAt', 'datasets', 'training', 'tool'], 'predicate');
  if (typeof p.model !== 'string' || !NAME_RE.test(p.model)) invalid('predicate.model is not a valid NAME');
  if (typeof p.version !== 'string' || !VERSION_RE.test(p.version)) invalid('predicate.version is not a valid VERSION');
  if (!isValidTime(p.createdAt)) invalid('predicate.createdAt must be RFC 3339 UTC with whole seconds');
  const ds = p.datasets;
  if (!Array.isArray(ds) || ds.length === 0 || ds.length > MAX_TRAINING_DATASETS) invalid(`predicate.datasets must hold 1 to ${MAX_TRAINING_DATASETS} snapshots`);
  const ids = new Set<string>();
  ds.forEach((d, i) => {
    const at = `predicate.datasets[${i}]`;
    if (!isObject(d)) invalid(`${at} must be an object`);
    onlyKeys(d, ['ref', 'snapshot', 'merkleRoot'], at);
    const ref = typeof d.ref === 'string' ? d.ref : '';
    const k = ref.indexOf('@');
    if (k < 0 || !NAME_RE.test(ref.slice(0, k)) || !VERSION_RE.test(ref.slice(k + 1))) invalid(`${at}.ref must be NAME@VERSION`);
    if (typeof d.snapshot !== 'string' || !SNAPSHOT_ID_RE.test(d.snapshot)) invalid(`${at}.snapshot must be a snapshot id`);
    if (typeof d.merkleRoot !== 'string' || !HEX64.test(d.merkleRoot)) invalid(`${at}.merkleRoot must be 64 hex`);
    if (ids.has(d.snapshot)) invalid(`${at} repeats an earlier snapshot`);
    ids.add(d.snapshot);
  });
  if ('training' in p) {
    const t = p.training;
    if (!isObject(t) || Object.keys(t).length === 0) invalid('predicate.training must be a non-empty object');
    onlyKeys(t, ['command', 'gitCommit', 'hyperparameters'], 'predicate.training');
    if ('command' in t && (typeof t.command !== 'string' || t.command === '' || /\p{Cs}/u.test(t.command) || utf8(t.command).length > MAX_TRAINING_COMMAND_BYTES)) {
      invalid(`predicate.training.command must be a string of 1 to ${MAX_TRAINING_COMMAND_BYTES} bytes`);
    }
    if ('gitCommit' in t && (typeof t.gitCommit !== 'string' || !COMMIT_RE.test(t.gitCommit))) invalid('predicate.training.gitCommit must be 40 or 64 lowercase hex');
    if ('hyperparameters' in t) {
      const h = t.hyperparameters;
      if (!isObject(h) || Object.keys(h).sort().join() !== 'name,sha256' || typeof h.name !== 'string' || !isArtifactName(h.name) || typeof h.sha256 !== 'string' || !HEX64.test(h.sha256)) {
        invalid('predicate.training.hyperparameters must be {name, sha256}');
      }
    }
  }
  const tool = p.tool;
  if (!isObject(tool) || Object.keys(tool).sort().join() !== 'name,version' || typeof tool.name !== 'string' || typeof tool.version !== 'string' || tool.name.length > 64 || tool.version.length > 64) {
    invalid('predicate.tool must be {name, version}');
  }
  return value as unknown as AttestationStatement;
}

/**
 * Build and check an attestation.
 * @throws SnapError `STATEMENT_INVALID`
 */
export function buildAttestation(subject: ArtifactSubject[], predicate: ModelPredicate): AttestationStatement {
  const p: ModelPredicate = { ...predicate };
  if (p.training === undefined) delete p.training;
  return validateAttestation({ _type: STATEMENT_TYPE, subject, predicateType: ATTESTATION_PREDICATE_TYPE, predicate: p });
}

/** The attestation bytes: RFC 8785, UTF-8, no trailing newline. */
export function serializeAttestation(s: AttestationStatement): Uint8Array {
  return utf8(canonicalJson(s));
}

/**
 * Parse attestation bytes (as verified from an envelope payload): bounded, UTF-8, strict JSON, a
 * valid attestation, exactly its own RFC 8785 form.
 * @throws SnapError `STATEMENT_MALFORMED` | `STATEMENT_NOT_CANONICAL` | every code of {@link validateAttestation}
 */
export function parseAttestation(bytes: Uint8Array): AttestationStatement {
  if (bytes.length > MAX_ATTESTATION_BYTES) throw new SnapError('STATEMENT_MALFORMED', `the attestation is larger than ${MAX_ATTESTATION_BYTES} bytes`);
  let text: string;
  try {
    text = decodeUtf8(bytes);
  } catch {
    throw new SnapError('STATEMENT_MALFORMED', 'the attestation is not UTF-8 JSON');
  }
  const s = validateAttestation(parseJsonStrict(text, 'STATEMENT_MALFORMED', 'the attestation'));
  let canonical: string;
  try {
    canonical = canonicalJson(s);
  } catch {
    throw new SnapError('STATEMENT_NOT_CANONICAL', 'the attestation is not in RFC 8785 canonical form');
  }
  if (canonical !== text) throw new SnapError('STATEMENT_NOT_CANONICAL', 'the attestation is not in RFC 8785 canonical form');
  return s;
}

/** Attestation id = `sha256:` + SHA-256 of the statement bytes (as a snapshot id). */
export const attestationId: (bytes: Uint8Array) => string = snapshotId;

/** `MODEL@VERSION` of an attestation. */
export function attestationRef(s: AttestationStatement): string {
  return `${s.predicate.model}@${s.predicate.version}`;
}
