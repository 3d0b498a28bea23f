/**
 * The signature envelope, `envelope.json` (SPEC §5): DSSE v1 with Ed25519 signatures over PAE.
 */
import { SnapError } from './errors.js';
import { canonicalJson } from './canonical-json.js';
import { decodeUtf8, fromBase64, toBase64, toHex, utf8 } from './encoding.js';
import { sign, verify, verifyQuick, SIGNATURE_SIZE } from './ed25519.js';
import { parseJsonStrict } from './json-strict.js';

/** The only payload type snap signs or accepts: an in-toto statement. */
export const PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/**
 * Most signatures an envelope may carry. Every signature may have to be tried against every trusted
 * key (SPEC §5: the keyid is only a hint), so an envelope stuffed with junk signatures would make
 * verification as slow as its author likes (30,000 took 14 s). 64 co-signers is far beyond any
 * review process; an envelope with more is refused as malformed.
 */
export const MAX_SIGNATURES = 64;
/**
 * Most signatures × payload bytes an envelope may carry. Each signature's check hashes the whole
 * payload (Ed25519's SHA-512 over R, A and the message, one per signature and key tried), so 64
 * junk signatures over a 4 MiB statement made each planted envelope cost 256 MiB of hashing per
 * trusted key (10 such snapshots: 4 CPU-s of a `verify --against NAME@latest`). 32 MiB lets a
 * statement of up to 512 KiB carry all 64 signatures, one of 4 MiB 8; an envelope with more is
 * refused as malformed, as one with more than {@link MAX_SIGNATURES} is.
 */
export const MAX_SIGNATURE_WORK_BYTES = 32 * 1024 * 1024;
/**
 * Full checks (@noble/ed25519's own, about 1.2 ms each, see core/ed25519.ts) one trusted key gets in
 * one envelope. Every other signature is judged against it by the quick check alone (OpenSSL, about
 * 0.1 ms): a signature OpenSSL refuses can hold only under noble's cofactored equation, which no
 * RFC 8032 signer produces; one that is not among the first this many refused under that key then
 * does not count. Without it, 100 planted snapshots of 64 junk signatures each cost
 * `verify --against NAME@latest` 11 CPU-s. It can only refuse (a signature counts only after a
 * check that accepts it), and a verdict depends on the envelope and the keys alone.
 */
export const MAX_FULL_CHECKS_PER_KEY = 1;
/** Largest envelope accepted, in bytes: a statement of at most 4 MiB (MAX_STATEMENT_BYTES) in base64, plus the signatures. */
export const MAX_ENVELOPE_BYTES = 6 * 1024 * 1024;

/** One DSSE signature: `keyid` is a hint only, `sig` is base64. */
export interface EnvelopeSignature {
  keyid: string;
  sig: string;
}

/** A DSSE v1 envelope. `payload` is base64 of the statement bytes. */
export interface Envelope {
  payload: string;
  payloadType: string;
  signatures: EnvelopeSignature[];
}

/** A key that signs: 32-byte seed, its public key and keyid (SPEC §6). */
export interface Signer {
  seed: Uint8Array;
  publicKey: Uint8Array;
  keyid: string;
}

/** A public key the verifier trusts. */
export interface TrustedKey {
  publicKey: Uint8Array;
  keyid: string;
}

/**
 * Pre-Authentication Encoding, DSSE v1:
 * `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, LEN = ASCII decimal byte length.
 */
