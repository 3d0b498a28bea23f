/**
 * Lineage and impact over a store's snapshots and attestations. Edges come from the statements:
 * `parent` (the previous version) and `provenance.derivedFrom` (produced from). Statements are read
 * as `list` and `show` read them: not verified (use `verify`, `verify-model` for trust), but a
 * snapshot whose statement names another than its folder is left out and reported, and so is an
 * attestation that cannot be read or is signed as another name than its folder's. {@link impact}
 * can be given an {@link ImpactTrust} (`snap impact --pubkey`): then only what verifies counts.
 */
import { isSnapError } from '../core/errors.js';
import type { ProvenanceSource } from '../core/provenance.js';
import { statementRef, type Statement } from '../core/statement.js';
import { listSnapshotFolders, listSnapshots, type SnapshotLocation, type Store } from '../io/store.js';
import { checkTrust, readSnapshotUnverified } from '../snapshot.js';
import type { TrustedKey } from '../core/envelope.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_FILE, type LeafSink } from '../io/audit-log.js';
import { attestRecords, MAX_MISSING_ATTESTATIONS_LISTED, type MissingAttestation, type MissingState } from './attest-log.js';

export { MAX_MISSING_ATTESTATIONS_LISTED, type MissingAttestation, type MissingState };
import { checkStoredAttestation, listAttestations, readAttestationUnverified, type AttestationCheck, type StoredAttestation } from './attestation-store.js';

/** How one snapshot leads to another. */
export type Relation = 'parent' | 'derived-from';

/** A snapshot as lineage and impact report it. */
export interface LineageNode {
  ref: string;
  snapshot: string;
  createdAt: string;
  merkleRoot: string;
  fileCount: number;
  totalBytes: number;
  description?: string;
  license?: string;
  sources?: ProvenanceSource[];
  /** The snapshots it came from: its parent and what it was derived from (`ref` when known, `inStore` false when absent). */
  from: { relation: Relation; snapshot: string; ref?: string; inStore: boolean }[];
}

/** A store snapshot left out because its statement could not be read or names another snapshot. */
export interface Skipped {
  ref: string;
  code: string;
}

/**
 * The store's snapshots as a graph, by id. Its nodes hold the edges but not the provenance texts
 * (description, licence, sources: up to half a MiB a snapshot), which {@link lineage} reads again
 * for the snapshots it reports: a store of many snapshots, planted or not, costs memory for its
 * edges only.
 */
export interface SnapshotGraph {
  nodes: Map<string, LineageNode>;
  /** Where each node was read. */
  locations: Map<string, SnapshotLocation>;
  skipped: Skipped[];
}

/** The provenance texts of a statement, as a node reports them. */
function provenanceTexts(s: Statement): Pick<LineageNode, 'description' | 'license' | 'sources'> {
  const pv = s.predicate.provenance;
  return {
    ...(pv?.description !== undefined ? { description: pv.description } : {}),
    ...(pv?.license !== undefined ? { license: pv.license } : {}),
    ...(pv?.sources ? { sources: pv.sources } : {}),
  };
}

/** A node of a statement: its edges, and its provenance texts when `texts` is true. */
function nodeOf(id: string, s: Statement, texts: boolean): LineageNode {
  const p = s.predicate;
  const pv = p.provenance;
  const from: LineageNode['from'] = [];
  if (p.parent) from.push({ relation: 'parent', snapshot: p.parent, inStore: false });
  for (const d of pv?.derivedFrom ?? []) from.push({ relation: 'derived-from', snapshot: d.snapshot, ref: d.ref, inStore: false });
  return {
    ref: statementRef(s), snapshot: id, createdAt: p.createdAt, merkleRoot: p.merkleRoot, fileCount: p.fileCount, totalBytes: p.totalBytes,
    ...(texts ? provenanceTexts(s) : {}),
    from,
  };
}

/**
 * Read every snapshot of a store into a graph (oldest first).
 * @throws SnapError `IO_ERROR`
 */
