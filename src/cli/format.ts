/** Small formatting helpers for human output. */
import { escapeForTerminal } from '../core/display.js';

export { formatBytes } from '../core/display.js';

/**
 * First 16 hex digits of a keyid (SPEC §6 allows this in human output), escaped for a terminal: a
 * keyid read from an envelope that is not verified yet can hold anything.
 */
export function shortKeyid(keyid: string): string {
  return escapeForTerminal(keyid.slice(0, 16));
}

/** `sha256:` id shortened to its first 12 hex digits, escaped for a terminal. */
export function shortId(id: string): string {
  return escapeForTerminal(id.startsWith('sha256:') ? `sha256:${id.slice(7, 19)}` : id);
}

/**
 * A digest shortened to 12 hex digits, escaped for a terminal: a digest read from a file another
 * wrote (a shard report, a proof) may hold anything until it is checked.
 */
export function shortDigest(hex: string): string {
  return escapeForTerminal(hex.slice(0, 12));
}

/**
 * A whole number with thousands separators (`12,345`), as `toLocaleString('en-US')` writes it —
 * without loading ICU's number formatting, which costs about 12 ms on its first call.
 */
export function formatCount(n: number): string {
  return Number.isSafeInteger(n) ? String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',') : String(n);
}

/** A count with its noun, singular or plural. */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${formatCount(n)} ${n === 1 ? noun : nouns}`;
}

/** Most levels a tree listing (`lineage`, `impact`) indents; deeper entries are not indented further. */
export const MAX_TREE_INDENT = 16;

/**
 * The indentation of an entry `depth` levels down a tree listing: two spaces a level, at most
 * {@link MAX_TREE_INDENT} levels, so that the output stays linear in the number of entries (a chain
 * of 20,000 snapshots, planted or real, made `lineage` build 800 MB and fail). `label`: the line
 * that starts the entry, which names its depth once it is deeper than the indentation shows.
 */
export function treeIndent(depth: number, label = false): string {
  const pad = '  '.repeat(Math.min(Math.max(depth, 0), MAX_TREE_INDENT));
  return label && depth > MAX_TREE_INDENT ? `${pad}[depth ${depth}] ` : pad;
}

/** ANSI styling that turns itself off when colour is not wanted. */
export function styler(enabled: boolean) {
  const wrap = (open: number, close: number) => (s: string) => (enabled ? `\u001b[${open}m${s}\u001b[${close}m` : s);
  return { red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), bold: wrap(1, 22), dim: wrap(2, 22) };
}


/** A diff or check side as {@link sideSigners} reads it: a snapshot's signers, `trusted` set only when keys were given. */
type SignedSide = { folder: string } | { signers: readonly { keyid: string; trusted?: boolean }[] };

/**
 * The signers of a snapshot side of `diff` or `check`, for human output: `signed by KEYID trusted`
 * (or `UNTRUSTED`) when they were checked against `--pubkey` keys; without keys `envelope names
 * KEYID, not checked`, since the key ids of an envelope nobody verified are whatever its writer put
 * there (a store or an archive is writable without a key). Key ids shortened and escaped.
 */
export function sideSigners(signers: readonly { keyid: string; trusted?: boolean }[]): string {
  if (signers.length === 0) return 'signed by nobody';
  if (signers.every((g) => g.trusted === undefined)) return `envelope names ${signers.map((g) => shortKeyid(g.keyid)).join(', ')}, not checked`;
  return `signed by ${signers.map((g) => shortKeyid(g.keyid) + (g.trusted === undefined ? '' : g.trusted ? ' trusted' : ' UNTRUSTED')).join(', ')}`;
}

/**
 * The closing note of `diff` and `check` when a snapshot side's signatures were not checked (no
 * `--pubkey`), else undefined: a side that reads as signed by a known key may be signed by nobody.
 */
export function signersNotCheckedNote(sides: readonly SignedSide[], keysGiven: boolean): string | undefined {
  if (keysGiven || !sides.some((s) => 'signers' in s)) return undefined;
  return '(signatures not checked: the key ids above are what each snapshot side\'s envelope names; give --pubkey KEY.pub to check them)';
}

/**
 * The closing note of `diff` and `check` when a side is a `.snap.tar` archive (`archiveSides`, in
 * order), else undefined: its signed manifest is compared (and its snap.json read, checked against
 * its signed digest), not its data members' bytes, so a data member edited in the archive changes
 * nothing in the result; `snap verify FILE` reads and checks every member.
 */
export function archiveSidesNote(archiveSides: readonly ('a' | 'b')[]): string | undefined {
  if (archiveSides.length === 0) return undefined;
  const one = archiveSides.length === 1;
  return one
    ? `(${archiveSides[0]} is a .snap.tar archive: its signed manifest was compared, not the bytes of its data members; "snap verify FILE --pubkey KEY.pub" checks those)`
    : '(a and b are .snap.tar archives: their signed manifests were compared, not the bytes of their data members; "snap verify FILE --pubkey KEY.pub" checks those)';
}

/** How many mended objects a note names by digest (the rest are counted; `--json` lists every one). */
const MENDED_NAMED = 20;

/**
 * The note of `seal` and `import` on objects already in the store that were replaced (their
 * `mendedObjects`, 64-hex digests): `note: N objects already in the store WHY and were replaced
 * FROM: D1, D2, … and K more (--json lists them all)`, naming the first {@link MENDED_NAMED};
 * undefined when there are none.
 * @param why what was wrong with them, singular and plural (`['was not the size …', 'were not the size …']`)
 * @param from where the good bytes came from (`it`, `the archive`)
 */
export function mendedObjectsNote(mended: readonly string[], why: readonly [string, string], from: string): string | undefined {
  const n = mended.length;
  if (n === 0) return undefined;
  const named = mended.slice(0, MENDED_NAMED).join(', ') + (n > MENDED_NAMED ? `, and ${n - MENDED_NAMED} more (--json lists them all)` : '');
  return `note: ${n === 1 ? '1 object' : `${n} objects`} already in the store ${n === 1 ? why[0] : why[1]} and ${n === 1 ? 'was' : 'were'} replaced from ${from}: ${named}\n`;
}

/**
 * The trusted signers of a verdict, each key once, in the order first seen: an envelope may carry
 * one key's signature twice (the same bytes in the other base64 alphabet, another keyid hint), and
 * a key counts once (SPEC §5), so a verdict names it once.
 */
export function trustedOnce<T extends { keyid: string; trusted: boolean }>(signers: readonly T[]): T[] {
  const seen = new Set<string>();
  return signers.filter((s) => {
    if (!s.trusted || seen.has(s.keyid)) return false;
    seen.add(s.keyid);
    return true;
  });
}
