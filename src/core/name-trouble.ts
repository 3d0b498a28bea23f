/**
 * Names some file systems cannot hold. A manifest path is any SPEC §2 path, so a snapshot sealed on
 * ext4, or from an S3 bucket or a tar archive, may hold names that a restore target refuses: FAT and
 * exFAT (and NTFS as Windows writes it) refuse `: * ? " < > | \` in a name; fusefat any character
 * outside ASCII; the kernel's FAT drops a trailing dot or space; ext4 refuses a name over 255 UTF-8
 * bytes (NAME_MAX), FAT one over 255 UTF-16 units, eCryptfs one over 143 bytes. Restore collects
 * the first name of each kind of such trouble as it checks the manifest, and asks the target about
 * that name only (`io/name-probe.ts`): a probe per kind of trouble, never one per file, and nothing
 * assumed about a target that turns out to hold them. Besides names, a whole path: a manifest path
 * may be 4,096 bytes (SPEC §2), and under the target (and with the temporary name a file is written
 * under first) it may be longer than the system takes (Linux: PATH_MAX, 4,096 bytes with the NUL);
 * the longest such path is kept too ({@link NameTroubles.longestPath}). Pure.
 */
import { utf8Length } from './paths.js';

/** Characters FAT and exFAT refuse in a name (Microsoft's FAT specification, "long names"; besides `/` and control characters, which no manifest path holds in a name). */
export const FAT_RESERVED_CHARS = ':*?"<>|\\';

/**
 * Names longer than this, in UTF-8 bytes or in UTF-16 units, are probed: eCryptfs (an encrypted
 * home folder) holds up to 143 bytes, ext4 and most Linux file systems 255 bytes (NAME_MAX), FAT,
 * exFAT and NTFS 255 UTF-16 units; no file system is known to hold fewer.
 */
export const LONG_NAME_MIN = 143;

/** The kinds of trouble, each probed once with its first name (the longest name, for the two lengths). */
export type NameTroubleKind = 'longest in bytes' | 'longest in UTF-16 units' | `char ${string}` | 'trailing dot' | 'trailing space' | 'non-ASCII';

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
 * The path restore passes to the system that is longest, in UTF-8 bytes, relative to the target: an
 * entry's own path, or — for a file, which is written under a temporary name beside its own first —
 * its folder, a `/` and that temporary name, when that is longer.
 */
export interface LongestPath {
  /** The entry's manifest path. */
  path: string;
  /** Whether the longest form is the temporary name beside it (`folder/.snap-restore.….tmp`) rather than `path`. */
  temporary: boolean;
  /** Its length in UTF-8 bytes, without the target's own path. */
  bytes: number;
}

/**
 * The first name of each kind of trouble among a manifest's paths, and the longest path. Give it
 * every entry's path; a path that is short and plain (most) costs one regular-expression test and
 * one comparison of lengths. Memory: at most one {@link NameTrouble} per kind (the two longest
 * names, the reserved characters, the two trailing ones, non-ASCII) and one {@link LongestPath}.
 */
export class NameTroubles {
  private readonly first = new Map<NameTroubleKind, NameTrouble>();
  private longestBytes: { trouble: NameTrouble; length: number } | undefined;
  private longestUnits: { trouble: NameTrouble; length: number } | undefined;
  private longest: LongestPath | undefined;

  /**
   * @param tempNameBytes the length in bytes of the temporary name a file is written under, beside
   *   its own (restore: `RESTORE_TEMP_NAME_BYTES` of io/write-pool.ts); 0 when there is none
   */
  constructor(private readonly tempNameBytes = 0) {}

