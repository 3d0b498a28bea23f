/**
 * Provenance of a snapshot: where its data came from, under which licence, which pipeline made it
 * and which snapshots it was derived from. It is the optional `predicate.provenance` member of the
 * statement (SPEC §4 "later versions may add predicate members"), so it is signed with the rest.
 *
 * Every member is optional, but the object is never empty; unknown members are refused and every
 * size is bounded (docs/FORMAT.md §3.1). Pure: bytes and objects, no I/O.
 */
import { SNAPSHOT_ID_RE, NAME_RE, VERSION_RE } from './refs.js';
import { utf8 } from './encoding.js';
import { isObject } from './is-object.js';

/** Largest description (`seal -m`), in UTF-8 bytes. */
export const MAX_DESCRIPTION_BYTES = 4096;
/** Most sources one snapshot names. */
export const MAX_SOURCES = 256;
/** Largest URI (a source or a git repository), in UTF-8 bytes. */
export const MAX_URI_BYTES = 2048;
/** Largest licence expression, in UTF-8 bytes. */
export const MAX_LICENSE_BYTES = 256;
/** Most command-line arguments recorded, and the largest one, in UTF-8 bytes. */
export const MAX_COMMAND_ARGS = 256;
export const MAX_COMMAND_ARG_BYTES = 4096;
/** Most snapshots one snapshot is derived from. */
export const MAX_DERIVED_FROM = 64;

/** A source of the data: a URI (RFC 3986) and, when known, the SHA-256 of what was fetched from it. */
export interface ProvenanceSource {
  uri: string;
  /** 64 lowercase hex. */
  sha256?: string;
}

/** The git state of the working tree the seal ran in. */
export interface GitState {
  /** The commit checked out (HEAD), 40 or 64 lowercase hex (SHA-1 or SHA-256 repositories). */
  commit: string;
  /** The branch checked out (`refs/heads/…`), absent when HEAD is detached. */
  ref?: string;
  /** The `origin` remote's URL, without any user name or password. */
  repository?: string;
}

/** The pipeline that produced the snapshot. */
export interface ProvenancePipeline {
  git?: GitState;
  /** The command line of the seal (`snap seal …`), one array element per argument. */
  command?: string[];
}

/** A snapshot this one was derived from: its id and the name it is signed as. */
export interface DerivedFrom {
  /** Snapshot id, `sha256:<64 hex>`. */
  snapshot: string;
  /** `NAME@VERSION`, as signed in that snapshot's statement. */
  ref: string;
}

/** `predicate.provenance`. Optional members are omitted, never null; at least one is present. */
export interface Provenance {
  description?: string;
  sources?: ProvenanceSource[];
  /** An SPDX licence identifier or expression (e.g. `CC-BY-4.0`, `MIT OR Apache-2.0`). */
  license?: string;
  pipeline?: ProvenancePipeline;
  derivedFrom?: DerivedFrom[];
}

const HEX64 = /^[0-9a-f]{64}$/;
const COMMIT_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** A URI: a scheme (RFC 3986 §3.1), a colon, then no whitespace or control characters. */
const URI_RE = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f-\x9f]+$/;
/** SPDX license expression characters (ids, `LicenseRef-…`, `AND`/`OR`/`WITH`, parentheses). */
const LICENSE_RE = /^[A-Za-z0-9(][A-Za-z0-9.+:() -]*$/;
const GIT_REF_RE = /^refs\/[A-Za-z0-9._\/+-]{1,250}$/;
/** A UTF-16 surrogate not paired (it has no UTF-8 form, and no RFC 8785 form). */
const LONE_SURROGATE = /\p{Cs}/u;
/** Control characters other than tab and line feed (a description may have several lines). */
const CONTROL_BUT_TAB_LF = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

function byteLength(s: string): number {
  return utf8(s).length;
}

/** True when a URI names a password (`scheme://user:password@host`): it would be signed for everyone to read. */
export function uriHasPassword(uri: string): boolean {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)@/.exec(uri);
  return m !== null && (m[1] as string).includes(':');
}

