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
 * committed envelope's into the committed envelope: committed signatures first, then each file's
 * new ones in name order, duplicates dropped, at most MAX_SIGNATURES in all. Anything else is
 * ignored and said (a file whose bytes changed, another payload, a malformed envelope).
 *
 * What bucket write access without keys can do with this: add signatures (they count only when a
 * trusted key made them, as in any envelope), or remove or spoil a co-signature file, which can
 * only make a threshold fail. Nothing here makes a snapshot trusted that was not.
 */
import { createHash } from 'node:crypto';
import { MAX_SIGNATURES, parseEnvelope, serializeEnvelope, type Envelope } from '../core/envelope.js';

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
 * The committed envelope with the co-signatures of `files` merged in (see the module comment).
 * @param committed the committed `envelope.json` bytes (returned as they are when unparsable:
 *   verify reports that)
 * @param files     co-signature files: path and bytes
 * @param note      told of each file that is ignored, and why
 * @returns the envelope's bytes: `committed` itself when nothing was added
 */
export function mergeCosignatures(committed: Uint8Array, files: { path: string; bytes: Uint8Array }[], note: (text: string) => void): Uint8Array {
  let base: Envelope;
  try {
    base = parseEnvelope(committed);
  } catch {
    return committed;
  }
  const signatures = [...base.signatures];
  const seen = new Set(signatures.map((s) => s.sig));
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const m = /\/([0-9a-f]{64})\.json$/.exec(f.path);
    if (!m || m[1] !== sha(f.bytes)) {
      note(`co-signature file ${f.path} does not hash to its name: ignored`);
      continue;
    }
    let env: Envelope;
    try {
      env = parseEnvelope(f.bytes);
    } catch {
      note(`co-signature file ${f.path} is not an envelope: ignored`);
      continue;
    }
    if (env.payload !== base.payload || env.payloadType !== base.payloadType) {
      note(`co-signature file ${f.path} signs another payload than the snapshot's: ignored`);
      continue;
    }
    for (const s of env.signatures) {
      if (seen.has(s.sig)) continue;
      if (signatures.length >= MAX_SIGNATURES) {
        note(`co-signature file ${f.path}: the envelope already carries ${MAX_SIGNATURES} signatures; the rest are ignored`);
        break;
      }
      seen.add(s.sig);
      signatures.push(s);
    }
  }
  if (signatures.length === base.signatures.length) return committed;
  return serializeEnvelope({ ...base, signatures });
}
