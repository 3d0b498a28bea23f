/**
 * What crosses between the record index pool (`index-pool.ts`) and its worker threads
 * (`index-worker.ts`): requests, replies, and an index's figures in a form that survives the
 * structured clone exactly.
 */
import type { BuiltIndex } from './build-index.js';
import type { IndexFileOptions } from './index-file.js';

/** A request: index one file. */
export interface IndexRequest {
  id: number;
  options: IndexFileOptions;
}

/**
 * {@link BuiltIndex} as it crosses threads: `labels` (an object without prototype, whose keys are
 * data) as `[label, count]` pairs in their order, so that no label is read as a property name.
 */
export type WireBuiltIndex = Omit<BuiltIndex, 'labels'> & { labels?: [string, number][] };

/** An error as it crosses threads: a `SnapError`'s code, message and details, or `INTERNAL` for anything else. */
export interface WireError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** A reply: the index's figures, or the error. */
export type IndexReply = { id: number; built: WireBuiltIndex } | { id: number; error: WireError };

/** {@link BuiltIndex} → {@link WireBuiltIndex}. */
export function toWire(b: BuiltIndex): WireBuiltIndex {
  const { labels, ...rest } = b;
  return labels ? { ...rest, labels: Object.entries(labels) } : rest;
}

/** {@link WireBuiltIndex} → {@link BuiltIndex} (labels rebuilt as an object without prototype). */
export function fromWire(w: WireBuiltIndex): BuiltIndex {
  const { labels, ...rest } = w;
  if (!labels) return rest;
  const out = Object.create(null) as Record<string, number>;
  for (const [l, n] of labels) out[l] = n;
  return { ...rest, labels: out };
}
