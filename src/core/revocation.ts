/**
 * A revocation: a signed statement that a snapshot must never be used again ("v7 is poisoned").
 * It is an in-toto Statement v1 of its own predicate type, serialized with RFC 8785 (JCS), signed
 * in a DSSE envelope like a snapshot statement (SPEC §5; docs/FORMAT.md §15):
 * ```json
 * {"_type":"https://in-toto.io/Statement/v1",
 *  "predicate":{"reason":"labels flipped in spam/","revokedAt":"2026-11-28T09:00:00Z","tool":{"name":"snap","version":"0.1.0"}},
 *  "predicateType":"urn:snap:snapshot-revocation:v1",
 *  "subject":[{"digest":{"sha256":"<snapshot id hex>"},"name":"fraud-train@v7"}]}
 * ```
 * The subject digest is the revoked snapshot's id (SHA-256 of its statement bytes, SPEC §4), so a
 * revocation names exactly one snapshot, whatever store or archive it is found in. Its own
 * predicate type keeps it from ever being taken for a snapshot statement (a verifier refuses a
 * predicate type it does not know), and the reverse.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { SnapError } from './errors.js';
import { canonicalJson } from './canonical-json.js';
import { decodeUtf8, toHex, utf8 } from './encoding.js';
import { parseJsonStrict } from './json-strict.js';
import { NAME_RE, VERSION_RE } from './refs.js';
import { STATEMENT_TYPE, isValidTime } from './statement.js';

/** The predicate type of a revocation. */
export const REVOCATION_PREDICATE_TYPE = 'urn:snap:snapshot-revocation:v1';
/** Longest reason, in UTF-8 bytes. */
export const MAX_REASON_BYTES = 4096;
/** Largest revocation statement accepted, in bytes (a reason of 4 KiB, escaped, and the rest). */
export const MAX_REVOCATION_BYTES = 32 * 1024;

/** The predicate of a revocation. */
export interface RevocationPredicate {
  /** Why the snapshot must not be used: non-empty, at most {@link MAX_REASON_BYTES}, no control characters. */
  reason: string;
  /** RFC 3339 UTC, whole seconds. */
  revokedAt: string;
  tool: { name: string; version: string };
}

/** A revocation statement. */
export interface RevocationStatement {
  _type: typeof STATEMENT_TYPE;
  subject: [{ name: string; digest: { sha256: string } }];
  predicateType: typeof REVOCATION_PREDICATE_TYPE;
  predicate: RevocationPredicate;
}

const HEX64 = /^[0-9a-f]{64}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function invalid(why: string): never {
  throw new SnapError('REVOCATION_MALFORMED', `invalid revocation: ${why}`);
}

/**
 * Check a reason given for a revocation.
 * @throws SnapError `USAGE` when it is empty, too long, or holds a control character (it is shown on terminals)
 */
export function checkReason(reason: string): string {
  if (reason.trim().length === 0) throw new SnapError('USAGE', '--reason must say why the snapshot is revoked');
  if (utf8(reason).length > MAX_REASON_BYTES) throw new SnapError('USAGE', `--reason is longer than ${MAX_REASON_BYTES} bytes`);
  if (CONTROL.test(reason)) throw new SnapError('USAGE', '--reason may not hold control characters (newlines, escapes): it is shown on terminals');
  return reason;
}

/**
 * Check a parsed value as a revocation statement: exactly the members above, of the right types.
 * @throws SnapError `REVOCATION_MALFORMED`
 */