export async function readSnapshotGraph(store: Store): Promise<SnapshotGraph> {
  const nodes = new Map<string, LineageNode>();
  const locations = new Map<string, SnapshotLocation>();
  const skipped: Skipped[] = [];
  // The listing (oldest first) leaves out a folder whose statement.json cannot be read: those
  // folders are read after it, so that each is reported rather than unseen (a model trained on it,
  // or on what was derived from it, would otherwise be missing from impact without a word).
  const listed = await listSnapshots(store);
  const seen = new Set(listed.map((i) => i.dir));
  const unlisted = (await listSnapshotFolders(store)).filter((f) => !seen.has(f.dir));
  for (const info of [...listed, ...unlisted]) {
    const ref = `${info.name}@${info.version}`;
    try {
      const loc = { dir: info.dir, name: info.name, version: info.version, ref };
      const r = await readSnapshotUnverified(loc);
      if (r.statement) {
        nodes.set(r.snapshot, nodeOf(r.snapshot, r.statement, false));
        locations.set(r.snapshot, loc);
      }
    } catch (e) {
      if (!isSnapError(e) || (e.code === 'IO_ERROR' && seen.has(info.dir))) throw e;
      skipped.push({ ref, code: e.code });
    }
  }
  for (const n of nodes.values()) {
    for (const f of n.from) {
      const target = nodes.get(f.snapshot);
      f.inStore = target !== undefined;
      if (target && f.ref === undefined) f.ref = target.ref;
    }
  }
  return { nodes, locations, skipped };
}

/** The node of a located snapshot (read and name-checked as `show` does), with its provenance texts. */
async function startNode(loc: SnapshotLocation, graph: SnapshotGraph): Promise<LineageNode> {
  const r = await readSnapshotUnverified(loc);
  const known = graph.nodes.get(r.snapshot);
  if (known) return { ...known, ...provenanceTexts(r.statement as Statement) };
  const n = nodeOf(r.snapshot, r.statement as Statement, true);
  for (const f of n.from) {
    const t = graph.nodes.get(f.snapshot);
    f.inStore = t !== undefined;
    if (t && f.ref === undefined) f.ref = t.ref;
  }
  return n;
}

/**
 * A graph node with its provenance texts, read again from where it was found; without them when
 * that folder no longer holds the same snapshot (changed since the graph was read).
 */
async function withTexts(node: LineageNode, graph: SnapshotGraph): Promise<LineageNode> {
  const loc = graph.locations.get(node.snapshot);
  if (!loc) return node;
  try {
    const r = await readSnapshotUnverified(loc);
    return r.snapshot === node.snapshot && r.statement ? { ...node, ...provenanceTexts(r.statement) } : node;
  } catch (e) {
    if (isSnapError(e) && e.code !== 'IO_ERROR') return node;
    throw e;
  }
}

/** What {@link lineage} found. */
export interface LineageResult {
  /**
   * The snapshot asked about, then its ancestors (breadth first, each once), each with its sources.
   * With a trust check, each says whether it verified (`verified`), and why not (`failure`): the
   * edges of one that did not are shown but not followed.
   */
  chain: (LineageNode & { depth: number; verified?: boolean; failure?: { code: string; message: string } })[];
  /**
   * Ancestors named by a statement but not in the store. With a trust check each has a `failure`
   * (`REF_NOT_FOUND`): it cannot be checked, so the chain is not verified past it (fail closed).
   */
  missing: { snapshot: string; ref?: string; failure?: { code: string; message: string } }[];
  skipped: Skipped[];
}

/**
 * The {@link ImpactTrust} of `--pubkey` keys: a snapshot's signatures, its statement.json being the
 * signed payload and its signed name (checkTrust with no revocation rules); expiry, which checkTrust
 * judges last, is no failure here. An attestation as checkStoredAttestation checks it.
 */
export function signatureTrust(keys: readonly TrustedKey[]): ImpactTrust {
  return {
    snapshot: async (at) => {
      const t = await checkTrust(at, keys);
      return t.ok || t.failure?.code === 'SNAPSHOT_EXPIRED' ? { ok: true, snapshot: t.snapshot } : t;
    },
    attestation: (at) => checkStoredAttestation(at, keys),
  };
}

