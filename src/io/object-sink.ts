/**
 * Where a seal hands over its new objects as it goes, instead of keeping every one in its store
 * until the end. A seal into an S3 store runs on a local working copy (store/remote-session.ts):
 * the session registers a sink for that working copy, and the seal's scan, each time about
 * `everyBytes` of new objects are staged, commits them into the working copy and hands their
 * digests to the sink, which uploads them and leaves an empty marker file under each name (so that
 * the object still counts as present). Disk use is then bounded by about twice `everyBytes` (one
 * batch staged while the previous one uploads) plus the largest file, whatever the dataset's size.
 */

/** Takes over committed objects of a store (see the module comment). */
export interface ObjectSink {
  /** Staged bytes (new objects) after which they are committed and handed over. */
  everyBytes: number;
  /**
   * Take over these objects, now committed in the store under their names (each exactly once).
   * Called again only after the previous call's promise settled.
   * @returns how many of them, and of how many bytes, the sink's store already held (not new to
   *   it after all: the seal no longer counts them as new)
   */
  take(hexes: string[]): Promise<SinkTaken>;
}

/** What {@link ObjectSink.take} found already there: objects, and their bytes. */
export interface SinkTaken {
  present: number;
  presentBytes: number;
}

const sinks = new Map<string, ObjectSink>();

/** Register (or, with `undefined`, remove) the sink of the store at `root` (its resolved root path). */
export function setObjectSink(root: string, sink: ObjectSink | undefined): void {
  if (sink) sinks.set(root, sink);
  else sinks.delete(root);
}

/** The sink registered for the store at `root`, if any. */
export function objectSinkFor(root: string): ObjectSink | undefined {
  return sinks.get(root);
}
