/** What both kinds of seal (into a store, `--out` an archive) print about the snapshot they made. */
import type { SealedSnapshot } from '../ops/seal.js';
import { formatBytes, formatCount } from './format.js';
import { escapeForTerminal as shown } from '../core/display.js';

/** The `--json` fields every seal shares, in the order seal has always printed them. */
export function sealedJson(r: SealedSnapshot): Record<string, unknown> {
  return {
    ok: true, ref: r.ref, snapshot: r.snapshot, files: r.files, bytes: r.bytes, merkleRoot: r.merkleRoot, manifestSha256: r.manifestSha256,
    signer: r.keyid, signers: r.keyids, createdAt: r.createdAt, ...(r.expiresAt ? { expiresAt: r.expiresAt } : {}), ...(r.parent ? { parent: r.parent } : {}),
  };
}

/** The first lines of every seal's text report; the caller adds where the contents went and the time. */
export function sealedLines(r: SealedSnapshot): string[] {
  return [
    `sealed ${shown(r.ref)}`,
    `  snapshot     ${shown(r.snapshot)}`,
    `  files        ${formatCount(r.files)} (${formatBytes(r.bytes)})`,
    `  merkle root  ${shown(r.merkleRoot)}`,
    ...r.keyids.map((k, i) => `  ${i === 0 ? 'signed by' : '         '}    ${shown(k)}`),
    ...(r.expiresAt ? [`  expires      ${shown(r.expiresAt)}`] : []),
    ...(r.parent ? [`  parent       ${shown(r.parent)}`] : []),
  ];
}