/**
 * A verdict on the folder a graph node `id` was read from, held to that id: the folder may have been
 * swapped between the read of the graph and the check (whoever writes the store can race them), and
 * a verdict on other files must not vouch for the edges read before (`INTEGRITY_FAILURE`).
 */
async function verdictOn(trust: Pick<ImpactTrust, 'snapshot'>, at: SnapshotLocation, id: string): Promise<{ ok: boolean; failure?: { code: string; message: string } }> {
  const v = await trust.snapshot(at);
  if (!v.ok || v.snapshot === undefined || v.snapshot === id) return v;
  return { ok: false, failure: { code: 'INTEGRITY_FAILURE', message: `${at.ref} changed while it was read: it now holds snapshot ${v.snapshot}, not the ${id} whose origins were read` } };
}

/** The finding of an ancestor that a checked chain names but the store does not hold. */
function missingAncestor(f: { snapshot: string; ref?: string }): { code: string; message: string } {
  return { code: 'REF_NOT_FOUND', message: `${f.ref !== undefined ? `${f.ref} ` : ''}${f.snapshot} is not in the store: its signatures cannot be checked, so the chain is not verified past it` };
}

/**
 * The ancestry of a snapshot: its parents and what it was derived from, recursively.
 * @param trust with it (`snap lineage --pubkey`), every snapshot of the chain is checked, and the
 *   edges of one that does not verify are not followed (an edited statement can invent or cut them);
 *   an ancestor a verified snapshot names that is not in the store gets a `failure` in `missing`
 *   (`REF_NOT_FOUND`): removing a folder needs no key, and what cannot be checked is not verified
 * @throws SnapError codes of readSnapshotUnverified for the start (`SNAPSHOT_NAME_MISMATCH`, …)
 */
export async function lineage(loc: SnapshotLocation, store: Store | undefined, trust?: Pick<ImpactTrust, 'snapshot'>): Promise<LineageResult> {
  const graph: SnapshotGraph = store ? await readSnapshotGraph(store) : { nodes: new Map(), locations: new Map(), skipped: [] };
  const start = await startNode(loc, graph);
  const chain: LineageResult['chain'] = [];
  const missing: LineageResult['missing'] = [];
  const seen = new Set<string>([start.snapshot]);
  const queue: { node: LineageNode; depth: number }[] = [{ node: start, depth: 0 }];
  while (queue.length > 0) {
    const { node, depth } = queue.shift() as { node: LineageNode; depth: number };
    const at = depth === 0 ? loc : graph.locations.get(node.snapshot);
    const verdict = trust && at ? await verdictOn(trust, at, node.snapshot) : undefined;
    const checked = verdict ? { verified: verdict.ok, ...(verdict.ok ? {} : { failure: verdict.failure ?? { code: 'SIGNATURE_INVALID', message: 'not trusted' } }) } : {};
    chain.push({ ...(depth === 0 ? node : await withTexts(node, graph)), depth, ...checked });
    if (verdict && !verdict.ok) continue;
    for (const f of node.from) {
      if (seen.has(f.snapshot)) continue;
      seen.add(f.snapshot);
      const next = graph.nodes.get(f.snapshot);
      if (next) queue.push({ node: next, depth: depth + 1 });
      else missing.push({ snapshot: f.snapshot, ...(f.ref ? { ref: f.ref } : {}), ...(trust ? { failure: missingAncestor(f) } : {}) });
    }
  }
  return { chain, missing, skipped: graph.skipped };
}