/**
 * Query parameters that carry a credential (pre-signed S3/GCS/Azure URLs, API tokens): a URI
 * holding one would sign the secret into the statement for every reader.
 */
const SECRET_QUERY_PARAMS = new Set(['x-amz-signature', 'x-amz-credential', 'x-amz-security-token', 'x-goog-signature', 'x-goog-credential', 'sig', 'signature', 'token', 'access_token', 'api_key', 'apikey', 'key', 'password', 'secret']);

/** True when a URI's query names a credential parameter ({@link SECRET_QUERY_PARAMS}, any case). */
export function uriHasSecretQuery(uri: string): boolean {
  const q = /\?([^#]*)/.exec(uri);
  if (!q) return false;
  return (q[1] as string).split('&').some((pair) => SECRET_QUERY_PARAMS.has(pair.split('=')[0]!.toLowerCase()));
}

/** A URI without its user information (`https://tok@host/x` → `https://host/x`), for URLs read from git config. */
export function stripUserInfo(uri: string): string {
  return uri.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#@]*@/, '$1');
}


function onlyKeys(o: Record<string, unknown>, allowed: readonly string[], where: string, invalid: (why: string) => never): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) invalid(`unknown member ${JSON.stringify(k)} in ${where}`);
}

function checkString(v: unknown, where: string, max: number, invalid: (why: string) => never, re?: RegExp): string {
  if (typeof v !== 'string' || v.length === 0) invalid(`${where} must be a non-empty string`);
  if (LONE_SURROGATE.test(v)) invalid(`${where} holds a lone surrogate`);
  if (byteLength(v) > max) invalid(`${where} is longer than ${max} UTF-8 bytes`);
  if (re && !re.test(v)) invalid(`${where} is malformed`);
  return v;
}

function checkArray(v: unknown, where: string, max: number, invalid: (why: string) => never): unknown[] {
  if (!Array.isArray(v) || v.length === 0) invalid(`${where} must be a non-empty array`);
  if (v.length > max) invalid(`${where} holds more than ${max} entries`);
  return v;
}

/**
 * Check a `predicate.provenance` value (docs/FORMAT.md §3.1). `invalid` is called with the reason
 * when it is not valid (the statement validator throws `STATEMENT_INVALID` from it; the CLI `USAGE`).
 */
