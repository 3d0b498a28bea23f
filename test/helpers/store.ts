/**
 * Test helpers around a snap store: seal a small tree, look at objects and snapshot files, edit
 * write-once files on purpose (they are mode 0444).
 */
import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, expect } from 'vitest';
import { makeTree, snapJson, tempDir, type KeyPair, type TreeSpec } from './tree.js';
import { signEnvelope, serializeEnvelope } from '../../src/core/envelope.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { readPrivateKey } from '../../src/io/keyfile.js';

/** A dataset sealed into a fresh store. */
export interface Sealed {
  /** The dataset folder. */
  data: string;
  /** The store folder. */
  store: string;
  /** `NAME@VERSION`, and its NAME. */
  ref: string;
  name: string;
  /** Snapshot id, `sha256:<hex>`. */
  snapshot: string;
  /** The snapshot's folder in the store. */
  dir: string;
}

/** A new store path (not yet created) in its own temporary folder. */
export async function newStorePath(): Promise<string> {
  return join(await tempDir('snap-store-'), 'store');
}

/**
 * A store shared by the tests of one file (made in a `beforeAll`; its `path` is set before the
 * first test). Creating a store costs far more than sealing a few files into one, so tests that do
 * not count objects or snapshots share one, each under its own NAME (see {@link sealTree}).
 */
export function useStore(): { path: string } {
  const s = { path: '' };
  beforeAll(async () => {
    s.path = await newStorePath();
    const { openStore } = await import('../../src/io/store.js');
    await openStore(s.path, { create: true });
  });
  return s;
}

let names = 0;
/** A NAME no other snapshot made by this test file has. */
export function uniqueName(prefix = 'ds'): string {
  return `${prefix}-${++names}`;
}

/**
 * Make a tree from `spec` and seal it (`snap seal --json`) as `as` (default: a new NAME, version
 * v1) into `store` (default: a new store); fails the test if the seal does not exit 0.
 */
export async function sealTree(spec: TreeSpec, keys: KeyPair, opts: { as?: string; extra?: string[]; store?: string } = {}): Promise<Sealed> {
  const data = await makeTree(spec);
  const store = opts.store ?? (await newStorePath());
  const ref = opts.as ?? `${uniqueName()}@v1`;
  const r = await snapJson(['seal', data, '--as', ref, '--key', keys.key, '--store', store, ...(opts.extra ?? [])]);
  expect(r.code, r.stderr).toBe(0);
  const [name, version] = ref.split('@') as [string, string];
  return { data, store, ref, name, snapshot: r.json.snapshot, dir: snapshotFolder(store, name, version) };
}

/** The folder of NAME@VERSION in a store. */
export function snapshotFolder(store: string, name: string, version: string): string {
  return join(store, 'snapshots', name, version);
}

/**
 * Alter the manifest of NAME@VERSION in a store: its last entry's size one more, the line still
 * well-formed, so that only its statement (manifestSha256, Merkle root, totalBytes) tells.
 * @returns the manifest's path
 */
export async function alterLastEntrySize(store: string, name: string, version: string): Promise<string> {
  const manifest = join(snapshotFolder(store, name, version), 'manifest.jsonl');
  const text = await fsp.readFile(manifest, 'utf8');
  await fsp.chmod(manifest, 0o644);
  await fsp.writeFile(manifest, text.replace(/"size":(\d+)\}\n$/, (_, n) => `"size":${Number(n) + 1}}\n`));
  return manifest;
}

/** SHA-256 (hex) of a file's bytes. */
export async function sha256File(path: string): Promise<string> {
  return createHash('sha256').update(await fsp.readFile(path)).digest('hex');
}

