/**
 * Snapshot names and refs (SPEC §1): `NAME@VERSION`, a snapshot id (`sha256:<64 hex>`) or a unique
 * prefix of at least 8 hex digits. Paths to archives and snapshot folders are told apart by the
 * I/O layer, which can look at the disk.
 */
import { SnapError } from './errors.js';
import { isArchivePath } from './archive.js';

/** NAME grammar, SPEC §1. */
export const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,127}$/;
/** {@link NAME_RE} in words, for messages. */
export const NAME_RULE_TEXT = 'lowercase letters, digits, ".", "_", "-", starting with a letter or digit, at most 128';
/** VERSION grammar, SPEC §1. */
export const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
/** A full snapshot id. */
export const SNAPSHOT_ID_RE = /^sha256:[0-9a-f]{64}$/;
const PREFIX_RE = /^(?:sha256:)?([0-9a-f]{8,64})$/;

/** A parsed `NAME@VERSION`. */
export interface NameVersion {
  name: string;
  version: string;
}

/** The version word that asks for the newest trusted snapshot (verify --against NAME@latest); `seal` refuses it as a VERSION. */
export const LATEST = 'latest';

/**
 * Parse `NAME@VERSION`.
 * @throws SnapError `REF_MALFORMED`
 */
export function parseNameVersion(text: string): NameVersion {
  const at = text.indexOf('@');
  const name = at < 0 ? text : text.slice(0, at);
  const version = at < 0 ? '' : text.slice(at + 1);
  if (at < 0 || !NAME_RE.test(name) || !VERSION_RE.test(version)) {
    throw new SnapError(
      'REF_MALFORMED',
      `${JSON.stringify(text)} is not NAME@VERSION (NAME: ${NAME_RULE_TEXT}; VERSION: letters, digits, ".", "_", "+", "-", starting with a letter or digit, at most 128)`,
      { ref: text },
    );
  }
  return { name, version };
}

/** A ref as typed by a user, before it is looked up. */
export type ParsedRef =
  | { kind: 'name'; name: string; version: string }
  | { kind: 'id'; hexPrefix: string; full: boolean };

/**
 * Parse a store ref: `NAME@VERSION`, `sha256:<64 hex>`, or a hex prefix of at least 8 digits
 * (with or without `sha256:`).
 * @throws SnapError `REF_MALFORMED`
 */
export function parseRef(text: string): ParsedRef {
  if (text.includes('@')) return { kind: 'name', ...parseNameVersion(text) };
  const m = PREFIX_RE.exec(text);
  if (m) return { kind: 'id', hexPrefix: m[1] as string, full: (m[1] as string).length === 64 };
  // A bare word is taken for a ref, never for a folder: say how to name a folder (./WORD).
  const folder = text.includes('/') ? '' : ` (a folder is named as a path: ./${text})`;
  // A bare NAME (`snap show fraud-train`): say what a snapshot of it is called, and where its versions are listed.
  const named = NAME_RE.test(text) ? ` (a snapshot of ${text} is ${text}@VERSION; "snap list ${text}" lists them)` : '';
  throw new SnapError('REF_MALFORMED', `${JSON.stringify(text)} is not a ref: use NAME@VERSION${named}, a snapshot id (sha256:<hex>, at least 8 hex digits), a snapshot folder or a .snap.tar archive${folder}`, { ref: text });
}

/**
 * True when `text`, given where a ref is expected, names a file or folder rather than a store ref:
 * it holds a `/`, starts with `.`, or ends in `.snap.tar` (an archive). No NAME@VERSION or id does
 * the first two; a VERSION may end in `.snap.tar`, but such a ref is read as an archive's file name.
 * When nothing exists at such a path, the caller says so (`NOT_FOUND`, naming it) instead of
 * reporting a malformed ref.
 */
export function looksLikePath(text: string): boolean {
  return text.includes('/') || text.startsWith('.') || isArchivePath(text);
}
