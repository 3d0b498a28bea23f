/**
 * Signed shard reports (docs/FORMAT.md §20.7): a worker given `--report-key` writes its report as
 * the payload of a DSSE envelope (SPEC §5, the envelope and PAE of `core/envelope.ts`) of its own
 * payload type, so that `verify --merge --report-pubkey KEY…` can tell a report a worker key signed
 * from one anybody with write access to the report files wrote. Pure: bytes and text in, objects
 * out.
 */
import { SnapError, isSnapError } from '../core/errors.js';
import { envelopeFromJson, serializeEnvelope, signEnvelope, verifyEnvelope, type Envelope, type Signer, type TrustedKey } from '../core/envelope.js';
import { decodeUtf8, fromBase64 } from '../core/encoding.js';
import { parseJsonStrict } from '../core/json-strict.js';
import { MAX_SHARD_REPORT_BYTES, shardReportFromJson, type ShardReport } from './report.js';

/**
 * The DSSE payload type of a signed shard report. Its own type, never `application/vnd.in-toto+json`:
 * PAE (DSSE v1) binds the type, so a signature over a shard report cannot pass for one over a
 * snapshot's statement or a policy, nor the other way round, even when one key signs both.
 */
export const SHARD_REPORT_PAYLOAD_TYPE = 'application/vnd.snap.verify-shard+json';

/**
 * Most signatures a shard report's envelope may carry (its worker signs it once). Every signature
 * may be tried against every `--report-pubkey` key, so this bounds the work a planted envelope
 * costs the merge: at most this many Ed25519 verifications per report and key.
 */
export const MAX_SHARD_REPORT_SIGNATURES = 4;

/**
 * Room in a signed report's file for all but its base64 payload, in bytes (16 KiB): the envelope's
 * members and punctuation, and up to {@link MAX_SHARD_REPORT_SIGNATURES} signatures (a worker's one
 * `{keyid, sig}` is some 170 bytes).
 */
export const SHARD_REPORT_ENVELOPE_ROOM_BYTES = 16 * 1024;

/**
 * Largest signed shard report file, in bytes: the largest report ({@link MAX_SHARD_REPORT_BYTES},
 * 64 MiB) in base64 (4 characters for each 3 bytes, padded) plus
 * {@link SHARD_REPORT_ENVELOPE_ROOM_BYTES}: 89,494,872 bytes (about 85.3 MiB). A worker never writes a
 * report larger than the first (`shardReportBytes`), so the envelope it signs always fits this one.
 */
export const MAX_SIGNED_SHARD_REPORT_BYTES = 4 * Math.ceil(MAX_SHARD_REPORT_BYTES / 3) + SHARD_REPORT_ENVELOPE_ROOM_BYTES;

/**
 * The envelope of a signed shard report: `payload` is exactly `reportBytes` (the report as an
 * unsigned report file holds it), signed by `signer` over PAE({@link SHARD_REPORT_PAYLOAD_TYPE},
 * payload). Written as snap writes every envelope: RFC 8785 canonical JSON, UTF-8, no trailing
 * newline.
 */
export function signShardReport(reportBytes: Uint8Array, signer: Signer): Uint8Array {
  return serializeEnvelope(signEnvelope(reportBytes, [signer], SHARD_REPORT_PAYLOAD_TYPE));
}

/** Why a report read for a merge cannot be used: no signature at all, or none by a trusted key. */
export type ReportSignatureFinding = { kind: 'unsigned' | 'signature'; message: string };

/** A report file as the merge reads it (see {@link openShardReport}). */
export interface OpenedShardReport {
  /** The report, when it can be used; absent when its signature was required and did not verify (it is then not read at all). */
  report?: ShardReport;
  /** True when the file is an envelope (a signed report), whether or not its signature was checked. */
  signed: boolean;
  /** The keyid of the `--report-pubkey` key that verified its signature (only when keys were given and one did). */
  signedBy?: string;
  /** Why the report is left out of the merge (only when keys were given). */
  finding?: ReportSignatureFinding;
}

function malformed(what: string, why: string): never {
  throw new SnapError('SHARD_REPORT_MALFORMED', `${what} is not a shard report: ${why}`);
}