/** SHA-256 (hex) of bytes or text. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Every object file of a store: its path and the 64-hex name it has (`<xx>/<rest>`). */
export async function objectFiles(store: string): Promise<{ path: string; name: string }[]> {
  const root = join(store, 'objects', 'sha256');
  const out: { path: string; name: string }[] = [];
  let fans: string[];
  try {
    fans = await fsp.readdir(root);
  } catch {
    return out;
  }
  for (const fan of fans) {
    for (const rest of await fsp.readdir(join(root, fan))) out.push({ path: join(root, fan, rest), name: fan + rest });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Every file anywhere under a folder (relative paths), or [] when it does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
  try {
    const all = await fsp.readdir(dir, { recursive: true, withFileTypes: true });
    return all.filter((d) => !d.isDirectory()).map((d) => join(d.parentPath ?? (d as unknown as { path: string }).path, d.name).slice(dir.length + 1));
  } catch {
    return [];
  }
}

/** Rewrite a (write-once, 0444) store file on purpose: make it writable, transform its text. */
export async function tamper(path: string, edit: (text: string) => string): Promise<void> {
  await fsp.chmod(path, 0o644);
  const before = await fsp.readFile(path, 'utf8');
  const after = edit(before);
  if (after === before) throw new Error(`tamper(${path}): the edit changed nothing`);
  await fsp.writeFile(path, after);
}

/** A dataset sealed as `ds@v1` into a new store and exported to `WORK/ds@v1.snap.tar`. */
export interface Exported {
  data: string;
  /** The new work folder holding `store/` and the archive. */
  work: string;
  store: string;
  /** The archive. */
  file: string;
  snapshot: string;
}

/**
 * Make a tree from `spec`, seal it as `ds@v1` into a new store in a new work folder (named with
 * `prefix`) and export it to `WORK/ds@v1.snap.tar` (with `exportArgs` added, e.g. `--jobs 2`);
 * fails the test if either command fails.
 */
export async function sealAndExport(spec: TreeSpec, keys: KeyPair, prefix = 'snap-exported-', exportArgs: string[] = []): Promise<Exported> {
  const data = await makeTree(spec);
  const work = await tempDir(prefix);
  const store = join(work, 'store');
  const s = await snapJson(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store]);
  expect(s.code, s.stderr).toBe(0);
  const file = join(work, 'ds@v1.snap.tar');
  const e = await snapJson(['export', 'ds@v1', '-o', file, '--store', store, ...exportArgs]);
  expect(e.code, e.stderr).toBe(0);
  return { data, work, store, file, snapshot: s.json.snapshot as string };
}

/**
 * Edit a stored snapshot's statement and sign it again with `keyPath` (a statement an older snap, or
 * another signer, could have made): `edit` changes the parsed statement in place; statement.json and
 * envelope.json are rewritten (canonical JSON, one signature).
 */
export async function resignStatement(store: string, name: string, version: string, keyPath: string, edit: (statement: any) => void): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const dir = snapshotFolder(store, name, version);
  const statement = JSON.parse(await fsp.readFile(join(dir, 'statement.json'), 'utf8'));
  edit(statement);
  const bytes = new TextEncoder().encode(canonicalJson(statement));
  const key = await readPrivateKey(keyPath);
  await tamper(join(dir, 'statement.json'), () => Buffer.from(bytes).toString('utf8'));
  await tamper(join(dir, 'envelope.json'), () => Buffer.from(serializeEnvelope(signEnvelope(bytes, [key]))).toString('utf8'));
}

/**
 * Put `object` (canonical JSON) in the store as the column-types object of record set 0 of
 * NAME@VERSION and sign the statement again to name it (FORMAT §19.11): the object an older snap
 * wrote for the same file. Returns the object's SHA-256 (hex).
 */
export async function signOlderColumnTypes(store: string, name: string, version: string, keyPath: string, object: unknown): Promise<string> {
  const bytes = Buffer.from(canonicalJson(object));
  const hex = createHash('sha256').update(bytes).digest('hex');
  await fsp.mkdir(join(store, 'objects', 'sha256', hex.slice(0, 2)), { recursive: true });
  await fsp.writeFile(join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2)), bytes);
  await resignStatement(store, name, version, keyPath, (statement) => {
    statement.predicate.records[0].schema = hex;
  });
  return hex;
}