/** What {@link impact} found. */
export interface ImpactResult {
  /** The snapshot asked about. */
  snapshot: { ref: string; snapshot: string };
  /** Every snapshot derived from it through `parent` and `derivedFrom`, breadth first, with the edge that reached it. */
  derived: { ref: string; snapshot: string; createdAt: string; depth: number; via: { relation: Relation; from: string } }[];
  /** Every attested model trained on it or on a derived snapshot. */
  models: { ref: string; attestation: string; createdAt: string; artifacts: { name: string; sha256: string }[]; trainedOn: { ref: string; snapshot: string }[]; fromLog?: FromLog }[];
  /**
   * Snapshots not known to derive from it whose lineage passes through a snapshot not in the store
   * (`missing`: the first found; deleted, unreadable or never imported): whether they derive from it
   * cannot be told here.
   */
  possiblyDerived: { ref: string; snapshot: string; createdAt: string; missing: { snapshot: string; ref?: string } }[];
  /**
   * Attested models not known to be trained on it, but trained on a snapshot that is not in the store
   * (`inStore` false) or on one of {@link possiblyDerived} (`inStore` true): retrain or re-check them
   * too, unless their lineage is known otherwise.
   */
  possiblyAffectedModels: { ref: string; attestation: string; createdAt: string; artifacts: { name: string; sha256: string }[]; trainedOn: { ref: string; snapshot: string; inStore: boolean }[]; fromLog?: FromLog }[];
  skipped: Skipped[];
  /** Stored attestations left out because they cannot be read or are signed as another name: a model trained on the snapshot may hide among them. */
  skippedAttestations: SkippedAttestation[];
  /**
   * With {@link ImpactTrust} only: the store's snapshots whose signatures do not verify under the
   * trusted keys (planted, or with an edited statement). Their edges are not followed: whether they
   * derive from the snapshot cannot be told, and what derives from them is in {@link possiblyDerived}.
   */
  unverified?: UnverifiedItem[];
  /**
   * With {@link ImpactTrust} only: the stored attestations that do not verify. What they claim to be
   * trained on cannot be believed: a model trained on the snapshot may hide among them.
   */
  unverifiedModels?: UnverifiedItem[];
  /**
   * The attestations the audit log records (a successful `attest` each) that the store does not
   * hold as recorded — removed, replaced by another id, unreadable, or (with {@link ImpactTrust})
   * not verifying — in log order, the first {@link MAX_MISSING_ATTESTATIONS_LISTED} (the rest are
   * counted in {@link AuditLogCheck.unlisted}). The model each names is not vouched for; when the
   * log records that it was trained on an affected snapshot it is in {@link models} too (with
   * `fromLog`), on a possibly derived one or one not in the store in {@link possiblyAffectedModels}.
   */
  missingAttestations: MissingAttestation[];
  /**
   * Names the store holds as another snapshot than a signed record names by that name: a
   * statement's `derivedFrom` or an attestation's training data names `ref` as `snapshot`, and the
   * store's folder `ref` holds `found`. Snapshots are write-once by name, so the folder was
   * replaced (by a copy from another store signed by the same keys, say: no key needed); what was
   * derived from or trained on `snapshot` is then possibly affected, and the answer about `ref`
   * is about another snapshot than the one those records mean. Each `ref` and `snapshot` once, in
   * the order found (snapshots' edges first, then attestations); `namedBy` says which records.
   */
  replacedSnapshots: ReplacedSnapshot[];
  /** What was read of the audit log for {@link missingAttestations}. */
  auditLog: AuditLogCheck;
}

/** A name the store holds as another snapshot than signed records name (see {@link ImpactResult.replacedSnapshots}). */
export interface ReplacedSnapshot {
  /** NAME@VERSION, as the records name it. */
  ref: string;
  /** The snapshot id the records name. */
  snapshot: string;
  /** The snapshot id the store's folder of that name holds. */
  found: string;
  /** The records naming it: a snapshot's `derivedFrom` (`snapshot`, its NAME@VERSION) or an attestation's training data (`attestation`, MODEL@VERSION). */
  namedBy: { kind: 'snapshot' | 'attestation'; ref: string }[];
}

/** Where a model {@link impact} lists was read from when its attestation is missing: the audit log line `seq`. */
export interface FromLog {
  seq: number;
  state: MissingState;
}

/** What {@link impact} read of the audit log. */
export interface AuditLogCheck {
  /** False when there is no log, or it could not be read (`error`). */
  read: boolean;
  /** Successful `attest` lines read. */
  attestations: number;
  /** Missing attestations beyond those listed in {@link ImpactResult.missingAttestations}. */
  unlisted: number;
  /** Complete lines that are no log line (malformed, or over 1 MiB: never parsed), torn appends sealed off aside: an attestation one records is not checked. */
  unreadableLines: number;
  /**
   * `attest` lines whose record cannot be used, the first {@link MAX_REFUSED_LISTED}
   * (`refusedUnlisted` counts the rest): `attestationChecked` true when only its details were
   * refused (the attestation it names was still looked for), false when it names none.
   */
  refused: { seq: number; line: number; reason: string; attestationChecked: boolean }[];
  refusedUnlisted: number;
  /** Of {@link refusedUnlisted}, those that name no attestation (`attestationChecked` false): they, not the others, leave the answer unchecked. */
  refusedUnlistedUnchecked: number;
  /** Why the log could not be read (it exists, but is unreadable or not a regular file). */
  error?: string;
}

