/**
 * Building `predicate.provenance` for a seal (core/provenance.ts): the derivations checked in the
 * store, the working tree's git state, and the whole checked against the statement's bounds.
 */
import { SnapError } from '../core/errors.js';
import { validateProvenance, type DerivedFrom, type Provenance, type ProvenanceSource } from '../core/provenance.js';
import { statementRef } from '../core/statement.js';
import type { SnapshotLocation } from '../io/store.js';
import { readSnapshotUnverified } from '../snapshot.js';
import { readGitState } from './git.js';

/**
 * The derivation record of a snapshot this one is made from: its id and the name it is signed as.
 * The snapshot must exist, carry at least one signature, and be signed as the name it was found
 * under (a swapped store folder is refused). Its signatures are not verified here (seal holds no
 * public keys); `verify`, `lineage` and `verify-model` do that.
 * @throws SnapError `REF_NOT_FOUND` | `SNAPSHOT_MALFORMED` | `SNAPSHOT_NAME_MISMATCH` | `SIGNATURE_INVALID` (unsigned) | `IO_ERROR`
 */
export async function derivationOf(loc: SnapshotLocation): Promise<DerivedFrom> {
  const info = await readSnapshotUnverified(loc);
  if (!info.statement) throw new SnapError('SNAPSHOT_MALFORMED', `${loc.ref} has no valid statement`, { ref: loc.ref });
  if (info.keyids.length === 0) throw new SnapError('SIGNATURE_INVALID', `${loc.ref} is not signed: a derivation must name a signed snapshot`, { ref: loc.ref });
  return { snapshot: info.snapshot, ref: statementRef(info.statement) };
}

/** What a seal was asked to record. */
export interface ProvenanceInput {
  description?: string;
  sources?: readonly ProvenanceSource[];
  license?: string;
  derivedFrom?: readonly DerivedFrom[];
  /** Record the pipeline: the git state of `cwd` (when it is in a git working tree) and `command`. */
  pipeline?: { cwd: string; command?: readonly string[] };
}

/**
 * `predicate.provenance` from what was asked, or undefined when nothing was.
 * @throws SnapError `USAGE` when a value breaks the bounds or grammar of docs/FORMAT.md §3.1
 */
export async function buildProvenance(input: ProvenanceInput): Promise<Provenance | undefined> {
  const p: Provenance = {};
  if (input.description !== undefined) p.description = input.description;
  if (input.sources && input.sources.length > 0) p.sources = input.sources.map((s) => ({ ...s }));
  if (input.license !== undefined) p.license = input.license;
  if (input.pipeline) {
    const git = await readGitState(input.pipeline.cwd);
    const command = input.pipeline.command && input.pipeline.command.length > 0 ? [...input.pipeline.command] : undefined;
    if (git || command) p.pipeline = { ...(git ? { git } : {}), ...(command ? { command } : {}) };
  }
  if (input.derivedFrom && input.derivedFrom.length > 0) p.derivedFrom = input.derivedFrom.map((d) => ({ ...d }));
  if (Object.keys(p).length === 0) return undefined;
  return validateProvenance(p, (why) => {
    throw new SnapError('USAGE', `provenance: ${why.replace(/^predicate\.provenance\.?/, '')}`);
  });
}
