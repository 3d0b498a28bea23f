/**
 * Conflicting labels: records of one side with the same feature hash and different labels (the
 * Deepchecks "ConflictingLabels" check), found in bounded memory although an index is sorted by key,
 * not by features:
 * 1. while the diff streams an index past, {@link ConflictTap} keeps 8 bytes a record: a 40-bit
 *    prefix of the feature hash and a 12-bit label number, packed in one double;
 * 2. sorting those numbers puts equal prefixes side by side: a prefix seen with two labels is a
 *    candidate (a 40-bit prefix can collide, so candidates are only candidates);
 * 3. only when there are candidates, the index is read once more and the records under candidate
 *    prefixes are grouped by their full feature hash.
 * `ConflictTap` does steps 1–2 over decoded entries; the byte-level diff (`index-reader.ts`) does them
 * over the index bytes, and for side B sorts only the tags of the records it did not find unchanged in A.
 */
import { MAX_LABELS, type RecordIdentity } from '../core/records.js';
import type { IndexEntry } from './index-line.js';
import { indexEntryRuns, type IndexExpectation } from './read-index.js';
import { keyOf, type ConflictGroup } from './record-report.js';
import { countOf, newLabelCounts } from './stats.js';
import { sortTags } from './sort-tags.js';

/** Records listed per conflict group (its label counts are always exact). */
export const MAX_LISTED_CONFLICT_RECORDS = 10;
const LABEL_BITS = 4096; // 2^12 ≥ MAX_LABELS

/** Records, as they stream past, what step 2 needs. */
export class ConflictTap {
  private values = new Float64Array(1 << 16);
  private n = 0;
  private readonly ids = new Map<string, number>();

  /** Pass `runs` through, noting each labelled record. */
  async *tap(runs: AsyncIterable<IndexEntry[]>): AsyncGenerator<IndexEntry[]> {
    for await (const run of runs) {
      for (const e of run) {
        if (e.label === undefined) continue;
        let id = this.ids.get(e.label);
        if (id === undefined) {
          id = this.ids.size;
          if (id >= LABEL_BITS || id >= MAX_LABELS) continue; // cannot happen for a valid index
          this.ids.set(e.label, id);
        }
        if (this.n === this.values.length) {
          const bigger = new Float64Array(this.values.length * 2);
          bigger.set(this.values);
          this.values = bigger;
        }
        this.values[this.n++] = parseInt(e.features.slice(0, 10), 16) * LABEL_BITS + id;
      }
      yield run;
    }
  }

  /** Feature-hash prefixes (10 hex digits) seen with more than one label. */
  candidates(): Set<string> {
    const v = this.values.subarray(0, this.n);
    sortTags(v);
    const out = new Set<string>();
    for (let i = 1; i < v.length; i++) {
      const p = Math.floor((v[i] as number) / LABEL_BITS);
      if (p === Math.floor((v[i - 1] as number) / LABEL_BITS) && v[i] !== v[i - 1]) out.add(p.toString(16).padStart(10, '0'));
    }
    this.values = new Float64Array(0);
    return out;
  }
}

/**
 * Step 3: the conflict groups of one index, given the candidate prefixes.
 * @throws whatever reading the index throws
 */
export async function conflictGroups(path: string, x: IndexExpectation, side: 'a' | 'b', candidates: Set<string>): Promise<ConflictGroup[]> {
  if (candidates.size === 0) return [];
  const groups = new Map<string, ConflictGroup>();
  const identity: RecordIdentity = x.identity;
  for await (const run of indexEntryRuns(path, x)) {
    for (const e of run) {
      if (e.label === undefined || !candidates.has(e.features.slice(0, 10))) continue;
      let g = groups.get(e.features);
      if (!g) {
        g = { side, features: e.features, labels: newLabelCounts(), records: [] };
        groups.set(e.features, g);
      }
      g.labels[e.label] = countOf(g.labels, e.label) + 1;
      if (g.records.length < MAX_LISTED_CONFLICT_RECORDS) g.records.push({ key: keyOf(e, identity), row: e.row, label: e.label });
    }
  }
  return [...groups.values()].filter((g) => Object.keys(g.labels).length > 1).sort((p, q) => (p.features < q.features ? -1 : 1));
}
