/**
 * Names some file systems cannot hold. A manifest path is any SPEC §2 path, so a snapshot sealed on
 * ext4, or from an S3 bucket or a tar archive, may hold names that a restore target refuses: FAT and
 * exFAT (and NTFS as Windows writes it) refuse `: * ? " < > | \` in a name; fusefat any character
 * outside ASCII; the kernel's FAT drops a trailing dot or space. Restore collects
 * the first name of each kind of such trouble as it checks the manifest, and asks the target about
 * that name only (`io/name-probe.ts`): a probe per kind of trouble, never one per file, and nothing
 * assumed about a target that turns out to hold them. Pure.
 */
/** Characters FAT and exFAT refuse in a name (Microsoft's FAT specification, "long names"; besides `/` and control characters, which no manifest path holds in a name). */
export const FAT_RESERVED_CHARS = ':*?"<>|\\';

/** The kinds of trouble, each probed once with its first name. */
export type NameTroubleKind = `char ${string}` | 'trailing dot' | 'trailing space' | 'non-ASCII';

/** The first name of one kind of trouble. */
export interface NameTrouble {
  kind: NameTroubleKind;
  /** The manifest path (an entry's) in which it was found first. */
  path: string;
  /** The name in it (one segment of `path`: the entry's, or a folder's) that shows it. */
  name: string;
}

/** A path that holds any of the characters, non-ASCII, or a trailing dot or space in some segment. */
const SUSPECT_RE = /[:*?"<>|\\\u0080-\uffff]|[. ](?:\/|$)/;
const NON_ASCII_RE = /[\u0080-\uffff]/;

/**
 * The first name of each kind of trouble among a manifest's paths. Give it every entry's path; a
 * path that is short and plain (most) costs one regular-expression test. Memory: at most one
 * {@link NameTrouble} per kind (the reserved characters, the two trailing ones, non-ASCII).
 */
export class NameTroubles {
  private readonly first = new Map<NameTroubleKind, NameTrouble>();

  /** Look at one entry's path (and its folders' names). */
  add(path: string): void {
    if (!SUSPECT_RE.test(path)) return;
    for (const name of path.split('/')) {
      if (!SUSPECT_RE.test(name)) continue;
      for (const c of FAT_RESERVED_CHARS) if (name.includes(c)) this.note(`char ${c}`, path, name);
      if (name.endsWith('.')) this.note('trailing dot', path, name);
      if (name.endsWith(' ')) this.note('trailing space', path, name);
      if (NON_ASCII_RE.test(name)) this.note('non-ASCII', path, name);
    }
  }

  /** The first name of each kind found, in the order they were found. */
  list(): NameTrouble[] {
    return [...this.first.values()];
  }

  private note(kind: NameTroubleKind, path: string, name: string): void {
    if (!this.first.has(kind)) this.first.set(kind, { kind, path, name });
  }
}
