/**
 * The attack kinds of `snap drill` (docs/FORMAT.md §20): their names, which are record-level, and
 * the parsing of `--attacks`. Pure.
 */
import { SnapError } from '../core/errors.js';

/** Every attack kind, in the order reports list them. */
export const ATTACK_KINDS = [
  'label-folder-move',
  'record-label-flip',
  'record-inject',
  'record-duplicate-conflict',
  'record-delete',
  'feature-nudge',
  'byte-flip-keep-size-mtime',
  'truncate',
  'symlink-to-copy',
  'file-inject',
  'lookalike-name',
  'crlf',
  'trailing-whitespace',
] as const;

/** One attack kind. */
export type AttackKind = (typeof ATTACK_KINDS)[number];

/** The record-level kinds: caught only when a record check names the record. */
export const RECORD_KINDS: ReadonlySet<AttackKind> = new Set<AttackKind>(['record-label-flip', 'record-inject', 'record-duplicate-conflict', 'record-delete', 'feature-nudge']);

/** Most characters `--attacks` may hold (13 names and their commas fit easily). */
export const MAX_ATTACKS_TEXT = 1024;

/**
 * Parse `--attacks`: a comma-separated list of kind names, each once (spaces around names allowed).
 * @returns the kinds in {@link ATTACK_KINDS} order; all of them when `text` is undefined
 * @throws SnapError `USAGE` for an empty list or entry, an unknown name, a name given twice, or text over {@link MAX_ATTACKS_TEXT}
 */
export function parseAttackList(text: string | undefined): AttackKind[] {
  if (text === undefined) return [...ATTACK_KINDS];
  if (text.length > MAX_ATTACKS_TEXT) throw new SnapError('USAGE', `--attacks is longer than ${MAX_ATTACKS_TEXT} characters`);
  const names = text.split(',').map((s) => s.trim());
  const seen = new Set<string>();
  for (const n of names) {
    if (n === '') throw new SnapError('USAGE', `--attacks has an empty entry (${JSON.stringify(text)}); give a comma-separated list of: ${ATTACK_KINDS.join(', ')}`);
    if (!(ATTACK_KINDS as readonly string[]).includes(n)) throw new SnapError('USAGE', `--attacks: unknown attack ${JSON.stringify(n)}; known: ${ATTACK_KINDS.join(', ')}`);
    if (seen.has(n)) throw new SnapError('USAGE', `--attacks names ${n} twice`);
    seen.add(n);
  }
  return ATTACK_KINDS.filter((k) => seen.has(k));
}