  /**
   * Look at one entry's path (and its folders' names).
   * @param file whether the entry is a file (written under a temporary name first), not a link
   */
  add(path: string, file = true): void {
    // A path without a suspect character is ASCII (a byte a unit): of at most LONG_NAME_MIN units, it holds no longer name.
    const suspect = SUSPECT_RE.test(path);
    this.lookAtLength(path, file, !suspect);
    if (!suspect && path.length <= LONG_NAME_MIN) return;
    for (let start = 0; start < path.length; ) {
      let end = path.indexOf('/', start);
      if (end < 0) end = path.length;
      const units = end - start;
      if (suspect || units > LONG_NAME_MIN) this.look(path, path.slice(start, end), suspect);
      start = end + 1;
    }
  }

  /**
   * Keep `path` when it, or (a file) its folder with the temporary name, is the longest so far.
   * `ascii`: whether the path is known to be ASCII (a byte a unit; else at most 3 bytes a unit),
   * so that most paths are compared without counting their bytes.
   */
  private lookAtLength(path: string, file: boolean, ascii: boolean): void {
    const most = this.longest?.bytes ?? 0;
    const perUnit = ascii ? 1 : 3;
    if (perUnit * (path.length + this.tempNameBytes) <= most) return; // neither form can be longer (most paths)
    const folderUnits = path.lastIndexOf('/'); // -1 at the top: the temporary name alone
    const tempUnits = file && this.tempNameBytes > 0 ? folderUnits + 1 + this.tempNameBytes : 0;
    if (perUnit * Math.max(path.length, tempUnits) <= most) return;
    const bytes = ascii ? path.length : utf8Length(path);
    const temp = tempUnits === 0 ? 0 : (ascii || folderUnits < 0 ? folderUnits + 1 : utf8Length(path.slice(0, folderUnits)) + 1) + this.tempNameBytes;
    const longer = Math.max(bytes, temp);
    if (longer > most) this.longest = { path, temporary: temp > bytes, bytes: longer };
  }

  /** The longest path restore would pass, relative to its target (undefined before any path was added). */
  longestPath(): LongestPath | undefined {
    return this.longest;
  }

  /** One name of `path`; `suspect`: whether the path holds a suspect character anywhere. */
  private look(path: string, name: string, suspect: boolean): void {
    const ascii = !suspect || !NON_ASCII_RE.test(name);
    if (suspect && SUSPECT_RE.test(name)) {
      for (const c of FAT_RESERVED_CHARS) if (name.includes(c)) this.note(`char ${c}`, path, name);
      if (name.endsWith('.')) this.note('trailing dot', path, name);
      if (name.endsWith(' ')) this.note('trailing space', path, name);
      if (!ascii) this.note('non-ASCII', path, name);
    }
    if (name.length > LONG_NAME_MIN && name.length > (this.longestUnits?.length ?? 0)) {
      this.longestUnits = { trouble: { kind: 'longest in UTF-16 units', path, name }, length: name.length };
    }
    // At most 3 UTF-8 bytes per UTF-16 unit (a pair of 2 units is 4 bytes); ASCII is a byte a unit.
    if (name.length * (ascii ? 1 : 3) > LONG_NAME_MIN) {
      const bytes = ascii ? name.length : utf8Length(name);
      if (bytes > LONG_NAME_MIN && bytes > (this.longestBytes?.length ?? 0)) this.longestBytes = { trouble: { kind: 'longest in bytes', path, name }, length: bytes };
    }
  }

  /**
   * The names to probe: the longest in bytes, the longest in UTF-16 units (when another name), then
   * the first name of each other kind, in the order they were found. Lengths come first: a long
   * name refused (ENAMETOOLONG) is then said to be too long, not to hold a character.
   */
  list(): NameTrouble[] {
    const out: NameTrouble[] = [];
    if (this.longestBytes) out.push(this.longestBytes.trouble);
    if (this.longestUnits && this.longestUnits.trouble.name !== this.longestBytes?.trouble.name) out.push(this.longestUnits.trouble);
    return [...out, ...this.first.values()];
  }

  private note(kind: NameTroubleKind, path: string, name: string): void {
    if (!this.first.has(kind)) this.first.set(kind, { kind, path, name });
  }
}
