/**
 * ML-BOM: a CycloneDX 1.6 JSON bill of materials for a snapshot (the dataset as a `data`
 * component) or for a model attestation (the model as a `machine-learning-model` component with
 * its training datasets), built with @cyclonedx/cyclonedx-library. The library has no classes for
 * a component's `data` (CycloneDX 1.6 §componentData) or `modelCard`; those members are added to
 * its serialized JSON (NOTES.md). Property names use the `snap:` namespace.
 */
import { randomUUID } from 'node:crypto';
import * as Models from '@cyclonedx/cyclonedx-library/Models';
import * as Enums from '@cyclonedx/cyclonedx-library/Enums';
import * as Serialize from '@cyclonedx/cyclonedx-library/Serialize';
import { Spec1dot6 } from '@cyclonedx/cyclonedx-library/Spec';
import { isSupportedSpdxId } from '@cyclonedx/cyclonedx-library/SPDX';
import type { Statement } from '../core/statement.js';
import { recordSetName, type RecordSetMember } from '../core/records.js';
import type { AttestationStatement } from '../core/attestation.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';

/** A snapshot as the BOM describes it: its statement and id, its signers, and whether they were verified. */
export interface BomSnapshot {
  snapshot: string;
  statement: Statement;
  signers: { keyid: string; trusted?: boolean }[];
  /** True when the signatures were verified against trusted keys (`bom --pubkey`). */
  verified: boolean;
}

/** A training dataset named by an attestation, described by its snapshot when the store has it. */
export type BomTrainingData = BomSnapshot | { ref: string; snapshot: string; merkleRoot: string };

/** A model attestation as the BOM describes it. */
export interface BomModel {
  id: string;
  statement: AttestationStatement;
  signers: { keyid: string; trusted?: boolean }[];
  verified: boolean;
  datasets: BomTrainingData[];
}

const SHA256 = Enums.HashAlgorithm['SHA-256'];

function prop(c: Models.Component, name: string, value: string | number | boolean): void {
  c.properties.add(new Models.Property(`snap:${name}`, String(value)));
}

