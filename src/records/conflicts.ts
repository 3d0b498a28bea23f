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
import { FEATURES_HEAD, type IndexEntry } from './index-line.js';
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
    const out = candidatePrefixes(this.values.subarray(0, this.n));
    this.values = new Float64Array(0);
    return out;
  }
}

/**
 * A record's conflict tag (step 1): the first 40 bits of its feature hash (5 bytes at `off` of
 * `digest`) and its label number (0 to 4,095), packed in one double.
 */
export function conflictTag(digest: Uint8Array, off: number, label: number): number {
  const prefix = (digest[off] as number) * 2 ** 32 + (((digest[off + 1] as number) << 24) >>> 0) + ((digest[off + 2] as number) << 16) + ((digest[off + 3] as number) << 8) + (digest[off + 4] as number);
  return prefix * LABEL_BITS + label;
}

/**
 * Step 2: the feature-hash prefixes (10 hex digits) that appear in `tags` with more than one label.
 * Sorts `tags` in place.
 */
export function candidatePrefixes(tags: Float64Array): Set<string> {
  sortTags(tags);
  const out = new Set<string>();
  for (let i = 1; i < tags.length; i++) {
    const p = Math.floor((tags[i] as number) / LABEL_BITS);
    if (p === Math.floor((tags[i - 1] as number) / LABEL_BITS) && tags[i] !== tags[i - 1]) out.add(p.toString(16).padStart(PREFIX_HEX, '0'));
  }
  return out;
}

/** Hex digits of a feature-hash prefix (the 40 bits of a conflict tag). */
const PREFIX_HEX = 10;

/**
 * Step 3: the conflict groups of one index, given the candidate prefixes.
 * @throws whatever reading the index throws
 */
export async function conflictGroups(path: string, x: IndexExpectation, side: 'a' | 'b', candidates: Set<string>): Promise<ConflictGroup[]> {
  if (candidates.size === 0) return [];
  const groups = new Map<string, ConflictGroup>();
  const identity: RecordIdentity = x.identity;
  // Only the lines whose feature hash starts with a candidate are parsed (every line starts with
  // it: index-line.ts); one that does not start so is parsed, and says what is wrong with it.
  const only = (line: string): boolean => !line.startsWith(FEATURES_HEAD) || candidates.has(line.slice(FEATURES_HEAD.length, FEATURES_HEAD.length + PREFIX_HEX));
  for await (const run of indexEntryRuns(path, x, only)) {
    for (const e of run) {
      if (e.label === undefined || !candidates.has(e.features.slice(0, PREFIX_HEX))) continue;
      let g = groups.get(e.features);
      if (!g) {
        g = { side, features: e.features, labels: newLabelCounts(), records: [] };
        groups.set(e.features, g);
      }
      g.labels[e.label] = countOf(g.labels, e.label) + 1;
      if (g.records.length < MAX_LISTED_CONFLICT_RECORDS) g.records.push({ key: keyOf(e, identity), row: e.row, label: e.label });
    }
  }
  // Labels sorted (as RFC 8785 would list them), so that a group reads the same from an index or from its summary (§19.10).
  return [...groups.values()]
    .filter((g) => Object.keys(g.labels).length > 1)
    .sort((p, q) => (p.features < q.features ? -1 : 1))
    .map((g) => {
      const labels = newLabelCounts();
      for (const l of Object.keys(g.labels).sort()) labels[l] = g.labels[l] as number;
      return { ...g, labels };
    });
}