/** Most refused `attest` lines {@link impact} lists; the rest are counted. */
export const MAX_REFUSED_LISTED = 100;

/** A snapshot or an attestation whose signatures do not verify (`code`, `message`: why). */
export interface UnverifiedItem {
  /** NAME@VERSION (MODEL@VERSION) of its folder. */
  ref: string;
  /** The snapshot id or attestation id of what the folder holds, when it could be read. */
  id?: string;
  code: string;
  message: string;
}

/**
 * How {@link impact} checks signatures, when asked to (`snap impact --pubkey`). Only the signatures
 * (and that the files are the signed payload, signed as their folder's name) decide: a revoked or
 * expired snapshot is still what its signers said it came from.
 */
export interface ImpactTrust {
  /**
   * The verdict on a snapshot of the store (checkTrust with the trusted keys and no rules), and the
   * id of the snapshot it verified (`snapshot`), which must be the one whose edges were read.
   */
  snapshot(loc: SnapshotLocation): Promise<{ ok: boolean; snapshot?: string; failure?: { code: string; message: string } }>;
  /**
   * The verdict on a stored attestation (checkStoredAttestation with the trusted keys). It may throw
   * `NOT_FOUND` / `IO_ERROR` for files it cannot read: {@link impact} reports that as a failed check.
   */
  attestation(a: StoredAttestation): Promise<AttestationCheck>;
}

/** A stored attestation that {@link impact} could not read (`reason` says why). */
export interface SkippedAttestation {
  /** MODEL@VERSION of its folder. */
  ref: string;
  code: string;
  reason: string;
}

/**
 * The incident question: which snapshots were derived from this one (directly or not), and which
 * attested models learned from any of them; and, apart, what the store cannot rule out (snapshots
 * and models whose lineage passes through a snapshot that is not in the store).
 *
 * With `trust`, every snapshot and attestation of the store is checked first: one that does not
 * verify is left out of the graph as a snapshot not in the store would be (what derives from it is
 * possibly derived) and reported in `unverified` / `unverifiedModels`, so an edited statement or
 * attestation can neither hide a model nor invent one unseen.
 *
 * Every attestation the store's audit log records must be in the store as recorded
 * ({@link checkAttestLog}): one removed, replaced, unreadable or not verifying is listed in
 * `missingAttestations`, and its model in `models` / `possiblyAffectedModels` (with `fromLog`) by
 * what the log records it was trained on; `auditLog` says what of the log was read.
 * @param opts.logLeaves the same pass over the log hashes the leaves a check of its checkpoints
 *   needs (the CLI's, trust/log-checkpoints `prepareCheckpointCheck`): the log is read once
 * @throws SnapError codes of readSnapshotUnverified for the start | `IO_ERROR`
 */