/**
 * Read one shard report file's text: a report (docs/FORMAT.md §20.3) or an envelope of one (§20.7),
 * told apart by the envelope's `payloadType` member.
 *
 * With `trusted` (the `--report-pubkey` keys, at least one): the file must be an envelope with a
 * signature that verifies under one of them (every signature tried against every key, SPEC §5: the
 * keyid is a hint); otherwise the result is a finding, `unsigned` or `signature`, and the payload
 * is not read. Without `trusted`: an envelope's payload is read and its signatures are not checked.
 *
 * @param what how to name the file in messages
 * @throws SnapError `SHARD_REPORT_MALFORMED` for text that is no report and no well-formed envelope
 *   of one: larger than {@link MAX_SIGNED_SHARD_REPORT_BYTES} (an envelope) or `MAX_SHARD_REPORT_BYTES`
 *   (a plain report, an envelope's payload), not JSON, a duplicate member (in the envelope or its payload), another payload type,
 *   more than {@link MAX_SHARD_REPORT_SIGNATURES} signatures, a payload that is not base64 or not
 *   UTF-8, a payload that is not a report (`parseShardReport`'s rules)
 */
export function openShardReport(text: string, what: string, trusted?: readonly TrustedKey[]): OpenedShardReport {
  if (text.length > MAX_SIGNED_SHARD_REPORT_BYTES) malformed(what, `it is larger than ${MAX_SIGNED_SHARD_REPORT_BYTES} bytes (MAX_SIGNED_SHARD_REPORT_BYTES)`);
  const v = parseJsonStrict(text, 'SHARD_REPORT_MALFORMED', what);
  const isEnvelope = v !== null && typeof v === 'object' && !Array.isArray(v) && 'payloadType' in v;
  if (!isEnvelope) {
    if (text.length > MAX_SHARD_REPORT_BYTES) malformed(what, `it is larger than ${MAX_SHARD_REPORT_BYTES} bytes (MAX_SHARD_REPORT_BYTES)`);
    if (trusted && trusted.length > 0) return { signed: false, finding: { kind: 'unsigned', message: `${what} is not signed: --report-pubkey asks for reports signed by a worker key (verify --shard … --report-key KEY)` } };
    return { signed: false, report: shardReportFromJson(v, what) };
  }
  let env: Envelope;
  try {
    env = envelopeFromJson(v, SHARD_REPORT_PAYLOAD_TYPE);
  } catch (e) {
    if (isSnapError(e)) malformed(what, `it is not a well-formed shard report envelope (${e.message})`);
    throw e;
  }
  if (env.signatures.length > MAX_SHARD_REPORT_SIGNATURES) malformed(what, `its envelope carries ${env.signatures.length} signatures; at most ${MAX_SHARD_REPORT_SIGNATURES} are accepted`);
  let payload: Uint8Array;
  try {
    payload = fromBase64(env.payload);
  } catch {
    malformed(what, 'its envelope payload is not base64');
  }
  if (payload.length > MAX_SHARD_REPORT_BYTES) malformed(what, `its envelope's payload is ${payload.length} bytes, more than the ${MAX_SHARD_REPORT_BYTES} a report may have (MAX_SHARD_REPORT_BYTES)`);
  let signedBy: string | undefined;
  if (trusted && trusted.length > 0) {
    const check = verifyEnvelope(env, trusted, 1, SHARD_REPORT_PAYLOAD_TYPE);
    if (!check.ok) {
      const claimed = env.signatures.length === 0 ? 'it carries no signature' : `none of its ${env.signatures.length} signature(s) (keyid ${env.signatures.map((s) => JSON.stringify(s.keyid)).join(', ')}) verifies under a --report-pubkey key`;
      return { signed: true, finding: { kind: 'signature', message: `${what} is not signed by a trusted worker key: ${claimed}; the report is not read` } };
    }
    signedBy = check.trustedKeyids[0];
  }
  let payloadText: string;
  try {
    payloadText = decodeUtf8(payload);
  } catch {
    malformed(what, 'its envelope payload is not UTF-8');
  }
  const report = shardReportFromJson(parseJsonStrict(payloadText, 'SHARD_REPORT_MALFORMED', `${what} (its payload)`), what);
  return { signed: true, report, ...(signedBy !== undefined ? { signedBy } : {}) };
}