/** A license-ref of SPDX 2.3 Annex D: `[DocumentRef-IDSTRING:]LicenseRef-IDSTRING`. */
const LICENSE_REF = /^(?:DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+$/;
/** An idstring of SPDX 2.3 Annex D (a license exception id is one). */
const IDSTRING = /^[A-Za-z0-9.-]+$/;

/**
 * True when `text` is an SPDX license expression (SPDX 2.3 Annex D): simple expressions — an id
 * the SPDX list holds, optionally with `+`, or a license-ref — joined by `AND`, `OR` and `WITH`
 * (then an exception id), with parentheses. `MIT AND (` or `Vendor AND Terms` are not.
 */
function isSpdxExpression(text: string): boolean {
  const tokens = text.replace(/[()]/g, ' $& ').trim().split(/\s+/);
  let at = 0;
  const simple = (): boolean => {
    const t = tokens[at];
    if (t === undefined || !(LICENSE_REF.test(t) || isSupportedSpdxId(t.endsWith('+') ? t.slice(0, -1) : t))) return false;
    at++;
    if (tokens[at] !== 'WITH') return true;
    at++;
    return IDSTRING.test(tokens[at++] ?? '');
  };
  const term = (): boolean => {
    if (tokens[at] !== '(') return simple();
    at++;
    if (!expression()) return false;
    return tokens[at++] === ')';
  };
  const expression = (): boolean => {
    if (!term()) return false;
    while (tokens[at] === 'AND' || tokens[at] === 'OR') {
      at++;
      if (!term()) return false;
    }
    return true;
  };
  return expression() && at === tokens.length;
}

/**
 * The CycloneDX licence of the signed `provenance.license`: an SPDX id the library knows as
 * `license.id`, an SPDX expression ({@link isSpdxExpression}) as `expression`, anything else as
 * `license.name` (CycloneDX 1.6 takes `expression` to be a valid SPDX expression).
 */
function licenseOf(text: string): Models.License {
  if (isSupportedSpdxId(text)) return new Models.SpdxLicense(text);
  if (isSpdxExpression(text)) return new Models.LicenseExpression(text);
  return new Models.NamedLicense(text);
}

/** The bom-ref of a snapshot's component. */
export function datasetBomRef(snapshot: string): string {
  return `snapshot:${snapshot}`;
}

function datasetComponent(s: BomTrainingData): Models.Component {
  if (!('statement' in s)) {
    const [name, version] = s.ref.split('@') as [string, string];
    const c = new Models.Component(Enums.ComponentType.Data, name, { version, bomRef: datasetBomRef(s.snapshot) });
    prop(c, 'snapshotId', s.snapshot);
    prop(c, 'merkleRoot', s.merkleRoot);
    prop(c, 'inStore', false);
    return c;
  }
  const p = s.statement.predicate;
  const pv = p.provenance;
  const c = new Models.Component(Enums.ComponentType.Data, p.dataset, { version: p.version, bomRef: datasetBomRef(s.snapshot) });
  if (pv?.description !== undefined) c.description = pv.description;
  // The one SHA-256 a reader can recompute from a file: manifest.jsonl. The Merkle root (RFC 9162,
  // SHA-256 based, the in-toto subject digest) is a property.
  c.hashes.set(SHA256, p.manifestSha256);
  if (pv?.license !== undefined) c.licenses.add(licenseOf(pv.license));
  for (const src of pv?.sources ?? []) {
    c.externalReferences.add(
      new Models.ExternalReference(src.uri, Enums.ExternalReferenceType.Distribution, {
        comment: 'source of the data (snap provenance)',
        ...(src.sha256 ? { hashes: new Models.HashDictionary([[SHA256, src.sha256]]) } : {}),
      }),
    );
  }
  prop(c, 'snapshotId', s.snapshot);
  prop(c, 'merkleRoot', p.merkleRoot);
  prop(c, 'manifestSha256', p.manifestSha256);
  prop(c, 'fileCount', p.fileCount);
  prop(c, 'totalBytes', p.totalBytes);
  prop(c, 'createdAt', p.createdAt);
  if (p.parent) prop(c, 'parent', p.parent);
  for (const d of pv?.derivedFrom ?? []) prop(c, 'derivedFrom', `${d.ref} ${d.snapshot}`);
  for (const x of p.excludes ?? []) prop(c, 'exclude', x);
  const g = pv?.pipeline?.git;
  if (g) {
    prop(c, 'pipeline:gitCommit', g.commit);
    if (g.ref) prop(c, 'pipeline:gitRef', g.ref);
    if (g.repository) prop(c, 'pipeline:gitRepository', g.repository);
  }
  if (pv?.pipeline?.command) prop(c, 'pipeline:command', JSON.stringify(pv.pipeline.command));
  addRecordProperties(c, p.records);
  for (const k of s.signers) prop(c, 'signer', k.keyid);
  prop(c, 'signaturesVerified', s.verified);
  return c;
}

/**
 * Record counts of the signed record indexes (docs/FORMAT.md §19.6), as properties:
 * `snap:recordCount` (all sets), and per set `snap:records:NAME:count`, `…:format` and
 * `…:label:LABEL` (records per label). NAME is the set's path or pattern. All from the signed
 * predicate, whose validation bounds the number of sets and labels.
 */
function addRecordProperties(c: Models.Component, sets: RecordSetMember[] | undefined): void {
  if (sets === undefined || sets.length === 0) return;
  prop(c, 'recordCount', sets.reduce((n, m) => n + m.count, 0));
  for (const m of sets) {
    const name = recordSetName(m);
    prop(c, `records:${name}:format`, m.format);
    prop(c, `records:${name}:count`, m.count);
    for (const [label, n] of Object.entries(m.labels ?? {})) prop(c, `records:${name}:label:${label}`, n);
  }
}

/** The CycloneDX 1.6 `data` member of a dataset component (componentData). */
function componentData(s: BomTrainingData): Record<string, unknown>[] {
  const name = 'statement' in s ? `${s.statement.predicate.dataset}@${s.statement.predicate.version}` : s.ref;
  const description = 'statement' in s ? s.statement.predicate.provenance?.description : undefined;
  return [{ type: 'dataset', name, ...(description !== undefined ? { description } : {}) }];
}

function newBom(now: Date): Models.Bom {
  const bom = new Models.Bom();
  bom.serialNumber = `urn:uuid:${randomUUID()}`;
  bom.metadata.timestamp = now;
  bom.metadata.tools.components.add(new Models.Component(Enums.ComponentType.Application, TOOL_NAME, { version: TOOL_VERSION }));
  return bom;
}

function serialize(bom: Models.Bom): Record<string, unknown> {
  const ser = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec1dot6));
  return JSON.parse(ser.serialize(bom, { sortLists: false })) as Record<string, unknown>;
}