export async function impact(loc: SnapshotLocation, store: Store, trust?: ImpactTrust, opts: { logLeaves?: LeafSink } = {}): Promise<ImpactResult> {
  const graph = await readSnapshotGraph(store);
  // What each name of the store holds (read before the trust check: an unverified folder still holds another snapshot).
  const heldByRef = new Map<string, string>();
  for (const [id, at] of graph.locations) heldByRef.set(at.ref, id);
  const replaced = new Map<string, ReplacedSnapshot>();
  const namedAs = (ref: string, snapshot: string, by: ReplacedSnapshot['namedBy'][number]): void => {
    const found = heldByRef.get(ref);
    if (found === undefined || found === snapshot) return;
    const key = `${ref} ${snapshot}`;
    const entry = replaced.get(key) ?? { ref, snapshot, found, namedBy: [] };
    if (!entry.namedBy.some((b) => b.kind === by.kind && b.ref === by.ref)) entry.namedBy.push(by);
    replaced.set(key, entry);
  };
  const unverified: UnverifiedItem[] = [];
  if (trust) {
    for (const [id, at] of graph.locations) {
      const v = await verdictOn(trust, at, id);
      if (v.ok) continue;
      const failure = v.failure ?? { code: 'SIGNATURE_INVALID', message: 'not trusted' };
      unverified.push({ ref: at.ref, id, code: failure.code, message: failure.message });
      graph.nodes.delete(id);
    }
    for (const n of graph.nodes.values()) for (const f of n.from) f.inStore = graph.nodes.has(f.snapshot);
  }
  const start = await startNode(loc, graph);
  const children = new Map<string, { node: LineageNode; relation: Relation }[]>();
  for (const n of graph.nodes.values()) {
    for (const f of n.from) {
      if (f.ref !== undefined) namedAs(f.ref, f.snapshot, { kind: 'snapshot', ref: n.ref });
      const list = children.get(f.snapshot) ?? [];
      list.push({ node: n, relation: f.relation });
      children.set(f.snapshot, list);
    }
  }
  const affected = new Map<string, string>([[start.snapshot, start.ref]]);
  const derived: ImpactResult['derived'] = [];
  const queue: { id: string; ref: string; depth: number }[] = [{ id: start.snapshot, ref: start.ref, depth: 0 }];
  while (queue.length > 0) {
    const { id, ref, depth } = queue.shift() as (typeof queue)[number];
    for (const c of children.get(id) ?? []) {
      if (affected.has(c.node.snapshot)) continue;
      affected.set(c.node.snapshot, c.node.ref);
      derived.push({ ref: c.node.ref, snapshot: c.node.snapshot, createdAt: c.node.createdAt, depth: depth + 1, via: { relation: c.relation, from: ref } });
      queue.push({ id: c.node.snapshot, ref: c.node.ref, depth: depth + 1 });
    }
  }
  // What the store cannot rule out: a snapshot named by an edge but not in the store (deleted,
  // unreadable, never imported) may itself derive from the start, and so may everything derived
  // from it. Over-reporting is harmless; leaving out a model without a word is not.
  const inStore = (id: string) => graph.nodes.has(id) || affected.has(id);
  const possiblyDerived: ImpactResult['possiblyDerived'] = [];
  const possibly = new Set<string>();
  const unknownQueue: { id: string; missing: { snapshot: string; ref?: string } }[] = [];
  // Each missing snapshot is queued once, however many edges name it: queued once per edge, its
  // children were walked again for every one (64 × N² steps for N planted snapshots that each name
  // the same 64 missing ones: minutes for a few thousand).
  const queuedMissing = new Set<string>();
  for (const n of graph.nodes.values()) {
    for (const f of n.from) {
      if (inStore(f.snapshot) || queuedMissing.has(f.snapshot)) continue;
      queuedMissing.add(f.snapshot);
      unknownQueue.push({ id: f.snapshot, missing: { snapshot: f.snapshot, ...(f.ref !== undefined ? { ref: f.ref } : {}) } });
    }
  }
  while (unknownQueue.length > 0) {
    const { id, missing } = unknownQueue.shift() as (typeof unknownQueue)[number];
    for (const c of children.get(id) ?? []) {
      if (affected.has(c.node.snapshot) || possibly.has(c.node.snapshot)) continue;
      possibly.add(c.node.snapshot);
      possiblyDerived.push({ ref: c.node.ref, snapshot: c.node.snapshot, createdAt: c.node.createdAt, missing });
      unknownQueue.push({ id: c.node.snapshot, missing });
    }
  }
  const models: ImpactResult['models'] = [];
  const possiblyAffectedModels: ImpactResult['possiblyAffectedModels'] = [];
  const skippedAttestations: SkippedAttestation[] = [];
  const unverifiedModels: UnverifiedItem[] = [];
  /** What the store holds of each MODEL@VERSION (for the audit log's records): its id when read, and whether it counted above. */
  const held = new Map<string, { id?: string; state: 'ok' | 'unreadable' | 'unverified' }>();
  for (const a of await listAttestations(store)) {
    let r: Awaited<ReturnType<typeof readAttestationUnverified>>;
    if (trust) {
      // A folder whose files cannot be read (missing, not a regular file) is a failed check like a
      // bad signature, as it is a skipped attestation without keys: the answer goes on, exit 1.
      const c = await trust.attestation(a).catch((e: unknown): AttestationCheck => {
        if (isSnapError(e) && (e.code === 'NOT_FOUND' || e.code === 'IO_ERROR')) return { ok: false, id: '', signers: [], failure: { code: e.code, message: e.message } };
        throw e;
      });
      if (!c.ok || !c.statement) {
        const failure = c.failure ?? { code: 'SIGNATURE_INVALID', message: 'not trusted' };
        unverifiedModels.push({ ref: `${a.model}@${a.version}`, ...(c.id ? { id: c.id } : {}), code: failure.code, message: failure.message });
        held.set(`${a.model}@${a.version}`, { ...(c.id ? { id: c.id } : {}), state: 'unverified' });
        continue;
      }
      r = { id: c.id, statement: c.statement, keyids: [] };
    } else r = await readAttestationUnverified(a);
    if ('unreadable' in r) {
      skippedAttestations.push({ ref: `${a.model}@${a.version}`, code: r.unreadable.code, reason: r.unreadable.message });
      held.set(`${a.model}@${a.version}`, { state: 'unreadable' });
      continue;
    }
    held.set(`${a.model}@${a.version}`, { id: r.id, state: 'ok' });
    const model = { ref: `${a.model}@${a.version}`, attestation: r.id, createdAt: r.statement.predicate.createdAt, artifacts: r.statement.subject.map((s) => ({ name: s.name, sha256: s.digest.sha256 })) };
    const datasets = r.statement.predicate.datasets;
    for (const d of datasets) namedAs(d.ref, d.snapshot, { kind: 'attestation', ref: model.ref });
    const trainedOn = datasets.filter((d) => affected.has(d.snapshot)).map((d) => ({ ref: d.ref, snapshot: d.snapshot }));
    if (trainedOn.length > 0) {
      models.push({ ...model, trainedOn });
      continue;
    }
    const unknown = datasets.filter((d) => possibly.has(d.snapshot) || !inStore(d.snapshot)).map((d) => ({ ref: d.ref, snapshot: d.snapshot, inStore: inStore(d.snapshot) }));
    if (unknown.length > 0) possiblyAffectedModels.push({ ...model, trainedOn: unknown });
  }
  const { missingAttestations, auditLog } = await checkAttestLog(store, opts.logLeaves, held, (rec, datasets, fromLog, affectedOnly = false) => {
    const model = { ref: rec.ref, attestation: rec.id, createdAt: rec.time, artifacts: rec.models };
    const trainedOn = datasets.filter((d) => affected.has(d.snapshot));
    if (trainedOn.length > 0) {
      models.push({ ...model, trainedOn, fromLog });
      return true;
    }
    if (affectedOnly) return false;
    const unknown = datasets.filter((d) => possibly.has(d.snapshot) || !inStore(d.snapshot)).map((d) => ({ ...d, inStore: inStore(d.snapshot) }));
    if (unknown.length > 0) possiblyAffectedModels.push({ ...model, trainedOn: unknown, fromLog });
    return false;
  });
  return { snapshot: { ref: start.ref, snapshot: start.snapshot }, derived, models, possiblyDerived, possiblyAffectedModels, skipped: graph.skipped, skippedAttestations, ...(trust ? { unverified, unverifiedModels } : {}), missingAttestations, replacedSnapshots: [...replaced.values()], auditLog };
}

