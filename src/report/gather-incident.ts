/**
 * Gathering the facts of an incident report (the I/O half; `incident-facts.ts` is the pure half):
 * the diff of A and B (src/ops/diff.ts, records included), each snapshot side's trust under the given
 * keys or policy (`checkTrust`, the same check as `verify`), and — for a dataset labelled by folder
 * — the label counts of both sides, counted over their whole manifests as the diff reads them.
 */
import type { TrustedKey } from '../core/envelope.js';
import type { ManifestEntry } from '../core/manifest.js';
import { diff, type DiffInput, type DiffOptions, type DiffReport, type DiffSide } from '../ops/diff.js';
import { countOf, newLabelCounts } from '../records/stats.js';
import { checkTrust } from '../snapshot.js';
import type { Progress } from '../ops/seal.js';
import type { TrustRules } from '../trust/rules.js';
import { folderLabel, incidentFacts, type IncidentFacts, type IncidentOptions } from './incident-facts.js';

/** Most distinct first folders counted as labels; a dataset with more is not treated as labelled by folder. */
export const MAX_FOLDER_LABELS = 100_000;

/** How to check each snapshot side's signatures (as `verify` does). */
export interface ReportTrust {
  trusted: readonly TrustedKey[];
  threshold: number;
  rules: TrustRules;
}

/** Options of {@link gatherIncident}. */
export interface GatherOptions extends Omit<IncidentOptions, 'folderLabels'> {
  jobs?: number;
  /** Stores lying inside the dataset folder (absolute): only their own layout is left out, everything else under them is data (io/store-layout.ts). */
  stores?: readonly string[];
  store?: string;
  /** Check trust; without it each side's signers are listed, not judged. */
  trust?: ReportTrust;
  /** The signed `snap.json` of each snapshot side, for the record diff (`DiffOptions.recordConfigs`). */
  recordConfigs?: DiffOptions['recordConfigs'];
  /** Instead of `recordConfigs`: found from the diff's own read of each manifest (`DiffOptions.recordConfigsOf`). */
  recordConfigsOf?: DiffOptions['recordConfigsOf'];
  onProgress?: (p: Progress) => void;
}

/**
 * Label → entry count by first folder of the path, over the runs of a whole manifest as they are
 * read (`DiffOptions.onEntries`): `counts()` is undefined when the manifest has more than
 * {@link MAX_FOLDER_LABELS} distinct first folders.
 */
export class FolderLabelCounter {
  private readonly labels = newLabelCounts();
  private distinct = 0;
  private many = false;

  /** Count the entries of one run. */
  add(run: readonly ManifestEntry[]): void {
    if (this.many) return;
    for (const e of run) {
      const label = folderLabel(e.path);
      if (label === undefined) continue;
      const n = countOf(this.labels, label);
      if (n === 0 && ++this.distinct > MAX_FOLDER_LABELS) {
        this.many = true;
        return;
      }
      this.labels[label] = n + 1;
    }
  }

  /** The counts so far; undefined past {@link MAX_FOLDER_LABELS} distinct labels. */
  counts(): Record<string, number> | undefined {
    return this.many ? undefined : this.labels;
  }
}

/** A snapshot side with its trust judged under `trust` (signers, verdict and failure replaced). */
async function judged(input: DiffInput, side: DiffSide, trust: ReportTrust): Promise<DiffSide> {
  if (input.kind !== 'snapshot' || 'folder' in side) return side;
  const t = await checkTrust(input.location, trust.trusted, trust.threshold, trust.rules);
  return {
    ...side,
    signers: t.signers.map((s) => ({ keyid: s.keyid, trusted: s.trusted, ...(s.name !== undefined ? { name: s.name } : {}) })),
    trusted: t.ok,
    ...(t.failure ? { failure: { code: t.failure.code, message: t.failure.message } } : {}),
  };
}

/**
 * The diff of A and B with each side's trust, and the report's facts made from it.
 * @returns the diff (as `diff --json` has it, trust included) and the facts
 * @throws SnapError from `diff` and `checkTrust` (`NOT_FOUND`, `IO_ERROR`, `MANIFEST_*`, `RECORDS_*` …)
 */
export async function gatherIncident(a: DiffInput, b: DiffInput, o: GatherOptions = {}): Promise<{ diff: DiffReport; facts: IncidentFacts }> {
  // Counted from the diff's own read of each manifest, used only once the diff judged both.
  const counters = { a: new FolderLabelCounter(), b: new FolderLabelCounter() };
  let leftOut: readonly string[] = [];
  const d = await diff(a, b, {
    ...(o.jobs !== undefined ? { jobs: o.jobs } : {}),
    ...(o.stores ? { stores: o.stores } : {}),
    ...(o.store !== undefined ? { store: o.store } : {}),
    ...(o.recordConfigs ? { recordConfigs: o.recordConfigs } : {}),
    ...(o.recordConfigsOf ? { recordConfigsOf: o.recordConfigsOf } : {}),
    // An incident is read whole: the order of every set is measured, whatever it costs to read (FORMAT §19.8).
    order: true,
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    onEntries: (run, side) => counters[side].add(run),
    onManifests: async (_pa, _pb, _signed, excludes) => {
      // A snapshot's manifest is compared whole; only a folder side's scan leaves these paths out.
      if (a.kind !== 'snapshot' || b.kind !== 'snapshot') leftOut = excludes;
    },
  });
  const la = counters.a.counts();
  const lb = la && counters.b.counts();
  const labels = la && lb ? { a: la, b: lb } : undefined;
  if (o.trust) {
    d.a = await judged(a, d.a, o.trust);
    d.b = await judged(b, d.b, o.trust);
  }
  const facts = incidentFacts(d, { ...o, ...(labels ? { folderLabels: labels } : {}), ...(leftOut.length > 0 ? { leftOut } : {}), datasets: { a: a.kind === 'dataset', b: b.kind === 'dataset' } });
  return { diff: d, facts };
}
