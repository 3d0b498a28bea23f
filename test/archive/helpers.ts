/**
 * Helpers for the archive tests: build snapshot archives member by member with tar-stream (every
 * header under the test's control), signed with a test key so that the signature is valid and the
 * hostile part is what gets caught; snapshot a folder tree's state to prove nothing changed.
 */
import { promises as fsp, createWriteStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as tar from 'tar-stream';
import { MerkleTreeBuilder } from '../../src/core/merkle.js';
import { serializeEntry, sortEntries, type ManifestEntry } from '../../src/core/manifest.js';
import { buildStatement, serializeStatement, snapshotId } from '../../src/core/statement.js';
import { serializeEnvelope, signEnvelope } from '../../src/core/envelope.js';
import { toHex } from '../../src/core/encoding.js';
import type { PrivateKey } from '../../src/core/keys.js';
import { readPrivateKey } from '../../src/io/keyfile.js';

/** The createdAt of every statement made here, and so the mtime of every member. */
export const CREATED_AT = '2026-11-21T10:00:00Z';

/** One tar member, as written by {@link writeTar}; or `raw` bytes put in the archive as they are. */
export interface Member {
  name: string;
  type?: 'file' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo' | 'directory';
  body?: Buffer | string;
  linkname?: string;
  mode?: number;
  pax?: Record<string, string>;
  /** Bytes written in this member's place instead (whole blocks, e.g. from {@link rawHeader}). */
  raw?: Buffer;
}

/** The bytes tar-stream writes for one member (header, pax header if any, body and padding). */
async function packMember(m: Member): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((res, rej) => {
    pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
    pack.on('end', () => res());
    pack.on('error', rej);
  });
  const type = m.type ?? 'file';
  const body = m.body === undefined ? undefined : Buffer.from(m.body);
  const header = {
    name: m.name,
    type,
    mode: m.mode ?? (type === 'symlink' ? 0o777 : 0o444),
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    mtime: new Date(CREATED_AT),
    ...(m.linkname !== undefined ? { linkname: m.linkname } : {}),
    ...(m.pax ? { pax: m.pax } : {}),
  };
  await new Promise<void>((res, rej) => {
    if (body && type === 'file') pack.entry(header, body, (e) => (e ? rej(e) : res()));
    else pack.entry(header, (e) => (e ? rej(e) : res())).end(undefined as never);
  });
  pack.finalize();
  await done;
  const all = Buffer.concat(chunks);
  return all.subarray(0, all.length - 1024); // without the end blocks
}

/**
 * Write members to a tar file with tar-stream, one after another (a member with `raw` is those
 * bytes). `end: false` leaves out the two zero blocks that end an archive.
 */
export async function writeTar(path: string, members: Member[], opts: { end?: boolean } = {}): Promise<void> {
  const parts: Buffer[] = [];
  for (const m of members) parts.push(m.raw ?? (await packMember(m)));
  if (opts.end !== false) parts.push(Buffer.alloc(1024));
  const out = createWriteStream(path);
  await new Promise<void>((res, rej) => out.end(Buffer.concat(parts), () => res()).on('error', rej));
}

/**
 * A raw ustar header block (POSIX.1-1988): `name`, type flag `flag` (one character) and `size`,
 * every other field as snap writes it, and a correct checksum; `edit` changes the block before the
 * checksum is computed (e.g. another magic).
 */
export function rawHeader(name: string, flag: string, size: number, edit?: (b: Buffer) => void): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0);
  b.write(flag === '2' ? '000777 \0' : '000444 \0', 100); // as snap writes a link, and anything else
  b.write('000000 \0', 108);
  b.write('000000 \0', 116);
  b.write(size.toString(8).padStart(11, '0') + ' ', 124);
  b.write(Math.floor(Date.parse(CREATED_AT) / 1000).toString(8).padStart(11, '0') + ' ', 136);
  b[156] = flag.charCodeAt(0);
  b.write('ustar\0' + '00', 257, 'latin1');
  b.write('000000 \0', 329, 'latin1'); // devmajor
  b.write('000000 \0', 337, 'latin1'); // devminor
  edit?.(b);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, '0') + ' \0', 148, 'latin1'); // as tar-stream writes it (GNU tar: NUL, space)
  return b;
}

/** Pad bytes with zeros to whole 512-byte blocks. */
export function blocks(bytes: Buffer | string): Buffer {
  const b = Buffer.from(bytes);
  return Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
}

/** A pax extended-header body of `records` (POSIX.1-2001: each `"<length> <key>=<value>\n"`, the length counting the whole record). */
export function paxBody(records: [string, string][]): Buffer {
  return Buffer.concat(
    records.map(([k, v]) => {
      const rest = ` ${k}=${v}\n`;
      let len = Buffer.byteLength(rest) + 1;
      while (String(len).length + Buffer.byteLength(rest) !== len) len++;
      return Buffer.from(`${len}${rest}`);
    }),
  );
}

/** A raw extended header (`x` local, `g` global, `L` GNU long name, …) carrying `body`, as one {@link Member}. */
export function extendedHeader(flag: string, body: Buffer): Member {
  return { name: `(${flag} header)`, raw: Buffer.concat([rawHeader(flag === 'g' ? 'pax_global_header' : 'PaxHeader', flag, body.length), blocks(body)]) };
}