/** Models trained on a snapshot reached whose attestations are missing past the listed ones, still placed in `models` (memory stays bounded whatever the log holds). */
export const MAX_PLACED_PAST_LIST = 10_000;

/**
 * Hold the store to the attestations its audit log records ({@link attestRecords}): each must be
 * held under its MODEL@VERSION with its id, readable (and, with keys, verified). Whoever can
 * write the store can delete an attestation folder without a key, and its model then left
 * impact's answer unseen. Each that is not is listed (the first
 * {@link MAX_MISSING_ATTESTATIONS_LISTED}, once per MODEL@VERSION and id), and given to `place`
 * with what the log records it was trained on, when it does; past that list, one trained on a
 * snapshot reached is still placed (`affectedOnly`: in `models` only, at most
 * {@link MAX_PLACED_PAST_LIST} of them), so that removed attestations of other models cannot push it out. A log line is a claim (unsigned after
 * the newest checkpoint): it can only add to the answer — a planted one is a false alarm.
 * @throws nothing but what `place` throws: a log that cannot be read is `auditLog.error`
 */
async function checkAttestLog(
  store: Store,
  leaves: LeafSink | undefined,
  held: ReadonlyMap<string, { id?: string; state: 'ok' | 'unreadable' | 'unverified' }>,
  place: (rec: { ref: string; id: string; time: string; models: { name: string; sha256: string }[] }, datasets: { ref: string; snapshot: string }[], fromLog: FromLog, affectedOnly?: boolean) => boolean,
): Promise<{ missingAttestations: MissingAttestation[]; auditLog: AuditLogCheck }> {
  const missingAttestations: MissingAttestation[] = [];
  const auditLog: AuditLogCheck = { read: existsSync(join(store.root, LOG_FILE)), attestations: 0, unlisted: 0, unreadableLines: 0, refused: [], refusedUnlisted: 0, refusedUnlistedUnchecked: 0 };
  const listed = new Set<string>();
  const placedPast = new Set<string>();
  const refuse = (x: AuditLogCheck['refused'][number]): void => {
    if (auditLog.refused.length < MAX_REFUSED_LISTED) auditLog.refused.push(x);
    else {
      auditLog.refusedUnlisted++;
      if (!x.attestationChecked) auditLog.refusedUnlistedUnchecked++;
    }
  };
  try {
    for await (const item of attestRecords(store.root, leaves ? { leaves } : {})) {
      if ('unreadable' in item) {
        auditLog.unreadableLines += item.lines;
        continue;
      }
      if ('refused' in item) {
        refuse({ ...item.refused, attestationChecked: false });
        continue;
      }
      const rec = item.record;
      auditLog.attestations++;
      if (rec.refusedDetails !== undefined) refuse({ seq: rec.seq, line: rec.line, reason: rec.refusedDetails, attestationChecked: true });
      const at = held.get(rec.ref);
      if (at?.state === 'ok' && at.id === rec.id) continue;
      const key = `${rec.ref} ${rec.id}`;
      if (listed.has(key) || placedPast.has(key)) continue;
      const state: MissingState = !at ? 'gone' : at.state === 'ok' ? 'replaced' : at.state;
      if (listed.size >= MAX_MISSING_ATTESTATIONS_LISTED) {
        auditLog.unlisted++;
        // Past the list's cap a model trained on a snapshot reached is still placed in `models` (the
        // incident's answer), at most MAX_PLACED_PAST_LIST of them: 100 removed attestations of other
        // models earlier in the log pushed it out (found by review, thirty-eighth session).
        if (rec.details && placedPast.size < MAX_PLACED_PAST_LIST && place({ ref: rec.ref, id: rec.id, time: rec.time, models: rec.details.models }, rec.details.datasets, { seq: rec.seq, state }, true)) placedPast.add(key);
        continue;
      }
      listed.add(key);
      const found = at?.id !== undefined && at.id !== rec.id ? at.id : undefined;
      missingAttestations.push({ ref: rec.ref, id: rec.id, seq: rec.seq, time: rec.time, state, ...(found !== undefined ? { found } : {}), ...(rec.details ? { datasets: rec.details.datasets, models: rec.details.models } : {}) });
      if (rec.details) place({ ref: rec.ref, id: rec.id, time: rec.time, models: rec.details.models }, rec.details.datasets, { seq: rec.seq, state });
    }
  } catch (e) {
    if (!isSnapError(e) || (e.code !== 'IO_ERROR' && e.code !== 'NOT_FOUND')) throw e;
    auditLog.read = false;
    auditLog.error = e.message;
  }
  return { missingAttestations, auditLog };
}