/**
 * What a signed source URI can hold (core/provenance.ts refuses whitespace and controls) that no URI
 * nor IRI may (RFC 3986 §2 — neither reserved nor unreserved: `"` `<` `>` `{` `}` `|` `\` `^` `` ` `` —
 * and RFC 3987 §4.1, the bidirectional formatting characters U+200E, U+200F, U+202A–U+202E and
 * U+2066–U+2069), and a `%` that begins no percent-encoding (two hex digits).
 */
const NOT_IN_URI = /["<>{}|\\^`\u200e\u200f\u202a-\u202e\u2066-\u2069]|%(?![0-9A-Fa-f]{2})/gu;

/**
 * A signed source URI as the BOM's `externalReferences[].url` (CycloneDX: an IRI reference): as
 * signed, but for the characters of {@link NOT_IN_URI}, percent-encoded as their UTF-8 bytes (a
 * stray `%` as `%25`). The library's serializer also encodes `[`, `]` and `'`, which are reserved
 * characters (RFC 3986 §2.2: encoding one makes another URI; `[…]` encloses an IPv6 host), so that
 * `http://[2001:db8::1]/x` came out as `http://%5B2001:db8::1%5D/x`.
 */
function bomUri(uri: string): string {
  return uri.replace(NOT_IN_URI, (c) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
}

/**
 * Add the `data` members the library cannot model to every dataset component of a serialized BOM,
 * and give its source URIs as signed ({@link bomUri}).
 */
function addComponentData(json: Record<string, unknown>, datasets: BomTrainingData[]): void {
  const byRef = new Map(datasets.map((d) => [datasetBomRef(d.snapshot), d]));
  const visit = (list: unknown): void => {
    for (const c of (Array.isArray(list) ? list : []) as Record<string, unknown>[]) {
      const d = byRef.get(String(c['bom-ref']));
      if (d && c.type === 'data') {
        c.data = componentData(d);
        // One externalReference per signed source, in order (datasetComponent, sortLists false).
        const sources = 'statement' in d ? (d.statement.predicate.provenance?.sources ?? []) : [];
        const refs = c.externalReferences as Record<string, unknown>[] | undefined;
        if (refs?.length === sources.length) sources.forEach((src, i) => ((refs[i] as Record<string, unknown>).url = bomUri(src.uri)));
      }
      visit(c.components);
    }
  };
  visit(json.components);
  const meta = json.metadata as Record<string, unknown> | undefined;
  if (meta?.component) visit([meta.component]);
}

/**
 * A CycloneDX 1.6 ML-BOM (as a JSON object) describing one snapshot: the dataset is the BOM's
 * subject (`metadata.component`, type `data`).
 */
export function snapshotBom(s: BomSnapshot, now = new Date()): Record<string, unknown> {
  const bom = newBom(now);
  bom.metadata.component = datasetComponent(s);
  const json = serialize(bom);
  addComponentData(json, [s]);
  return json;
}

/**
 * A CycloneDX 1.6 ML-BOM describing a model attestation: the model (`machine-learning-model`, its
 * artifacts as `file` components with their SHA-256) is the subject; its training datasets are
 * `data` components it depends on, named in its `modelCard.modelParameters.datasets`.
 */
export function modelBom(m: BomModel, now = new Date()): Record<string, unknown> {
  const bom = newBom(now);
  const p = m.statement.predicate;
  const model = new Models.Component(Enums.ComponentType.MachineLearningModel, p.model, { version: p.version, bomRef: `attestation:${m.id}` });
  for (const a of m.statement.subject) {
    const f = new Models.Component(Enums.ComponentType.File, a.name, { bomRef: `artifact:${a.name}` });
    f.hashes.set(SHA256, a.digest.sha256);
    model.components.add(f);
  }
  prop(model, 'attestationId', m.id);
  prop(model, 'createdAt', p.createdAt);
  if (p.training?.command) prop(model, 'training:command', p.training.command);
  if (p.training?.gitCommit) prop(model, 'training:gitCommit', p.training.gitCommit);
  if (p.training?.hyperparameters) prop(model, 'training:hyperparameters', `${p.training.hyperparameters.name} sha256:${p.training.hyperparameters.sha256}`);
  for (const k of m.signers) prop(model, 'signer', k.keyid);
  prop(model, 'signaturesVerified', m.verified);
  bom.metadata.component = model;
  for (const d of m.datasets) {
    const c = datasetComponent(d);
    bom.components.add(c);
    model.dependencies.add(c.bomRef);
  }
  const json = serialize(bom);
  addComponentData(json, m.datasets);
  const meta = json.metadata as { component: Record<string, unknown> };
  meta.component.modelCard = { modelParameters: { datasets: m.datasets.map((d) => ({ ref: datasetBomRef(d.snapshot) })) } };
  return json;
}