/** A dataset entry to sign: a file (content) or a symlink (target). */
export type DataSpec = { path: string; content: Buffer | string } | { path: string; target: string };

/** A signed snapshot: its three files' bytes and its entries. */
export interface Signed {
  statement: Buffer;
  envelope: Buffer;
  manifest: Buffer;
  entries: ManifestEntry[];
  id: string;
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/**
 * Sign a snapshot of `data` with `key`, exactly as seal would. `manifestLines` replaces the manifest
 * (lines without their `\n`), signed as given — to sign a manifest seal would never write.
 * `statementEdit` changes the predicate before signing (e.g. a wrong merkleRoot).
 */
export function signSnapshot(
  data: DataSpec[],
  key: PrivateKey,
  opts: { as?: string; manifestLines?: string[]; predicateEdit?: (p: Record<string, unknown>) => void } = {},
): Signed {
  const entries = sortEntries(
    data.map((d): ManifestEntry => ('target' in d ? { path: d.path, target: d.target, type: 'symlink' } : { path: d.path, sha256: sha(d.content), size: Buffer.byteLength(d.content) })),
  );
  const lines = opts.manifestLines ?? entries.map(serializeEntry);
  const manifest = Buffer.from(lines.map((l) => l + '\n').join(''));
  const tree = new MerkleTreeBuilder();
  for (const l of lines) tree.append(Buffer.from(l));
  const [dataset, version] = (opts.as ?? 'hostile@v1').split('@') as [string, string];
  const predicate: Record<string, unknown> = {
    dataset,
    version,
    merkleRoot: toHex(tree.root()),
    manifestSha256: sha(manifest),
    fileCount: lines.length,
    totalBytes: entries.reduce((n, e) => n + ('size' in e ? e.size : 0), 0),
    createdAt: CREATED_AT,
    tool: { name: 'snap', version: '0.1.0' },
  };
  opts.predicateEdit?.(predicate);
  const statementObj = buildStatement(predicate as never);
  const statement = Buffer.from(serializeStatement(statementObj));
  const envelope = Buffer.from(serializeEnvelope(signEnvelope(statement, [key])));
  return { statement, envelope, manifest, entries, id: snapshotId(statement) };
}

/** The three `snap/` members of a signed snapshot. */
export function metaMembers(s: Signed): Member[] {
  return [
    { name: 'snap/statement.json', body: s.statement },
    { name: 'snap/envelope.json', body: s.envelope },
    { name: 'snap/manifest.jsonl', body: s.manifest },
  ];
}

/** The correct data members for `data`, in manifest order. */
export function dataMembers(data: DataSpec[]): Member[] {
  const byPath = new Map(data.map((d) => [d.path, d]));
  return sortEntries(data.map((d) => ({ path: d.path }))).map(({ path }) => {
    const d = byPath.get(path) as DataSpec;
    return 'target' in d ? { name: `data/${path}`, type: 'symlink' as const, linkname: d.target } : { name: `data/${path}`, body: d.content };
  });
}

/** Read a key pair's private key (for signing test archives). */
export async function testKey(keyFile: string): Promise<PrivateKey> {
  return readPrivateKey(keyFile);
}

/** Everything under a folder: relative path → `file:<sha256>` / `link:<target>` / `dir`, sorted. */
export async function treeState(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string, rel: string) => {
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      return;
    }
    for (const n of names.sort()) {
      const p = join(dir, n);
      const r = rel ? `${rel}/${n}` : n;
      const st = await fsp.lstat(p);
      if (st.isSymbolicLink()) out[r] = `link:${await fsp.readlink(p)}`;
      else if (st.isDirectory()) {
        out[r] = 'dir';
        await walk(p, r);
      } else out[r] = `file:${sha(await fsp.readFile(p))}`;
    }
  };
  await walk(root, '');
  return out;
}

/** True when something exists at `path` (not following a final link). */
export async function exists(path: string): Promise<boolean> {
  return fsp.lstat(path).then(
    () => true,
    () => false,
  );
}

/** `diff -r A B`: exit code and output. */
export function diffTrees(a: string, b: string): { code: number; out: string } {
  const r = spawnSync('diff', ['-r', '--no-dereference', a, b], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout + r.stderr };
}

/** `tar -tvf FILE` (GNU tar, UTC, numeric owners): its lines. */
export function tarList(file: string): string[] {
  const r = spawnSync('tar', ['--numeric-owner', '-tvf', file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8' } });
  if (r.status !== 0) throw new Error(`tar -tvf ${file} failed: ${r.stderr}`);
  return r.stdout.trimEnd().split('\n');
}

/** Every member header of an archive, read with tar-stream. */
export async function headers(file: string): Promise<tar.Header[]> {
  const ex = tar.extract();
  const out: tar.Header[] = [];
  const { createReadStream } = await import('node:fs');
  createReadStream(file).pipe(ex as never);
  for await (const e of ex) {
    out.push({ ...e.header });
    e.resume();
  }
  return out;
}
