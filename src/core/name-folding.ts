/**
 * Names a file system takes for one: a file system that folds names — case-insensitive (FAT, exFAT,
 * NTFS and APFS / HFS+ as macOS formats them by default, ext4 or F2FS folders with the casefold
 * attribute `chattr +F`) or normalization-insensitive (APFS, HFS+, which stores names in NFD; ext4
 * casefold) — opens `X.txt` for `x.txt`, and `cafe\u0301.txt` (NFD) for `café.txt` (NFC). Two
 * manifest paths are two byte strings (SPEC §2), so a snapshot may hold both; written onto such a
 * file system they would land on one file, or two folders `Data/` and `data/` merge into one.
 * Restore asks the target how it folds (`io/name-folding.ts`) and, when it does, looks here for
 * such twins before it writes anything. Pure.
 */

/** How a file system folds names (what its probe found). */
export interface NameFolding {
  /** Upper and lower case are one name (`X.txt` opens `x.txt`). */
  case: boolean;
  /** Canonically equivalent names are one (Unicode UAX #15: `é` U+00E9 opens `e` + U+0301). */
  normalization: boolean;
}

/** Whether `f` folds any name at all. */
export function foldsNames(f: NameFolding): boolean {
  return f.case || f.normalization;
}

/**
 * The one name a folding file system takes `name` for (a path folds segment by segment alike: `/`
 * is neither cased nor decomposed): canonical decomposition (NFD) when it folds normalization;
 * when it folds case, upper then lower case — full case mapping, so `ß`, `SS` and `ss` fold alike,
 * as final and other sigma do —, decomposed again. This approximates the file systems' own tables
 * (Unicode CaseFolding.txt; APFS and NTFS each have theirs) on the side of finding more twins.
 */
export function foldName(name: string, f: NameFolding): string {
  let s = f.normalization ? name.normalize('NFD') : name;
  if (f.case) {
    s = s.toUpperCase().toLowerCase();
    if (f.normalization) s = s.normalize('NFD');
  }
  return s;
}

/**
 * Finds the first two paths of a manifest that a folding file system takes for one: two entries
 * (`X.txt`, `x.txt`), two folders (`Data/a`, `data/b`: `Data` and `data`), or an entry and a
 * folder (`X`, `x/y`). Give it every entry's path, in any order; it keeps each path and folder it
 * saw once, folded and as given (memory grows with the manifest: restore uses it only on a target
 * that folds names).
 */
export class FoldedTwins {
  private readonly folded = new Map<string, string>();
  private readonly folders = new Set<string>();

  constructor(private readonly folding: NameFolding) {}

  /**
   * Add one entry's path (and its folders).
   * @returns the first pair found — the name seen before, then this one (a folder's path when the
   *   twins are folders) — or undefined
   */
  add(path: string): readonly [string, string] | undefined {
    for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
      const folder = path.slice(0, i);
      if (this.folders.has(folder)) continue;
      this.folders.add(folder);
      const twin = this.see(folder);
      if (twin) return twin;
    }
    return this.see(path);
  }

  private see(name: string): readonly [string, string] | undefined {
    const key = foldName(name, this.folding);
    const before = this.folded.get(key);
    if (before === undefined) this.folded.set(key, name);
    else if (before !== name) return [before, name];
    return undefined;
  }
}