export function validateRevocation(value: unknown): RevocationStatement {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) invalid('not a JSON object');
  const s = value as Record<string, unknown>;
  if (Object.keys(s).sort().join() !== '_type,predicate,predicateType,subject') invalid('members must be _type, subject, predicateType, predicate');
  if (s._type !== STATEMENT_TYPE) invalid(`_type must be ${STATEMENT_TYPE}`);
  if (s.predicateType !== REVOCATION_PREDICATE_TYPE) invalid(`predicateType must be ${REVOCATION_PREDICATE_TYPE}`);
  const p = s.predicate as Record<string, unknown>;
  if (p === null || typeof p !== 'object' || Array.isArray(p) || Object.keys(p).sort().join() !== 'reason,revokedAt,tool') invalid('predicate must be {reason, revokedAt, tool}');
  if (typeof p.reason !== 'string') invalid('predicate.reason must be a string');
  try {
    checkReason(p.reason);
  } catch (e) {
    invalid(`predicate.reason: ${(e as Error).message}`);
  }
  if (!isValidTime(p.revokedAt)) invalid('predicate.revokedAt must be RFC 3339 UTC with whole seconds');
  const tool = p.tool as Record<string, unknown>;
  if (tool === null || typeof tool !== 'object' || Array.isArray(tool) || Object.keys(tool).sort().join() !== 'name,version' || typeof tool.name !== 'string' || typeof tool.version !== 'string') invalid('predicate.tool must be {name, version}');
  const subj = s.subject;
  if (!Array.isArray(subj) || subj.length !== 1) invalid('subject must hold exactly one entry');
  const sub = subj[0] as Record<string, unknown>;
  if (sub === null || typeof sub !== 'object' || Object.keys(sub).sort().join() !== 'digest,name') invalid('subject[0] must be {name, digest}');
  const at = typeof sub.name === 'string' ? sub.name.indexOf('@') : -1;
  if (at < 0 || !NAME_RE.test((sub.name as string).slice(0, at)) || !VERSION_RE.test((sub.name as string).slice(at + 1))) invalid('subject[0].name must be NAME@VERSION');
  const dig = sub.digest as Record<string, unknown>;
  if (dig === null || typeof dig !== 'object' || Object.keys(dig).join() !== 'sha256' || typeof dig.sha256 !== 'string' || !HEX64.test(dig.sha256)) invalid('subject[0].digest must be {sha256: <snapshot id hex>}');
  return value as RevocationStatement;
}

/**
 * Build a revocation of one snapshot.
 * @param snapshot the snapshot id, `sha256:<hex>`
 * @param ref its `NAME@VERSION`
 * @throws SnapError `USAGE` (reason) | `REVOCATION_MALFORMED`
 */
export function buildRevocation(snapshot: string, ref: string, reason: string, revokedAt: string, tool: { name: string; version: string }): RevocationStatement {
  checkReason(reason);
  return validateRevocation({
    _type: STATEMENT_TYPE,
    subject: [{ name: ref, digest: { sha256: snapshot.replace(/^sha256:/, '') } }],
    predicateType: REVOCATION_PREDICATE_TYPE,
    predicate: { reason, revokedAt, tool: { ...tool } },
  });
}

/** The revocation bytes: RFC 8785 canonical JSON, UTF-8, no trailing newline. */
export function serializeRevocation(r: RevocationStatement): Uint8Array {
  return utf8(canonicalJson(r));
}

/**
 * Parse revocation statement bytes (a verified DSSE payload): UTF-8 JSON without duplicate members,
 * a valid revocation, in its own canonical form.
 * @throws SnapError `REVOCATION_MALFORMED`
 */
export function parseRevocation(bytes: Uint8Array): RevocationStatement {
  if (bytes.length > MAX_REVOCATION_BYTES) invalid(`larger than ${MAX_REVOCATION_BYTES} bytes`);
  let text: string;
  try {
    text = decodeUtf8(bytes);
  } catch {
    invalid('not UTF-8');
  }
  const r = validateRevocation(parseJsonStrict(text, 'REVOCATION_MALFORMED', 'the revocation'));
  if (canonicalJson(r) !== text) invalid('not in RFC 8785 canonical form');
  return r;
}

/** The snapshot id a revocation names: `sha256:` + its subject digest. */
export function revokedSnapshot(r: RevocationStatement): string {
  return `sha256:${r.subject[0].digest.sha256}`;
}

/** A revocation's id: hex SHA-256 of its statement bytes (names its file in a store). */
export function revocationId(statementBytes: Uint8Array): string {
  return toHex(sha256(statementBytes));
}
