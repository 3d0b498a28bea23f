/**
 * Is `v` a JSON object as `JSON.parse` gives it: not null, not an array (RFC 8259 §4)? The one
 * check every validator of a parsed document (statement, policy, proof, attestation, record sets,
 * shard reports, audit-log lines) makes before reading members.
 */
export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