export function validateProvenance(value: unknown, invalid: (why: string) => never): Provenance {
  const w = 'predicate.provenance';
  if (!isObject(value)) invalid(`${w} must be an object`);
  onlyKeys(value, ['description', 'sources', 'license', 'pipeline', 'derivedFrom'], w, invalid);
  if (Object.keys(value).length === 0) invalid(`${w} must not be empty (omit it)`);
  if ('description' in value) {
    const d = checkString(value.description, `${w}.description`, MAX_DESCRIPTION_BYTES, invalid);
    if (CONTROL_BUT_TAB_LF.test(d)) invalid(`${w}.description holds a control character`);
  }
  if ('sources' in value) {
    const seen = new Set<string>();
    checkArray(value.sources, `${w}.sources`, MAX_SOURCES, invalid).forEach((s, i) => {
      const at = `${w}.sources[${i}]`;
      if (!isObject(s)) invalid(`${at} must be an object`);
      onlyKeys(s, ['uri', 'sha256'], at, invalid);
      const uri = checkString(s.uri, `${at}.uri`, MAX_URI_BYTES, invalid, URI_RE);
      if (uriHasPassword(uri)) invalid(`${at}.uri holds a password`);
      if (uriHasSecretQuery(uri)) invalid(`${at}.uri holds a credential in its query (a pre-signed URL or token); record the URI without it`);
      if ('sha256' in s && (typeof s.sha256 !== 'string' || !HEX64.test(s.sha256))) invalid(`${at}.sha256 must be 64 lowercase hex`);
      const key = `${uri}#${String(s.sha256 ?? '')}`;
      if (seen.has(key)) invalid(`${at} repeats an earlier source`);
      seen.add(key);
    });
  }
  if ('license' in value) checkString(value.license, `${w}.license`, MAX_LICENSE_BYTES, invalid, LICENSE_RE);
  if ('pipeline' in value) {
    const p = value.pipeline;
    if (!isObject(p)) invalid(`${w}.pipeline must be an object`);
    onlyKeys(p, ['git', 'command'], `${w}.pipeline`, invalid);
    if (Object.keys(p).length === 0) invalid(`${w}.pipeline must not be empty (omit it)`);
    if ('git' in p) {
      const g = p.git;
      if (!isObject(g)) invalid(`${w}.pipeline.git must be an object`);
      onlyKeys(g, ['commit', 'ref', 'repository'], `${w}.pipeline.git`, invalid);
      if (typeof g.commit !== 'string' || !COMMIT_RE.test(g.commit)) invalid(`${w}.pipeline.git.commit must be 40 or 64 lowercase hex`);
      if ('ref' in g) checkString(g.ref, `${w}.pipeline.git.ref`, 256, invalid, GIT_REF_RE);
      if ('repository' in g) {
        const r = checkString(g.repository, `${w}.pipeline.git.repository`, MAX_URI_BYTES, invalid);
        if (/[\x00-\x1f\x7f-\x9f]/.test(r)) invalid(`${w}.pipeline.git.repository holds a control character`);
        if (uriHasPassword(r)) invalid(`${w}.pipeline.git.repository holds a password`);
      }
    }
    if ('command' in p) {
      checkArray(p.command, `${w}.pipeline.command`, MAX_COMMAND_ARGS, invalid).forEach((arg, i) => {
        if (typeof arg !== 'string') invalid(`${w}.pipeline.command[${i}] must be a string`);
        if (LONE_SURROGATE.test(arg)) invalid(`${w}.pipeline.command[${i}] holds a lone surrogate`);
        if (byteLength(arg) > MAX_COMMAND_ARG_BYTES) invalid(`${w}.pipeline.command[${i}] is longer than ${MAX_COMMAND_ARG_BYTES} UTF-8 bytes`);
      });
    }
  }
  if ('derivedFrom' in value) {
    const seen = new Set<string>();
    checkArray(value.derivedFrom, `${w}.derivedFrom`, MAX_DERIVED_FROM, invalid).forEach((d, i) => {
      const at = `${w}.derivedFrom[${i}]`;
      if (!isObject(d)) invalid(`${at} must be an object`);
      onlyKeys(d, ['snapshot', 'ref'], at, invalid);
      if (typeof d.snapshot !== 'string' || !SNAPSHOT_ID_RE.test(d.snapshot)) invalid(`${at}.snapshot must be a snapshot id sha256:<64 hex>`);
      const ref = typeof d.ref === 'string' ? d.ref : '';
      const atSign = ref.indexOf('@');
      if (atSign < 0 || !NAME_RE.test(ref.slice(0, atSign)) || !VERSION_RE.test(ref.slice(atSign + 1))) invalid(`${at}.ref must be NAME@VERSION`);
      if (seen.has(d.snapshot)) invalid(`${at} repeats an earlier snapshot`);
      seen.add(d.snapshot);
    });
  }
  return value as Provenance;
}

/**
 * Parse `--source URI[#sha256=HEX]`: the URI, and the digest when the text ends in `#sha256=` and
 * 64 hex digits (either case; recorded lowercase).
 */
export function parseSourceArg(text: string): ProvenanceSource {
  const m = /^(.*)#sha256=([0-9a-fA-F]{64})$/.exec(text);
  return m ? { uri: m[1] as string, sha256: (m[2] as string).toLowerCase() } : { uri: text };
}