export function pae(payloadType: string, body: Uint8Array): Uint8Array {
  const type = utf8(payloadType);
  const head = utf8(`DSSEv1 ${type.length} ${payloadType} ${body.length} `);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/**
 * Sign a payload into a new envelope, one signature per signer, in the order given.
 * @param payload the statement bytes
 * @throws SnapError `SIGNATURE_LIMIT` when there are more signers than an envelope over `payload`
 *   may carry ({@link maxSignaturesOver}): verify would refuse the envelope as malformed
 */
export function signEnvelope(payload: Uint8Array, signers: readonly Signer[], payloadType: string = PAYLOAD_TYPE): Envelope {
  const most = maxSignaturesOverSize(payload.length);
  if (signers.length > most) {
    throw new SnapError('SIGNATURE_LIMIT', `${signers.length} signing keys: an envelope over ${payload.length} bytes may carry at most ${most} signatures (MAX_SIGNATURES ${MAX_SIGNATURES}, MAX_SIGNATURE_WORK_BYTES ${MAX_SIGNATURE_WORK_BYTES}), and verify would refuse one with more: sign with at most ${most} keys`, { signatures: signers.length, most });
  }
  const msg = pae(payloadType, payload);
  return {
    payload: toBase64(payload),
    payloadType,
    signatures: signers.map((s) => ({ keyid: s.keyid, sig: toBase64(sign(msg, s.seed)) })),
  };
}

/**
 * Parse envelope JSON. The shape must be exactly DSSE's: `payload` and `payloadType` strings, a
 * `signatures` array of `{keyid, sig}` with string values; other members are refused.
 * The payload type must be `payloadType`: {@link PAYLOAD_TYPE} unless another is asked for (a
 * trust policy has its own, so that no signature over one can pass for a signature over the other).
 * @throws SnapError `ENVELOPE_MALFORMED` | `ENVELOPE_UNKNOWN_PAYLOAD_TYPE`
 */
export function parseEnvelope(bytes: Uint8Array | string, payloadType: string = PAYLOAD_TYPE): Envelope {
  if (bytes.length > MAX_ENVELOPE_BYTES) throw new SnapError('ENVELOPE_MALFORMED', `the envelope is larger than ${MAX_ENVELOPE_BYTES} bytes`);
  let text: string;
  try {
    text = typeof bytes === 'string' ? bytes : decodeUtf8(bytes);
  } catch {
    throw new SnapError('ENVELOPE_MALFORMED', 'the envelope is not UTF-8');
  }
  return envelopeFromJson(parseJsonStrict(text, 'ENVELOPE_MALFORMED', 'the envelope'), payloadType);
}

/**
 * The envelope in a JSON value already parsed strictly (duplicate members refused, see
 * `parseJsonStrict`): the shape checks of {@link parseEnvelope}, for a caller that must look at the
 * value before it knows it is an envelope (a shard report is a report or an envelope of one).
 * @throws SnapError `ENVELOPE_MALFORMED` | `ENVELOPE_UNKNOWN_PAYLOAD_TYPE`
 */
export function envelopeFromJson(v: unknown, payloadType: string = PAYLOAD_TYPE): Envelope {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new SnapError('ENVELOPE_MALFORMED', 'the envelope is not a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['payload', 'payloadType', 'signatures'].includes(k)) throw new SnapError('ENVELOPE_MALFORMED', `unknown envelope member ${JSON.stringify(k)}`);
  }
  if (typeof o.payload !== 'string' || typeof o.payloadType !== 'string' || !Array.isArray(o.signatures)) {
    throw new SnapError('ENVELOPE_MALFORMED', 'the envelope needs payload (string), payloadType (string) and signatures (array)');
  }
  if (o.payloadType !== payloadType) {
    throw new SnapError('ENVELOPE_UNKNOWN_PAYLOAD_TYPE', `unknown payloadType ${JSON.stringify(o.payloadType)} (expected ${payloadType})`);
  }
  if (o.signatures.length > MAX_SIGNATURES) {
    throw new SnapError('ENVELOPE_MALFORMED', `the envelope carries ${o.signatures.length} signatures; at most ${MAX_SIGNATURES} are accepted`);
  }
  const most = maxSignaturesOver(o.payload);
  if (o.signatures.length > most) {
    throw new SnapError('ENVELOPE_MALFORMED', `the envelope carries ${o.signatures.length} signatures over a payload of ${payloadSize(o.payload)} bytes; at most ${most} are accepted over a payload that large (each signature hashes it: ${MAX_SIGNATURE_WORK_BYTES} bytes of signatures × payload in all)`);
  }
  const signatures: EnvelopeSignature[] = o.signatures.map((s, i) => {
    if (s === null || typeof s !== 'object' || Array.isArray(s)) throw new SnapError('ENVELOPE_MALFORMED', `signatures[${i}] is not an object`);
    const r = s as Record<string, unknown>;
    for (const k of Object.keys(r)) if (k !== 'keyid' && k !== 'sig') throw new SnapError('ENVELOPE_MALFORMED', `signatures[${i}] has unknown member ${JSON.stringify(k)}`);
    if (typeof r.sig !== 'string') throw new SnapError('ENVELOPE_MALFORMED', `signatures[${i}].sig must be a string`);
    if (r.keyid !== undefined && typeof r.keyid !== 'string') throw new SnapError('ENVELOPE_MALFORMED', `signatures[${i}].keyid must be a string`);
    return { keyid: (r.keyid as string | undefined) ?? '', sig: r.sig };
  });
  return { payload: o.payload, payloadType: o.payloadType, signatures };
}

/** The bytes base64 `payload` decodes to when it is valid. */
function payloadSize(payload: string): number {
  return Math.floor((payload.length * 3) / 4) - (payload.endsWith('==') ? 2 : payload.endsWith('=') ? 1 : 0);
}

/**
 * Most signatures an envelope over base64 `payload` may carry: {@link MAX_SIGNATURES}, and no more
 * than {@link MAX_SIGNATURE_WORK_BYTES} of signatures × payload bytes (at least 0: a payload past
 * that bound may carry one). Co-signing stops there, so that it never writes an envelope that
 * {@link parseEnvelope} refuses.
 */
export function maxSignaturesOver(payload: string): number {
  return maxSignaturesOverSize(payloadSize(payload));
}

/** {@link maxSignaturesOver} for a payload of `size` bytes; always at least 1 (a payload larger than the bound, as a shard report may be, is bounded by its reader's own size cap). */
function maxSignaturesOverSize(size: number): number {
  return size === 0 ? MAX_SIGNATURES : Math.max(1, Math.min(MAX_SIGNATURES, Math.floor(MAX_SIGNATURE_WORK_BYTES / size)));
}

/** Envelope bytes as snap writes them: RFC 8785 canonical JSON, UTF-8, no trailing newline. */
export function serializeEnvelope(env: Envelope): Uint8Array {
  return utf8(canonicalJson(env));
}

/** What became of one signature of an envelope. */
export interface SignatureCheck {
  /** The keyid the envelope claims (a hint, never trusted). */
  keyid: string;
  /** True when the signature is valid under one of the trusted keys. */
  trusted: boolean;
  /** The keyid of the trusted key that verified it, when one did. */
  verifiedBy?: string;
  /** Why it is not trusted: `malformed` (bad base64 or length) or `no-trusted-key` (valid under none of the given keys). */
  reason?: 'malformed' | 'no-trusted-key';
}

/** The outcome of {@link verifyEnvelope}. */
export interface EnvelopeVerification {
  /** True when at least `threshold` distinct trusted keys signed. */
  ok: boolean;
  /** The payload bytes: parse the statement from these only when `ok`. */
  payload: Uint8Array;
  signatures: SignatureCheck[];
  /** Distinct trusted keyids that signed, in the order first seen. */
  trustedKeyids: string[];
  threshold: number;
}

/**
 * Verify an envelope against trusted public keys, SPEC §5: every signature is tried against every
 * trusted key (the keyid is only a hint), each trusted key counts once, and `ok` is true when at
 * least `threshold` distinct trusted keys signed PAE(payloadType, payload). Strict RFC 8032.
 * A wrong, truncated or untrusted signature is a result, not an error.
 *
 * Bounded work on hostile input: the trusted key whose keyid the signature names is tried first,
 * the others only when it fails; a signature that repeats an earlier one (same bytes) reuses that
 * verdict; {@link parseEnvelope} refuses more than {@link MAX_SIGNATURES} signatures, or more
 * signatures × payload bytes than {@link MAX_SIGNATURE_WORK_BYTES}; and each
 * trusted key gets at most {@link MAX_FULL_CHECKS_PER_KEY} full check of a signature the quick
 * one left undecided (core/ed25519.ts `verifyQuick`), in signature order. At most
 * `MAX_SIGNATURES × trusted.length` quick verifications and `MAX_FULL_CHECKS_PER_KEY ×
 * trusted.length` full ones are made.
 * @param threshold minimum number of distinct trusted signers (default 1)
 * @param payloadType the payload type the envelope must have (default {@link PAYLOAD_TYPE})
 * @throws SnapError `ENVELOPE_UNKNOWN_PAYLOAD_TYPE` | `BASE64_INVALID` (payload) | `USAGE` (threshold < 1)
 */
export function verifyEnvelope(env: Envelope, trusted: readonly TrustedKey[], threshold = 1, payloadType: string = PAYLOAD_TYPE): EnvelopeVerification {
  if (!Number.isSafeInteger(threshold) || threshold < 1) throw new SnapError('USAGE', `threshold must be a positive integer, got ${threshold}`);
  if (env.payloadType !== payloadType) throw new SnapError('ENVELOPE_UNKNOWN_PAYLOAD_TYPE', `unknown payloadType ${JSON.stringify(env.payloadType)}`);
  const payload = fromBase64(env.payload);
  const msg = pae(env.payloadType, payload);
  const seen = new Set<string>();
  const trustedKeyids: string[] = [];
  // Verdicts by signature bytes (base64-decoded, as hex): a repeated signature is not tried again.
  const verdicts = new Map<string, string | null>();
  /** Full checks made per trusted keyid. */
  const full = new Map<string, number>();
  const holds = (sig: Uint8Array, k: TrustedKey): boolean => {
    const quick = verifyQuick(sig, msg, k.publicKey);
    if (quick !== undefined) return quick;
    const made = full.get(k.keyid) ?? 0;
    if (made >= MAX_FULL_CHECKS_PER_KEY) return false;
    full.set(k.keyid, made + 1);
    return verify(sig, msg, k.publicKey);
  };
  const signatures = env.signatures.map((s): SignatureCheck => {
    let sig: Uint8Array;
    try {
      sig = fromBase64(s.sig);
    } catch {
      return { keyid: s.keyid, trusted: false, reason: 'malformed' };
    }
    if (sig.length !== SIGNATURE_SIZE) return { keyid: s.keyid, trusted: false, reason: 'malformed' };
    const sigKey = toHex(sig);
    let by = verdicts.get(sigKey);
    if (by === undefined) {
      // The hinted key first; every other trusted key after it (SPEC §5: the hint is never trusted).
      const order = [...trusted.filter((k) => k.keyid === s.keyid), ...trusted.filter((k) => k.keyid !== s.keyid)];
      by = order.find((k) => holds(sig, k))?.keyid ?? null;
      verdicts.set(sigKey, by);
    }
    if (by === null) return { keyid: s.keyid, trusted: false, reason: 'no-trusted-key' };
    if (!seen.has(by)) {
      seen.add(by);
      trustedKeyids.push(by);
    }
    return { keyid: s.keyid, trusted: true, verifiedBy: by };
  });
  return { ok: trustedKeyids.length >= threshold, payload, signatures, trustedKeyids, threshold };
}

/**
 * Append signatures to an envelope (co-signing, SPEC §5): the payload never changes; a signer
 * that already has a valid signature in the envelope is skipped. Keyids are only hints (SPEC §5):
 * a signature that merely claims a signer's keyid does not stop that signer from signing.
 * @throws SnapError `BASE64_INVALID` (payload)
 */
export function addSignatures(env: Envelope, signers: readonly Signer[]): Envelope {
  const payload = fromBase64(env.payload);
  const msg = pae(env.payloadType, payload);
  const existing = env.signatures.flatMap((s) => {
    try {
      const sig = fromBase64(s.sig);
      return sig.length === SIGNATURE_SIZE ? [sig] : [];
    } catch {
      return [];
    }
  });
  const added = signers
    .filter((s) => !existing.some((sig) => verify(sig, msg, s.publicKey)))
    .map((s) => ({ keyid: s.keyid, sig: toBase64(sign(msg, s.seed)) }));
  return { ...env, signatures: [...env.signatures, ...added] };
}
