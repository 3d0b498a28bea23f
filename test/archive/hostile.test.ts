/**
 * Hostile and broken archives are refused — by `verify FILE`, `restore FILE DIR` and `import FILE` —
 * with exit 1 (ARCHIVE_HOSTILE, INTEGRITY_FAILURE, SIGNATURE_INVALID) or 3 (ARCHIVE_MALFORMED), and
 * nothing is written outside the target: a sentinel folder beside it is unchanged, no file appears
 * at any escaping path, the target itself is gone (restore removes what it made), and the store
 * gains no snapshot and no object.
 *
 * Every archive here is built member by member with tar-stream and signed with a test key, so the
 * signature is valid and the hostile part is what gets caught.
 */
import { promises as fsp } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { snapJson, tempDir, useKeyPair } from '../helpers/tree.js';
import type { PrivateKey } from '../../src/core/keys.js';
import { serializeEntry } from '../../src/core/manifest.js';
import { MAX_STATEMENT_BYTES } from '../../src/core/statement.js';
import { blocks, dataMembers, exists, extendedHeader, metaMembers, paxBody, rawHeader, signSnapshot, testKey, treeState, writeTar, type DataSpec, type Member } from './helpers.js';

const keys = useKeyPair('hostile');
const stranger = useKeyPair('stranger');
let key: PrivateKey;
let strangerKey: PrivateKey;
beforeAll(async () => {
  key = await testKey(keys.key);
  strangerKey = await testKey(stranger.key);
});

const DATA: DataSpec[] = [
  { path: 'a.txt', content: 'alpha\n' },
  { path: 'b.txt', content: 'beta\n' },
  { path: 'sub/c.txt', content: 'gamma\n' },
];

/** What verify is expected to say: an error with this code, a failed trust check, or a data problem. */
type VerifyExpect = 'error' | 'failure' | 'problem';

interface Case {
  name: string;
  /** The archive's members; `work` is the sandbox (escaping names point into it). */
  build: (work: string) => { members: Member[]; end?: boolean; cut?: (bytes: Buffer) => Buffer };
  exit: 1 | 3;
  code: string;
  /** `error.details.reason`, for the archive's own refusals. */
  reason?: string;
  verify?: VerifyExpect;
  /** Paths (relative to the sandbox) that must not exist afterwards. */
  escapes?: string[];
  /** Bytes of sparse hole (zeros that take no disk) appended to the archive file. */
  hole?: number;
  /** Each command must be done within this many ms (a bound on what it reads). */
  timeout?: number;
}

/** DATA and a signed link that stays inside (sub/l -> ../a.txt): the last data member. */
const LINKED: DataSpec[] = [...DATA, { path: 'sub/l', target: '../a.txt' }];
/** The archive of LINKED with `extra` members put just before the link's member. */
const beforeLink = (...extra: Member[]): Member[] => {
  const n = [...metaMembers(signed(LINKED)), ...dataMembers(LINKED)];
  return [...n.slice(0, -1), ...extra, n[n.length - 1] as Member];
};

const signed = (data: DataSpec[] = DATA, opts: Parameters<typeof signSnapshot>[2] = {}) => signSnapshot(data, key, opts);
const normal = (data: DataSpec[] = DATA): Member[] => [...metaMembers(signed(data)), ...dataMembers(data)];
const replaceData = (name: string, m: Member): Member[] => normal().map((x) => (x.name === name ? m : x));

const CASES: Case[] = [
  // --- paths
  { name: '".." inside data/ (data/../escape.txt)', reason: 'dotdot', build: () => ({ members: replaceData('data/a.txt', { name: 'data/../escape.txt', body: 'alpha\n' }) }), exit: 1, code: 'ARCHIVE_HOSTILE', escapes: ['escape.txt'] },
  { name: '".." at the start (../escape.txt)', reason: 'dotdot', build: () => ({ members: replaceData('data/a.txt', { name: '../escape.txt', body: 'alpha\n' }) }), exit: 1, code: 'ARCHIVE_HOSTILE', escapes: ['escape.txt'] },
  { name: '".." reaching the sentinel (data/../../sentinel/pwned)', reason: 'dotdot', build: () => ({ members: replaceData('data/b.txt', { name: 'data/../../sentinel/pwned', body: 'beta\n' }) }), exit: 1, code: 'ARCHIVE_HOSTILE', escapes: ['sentinel/pwned'] },
  { name: 'an absolute path', reason: 'absolute', build: (w) => ({ members: replaceData('data/a.txt', { name: join(w, 'abs-escape.txt'), body: 'alpha\n' }) }), exit: 1, code: 'ARCHIVE_HOSTILE', escapes: ['abs-escape.txt'] },
  { name: 'an empty path segment (data//a.txt)', reason: 'empty-segment', build: () => ({ members: replaceData('data/a.txt', { name: 'data//a.txt', body: 'alpha\n' }) }), exit: 1, code: 'ARCHIVE_HOSTILE' },
  // --- links
  {
    name: 'a signed symlink pointing outside (../../escape.txt)', reason: 'symlink-escapes',
    build: () => {
      const data = [...DATA, { path: 'sub/evil', target: '../../escape.txt' }];
      return { members: [...metaMembers(signed(data)), ...dataMembers(data)] };
    },
    exit: 1, code: 'ARCHIVE_HOSTILE', escapes: ['escape.txt', 'target'],
  },
  {
    name: 'a signed symlink with an absolute target', reason: 'symlink-absolute',
    build: (w) => {
      const data = [...DATA, { path: 'evil', target: join(w, 'sentinel') }];
      return { members: [...metaMembers(signed(data)), ...dataMembers(data)] };
    },
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  {
    name: 'a signed symlink that climbs out through another link (d/s -> .., t -> d/s/../..)', reason: 'symlink-dotdot',
    build: () => {
      const data = [...DATA, { path: 'd/s', target: '..' }, { path: 't', target: 'd/s/../..' }];
      return { members: [...metaMembers(signed(data)), ...dataMembers(data)] };
    },
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  {
    name: 'a signed entry under a symlinked folder (link -> ../sentinel, link/pwned)', reason: 'under-symlink',
    build: () => {
      const data: DataSpec[] = [...DATA, { path: 'link', target: 'sub' }, { path: 'link/pwned', content: 'x' }];
      return { members: [...metaMembers(signed(data)), ...dataMembers(data)] };
    },
    exit: 1, code: 'ARCHIVE_HOSTILE', escapes: ['sentinel/pwned'],
  },
  {
    name: 'a signed entry under a file (a.txt and a.txt/x)', reason: 'under-file',
    build: () => {
      const data: DataSpec[] = [...DATA, { path: 'a.txt/x', content: 'x' }];
      return { members: [...metaMembers(signed(data)), ...dataMembers(data)] };
    },
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  {
    name: 'a symlink member the manifest does not have, then a member under it', reason: 'unexpected-entry',
    build: () => ({
      members: [...metaMembers(signed()), ...dataMembers(DATA).filter((m) => m.name !== 'data/sub/c.txt'), { name: 'data/sub', type: 'symlink', linkname: '../../sentinel' }, { name: 'data/sub/c.txt', body: 'gamma\n' }],
    }),
    exit: 1, code: 'ARCHIVE_HOSTILE', escapes: ['sentinel/c.txt'],
  },
  { name: 'a symlink member where the manifest has a file', reason: 'type-mismatch', build: () => ({ members: replaceData('data/a.txt', { name: 'data/a.txt', type: 'symlink', linkname: '../escape.txt' }) }), exit: 1, code: 'ARCHIVE_HOSTILE' },
  {
    name: 'a symlink member with another target than the signed one', reason: 'link-target',
    build: () => {
      const data = [...DATA, { path: 'l', target: 'a.txt' }];
      return { members: [...metaMembers(signed(data)), ...dataMembers(data).map((m) => (m.name === 'data/l' ? { ...m, linkname: '../../sentinel/keep.txt' } : m))] };
    },
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  // --- member types
  { name: 'a hard link', reason: 'hardlink', build: (w) => ({ members: replaceData('data/a.txt', { name: 'data/a.txt', type: 'link', linkname: join(w, 'sentinel', 'keep.txt') }) }), exit: 1, code: 'ARCHIVE_HOSTILE' },
  { name: 'a character device', reason: 'type', build: () => ({ members: replaceData('data/a.txt', { name: 'data/a.txt', type: 'character-device' }) }), exit: 1, code: 'ARCHIVE_HOSTILE' },
  { name: 'a block device', reason: 'type', build: () => ({ members: replaceData('data/b.txt', { name: 'data/b.txt', type: 'block-device' }) }), exit: 1, code: 'ARCHIVE_HOSTILE' },
  { name: 'a FIFO', reason: 'type', build: () => ({ members: replaceData('data/a.txt', { name: 'data/a.txt', type: 'fifo' }) }), exit: 1, code: 'ARCHIVE_HOSTILE' },
  { name: 'a directory member', reason: 'type', build: () => ({ members: [...normal().slice(0, 5), { name: 'data/sub/', type: 'directory' }, ...normal().slice(5)] }), exit: 1, code: 'ARCHIVE_HOSTILE' },
  { name: 'a pax record the format never uses', reason: 'pax', build: () => ({ members: replaceData('data/a.txt', { name: 'data/a.txt', body: 'alpha\n', pax: { 'GNU.sparse.size': '999' } }) }), exit: 1, code: 'ARCHIVE_HOSTILE' },
  // --- extended headers tar-stream passes over and other readers apply (GNU tar, Python's tarfile)
  {
    name: 'a pax global header (GNU tar and Python give the link after it the global linkpath /etc/passwd)', reason: 'extended-header',
    build: () => ({ members: beforeLink(extendedHeader('g', paxBody([['linkpath', '/etc/passwd']]))) }),
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  {
    name: 'two pax headers before one member (Python applies the first one\'s linkpath /etc/passwd too)', reason: 'extended-header',
    build: () => ({ members: beforeLink(extendedHeader('x', paxBody([['linkpath', '/etc/passwd']])), extendedHeader('x', paxBody([['path', 'data/sub/l']]))) }),
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  {
    name: 'a GNU long name and a pax header before one member (Python takes the long name, tar-stream the pax path)', reason: 'extended-header',
    build: () => ({ members: beforeLink(extendedHeader('L', Buffer.from('data/evil\0')), extendedHeader('x', paxBody([['path', 'data/sub/l']]))) }),
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  {
    name: 'an old GNU long name header (type N) before a member (tar-stream takes its body as the next name, GNU tar and Python unpack it as a file of its own)', reason: 'extended-header',
    build: () => {
      const body = Buffer.from('data/b.txt\0#!/bin/sh\necho pwned\n');
      const n = normal();
      return {
        members: [
          ...n.filter((m) => m.name !== 'data/b.txt' && m.name !== 'data/sub/c.txt'),
          { name: '(N header)', raw: Buffer.concat([rawHeader('data/evil.sh', 'N', body.length), blocks(body)]) },
          { name: '(b under another name)', raw: Buffer.concat([rawHeader('data/zzz', '0', 5), blocks('beta\n')]) },
          ...n.filter((m) => m.name === 'data/sub/c.txt'),
        ],
      };
    },
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  {
    name: 'a pax header with an empty linkpath (tar-stream ignores it, GNU tar and Python apply it)', reason: 'pax',
    build: () => ({ members: beforeLink(extendedHeader('x', paxBody([['linkpath', '']]))) }),
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  {
    name: 'a pax header whose records go on after a malformed one (tar-stream stops reading at it)', reason: 'pax',
    build: () => ({ members: beforeLink(extendedHeader('x', Buffer.concat([paxBody([['path', 'data/sub/l']]), Buffer.from('garbage\n'), paxBody([['linkpath', '/etc/passwd']])]))) }),
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  // --- extended headers over tar-stream's own 4 MiB bound for one: it stops with an error of its own, after the walk refused them
  {
    name: 'a pax header of 5 MiB (tar-stream refuses a header over 4 MiB with its own error)', reason: 'pax',
    build: () => ({ members: beforeLink(extendedHeader('x', Buffer.alloc(5 << 20, 0x61))) }),
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  {
    name: 'a GNU long name of 5 MiB (tar-stream refuses a header over 4 MiB with its own error)', reason: 'extended-header',
    build: () => ({ members: beforeLink(extendedHeader('L', Buffer.alloc(5 << 20, 0x61))) }),
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  // --- the ustar names a reader that does not know pax headers would use (POSIX: an unknown type is a regular file)
  {
    name: 'a member described by a pax path whose own ustar name is ../../escape.txt (a reader without pax support unpacks it there)', reason: 'pax',
    build: () => ({ members: replaceData('data/a.txt', { name: 'data/a.txt', raw: Buffer.concat([extendedHeader('x', paxBody([['path', 'data/a.txt']])).raw as Buffer, rawHeader('../../escape.txt', '0', 6), blocks('alpha\n')]) }) }),
    exit: 1, code: 'ARCHIVE_HOSTILE', escapes: ['escape.txt'],
  },
  {
    name: 'a pax header named ../../escape.txt (a reader without pax support unpacks its records there)', reason: 'pax',
    build: () => {
      const body = paxBody([['path', 'data/a.txt']]);
      return { members: replaceData('data/a.txt', { name: 'data/a.txt', raw: Buffer.concat([rawHeader('../../escape.txt', 'x', body.length), blocks(body), rawHeader('PaxHeader', '0', 6), blocks('alpha\n')]) }) };
    },
    exit: 1, code: 'ARCHIVE_HOSTILE', escapes: ['escape.txt'],
  },
  // --- zero blocks before the end: tar-stream reads on, GNU tar and Python stop there
  {
    name: 'two zero blocks between the manifest and the data (tar -x and Python unpack no data, exit 0)', reason: 'zero-block',
    build: () => { const n = normal(); return { members: [...n.slice(0, 3), { name: '(end blocks)', raw: Buffer.alloc(1024) }, ...n.slice(3)] }; },
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  {
    name: 'one zero block before the last data member', reason: 'zero-block',
    build: () => { const n = normal(); return { members: [...n.slice(0, -1), { name: '(zero block)', raw: Buffer.alloc(512) }, n[n.length - 1] as Member] }; },
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  // --- a sparse hole of zeros: 1 TiB on 8 KiB of disk, read to its end at about 10 s a gigabyte
  {
    name: 'a sparse hole of 1 TiB appended after the end blocks (read no further than MAX_ZERO_RUN)', reason: 'zero-block',
    build: () => ({ members: normal() }), hole: 2 ** 40, timeout: 30_000,
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  {
    name: 'a sparse hole of 1 TiB after the envelope, where the manifest belongs', reason: 'zero-block',
    build: () => ({ members: normal().slice(0, 2), end: false }), hole: 2 ** 40, timeout: 30_000,
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  // --- headers other readers read differently
  {
    name: 'an old GNU header with bytes where ustar has its prefix (Python reads them as one: ../../escape/data/a.txt)', reason: 'format',
    build: () => ({ members: replaceData('data/a.txt', { name: 'data/a.txt', raw: Buffer.concat([rawHeader('data/a.txt', '0', 6, (b) => { b.write('ustar  \0', 257, 'latin1'); b.write('../../escape', 345); }), blocks('alpha\n')]) }) }),
    exit: 1, code: 'ARCHIVE_HOSTILE', escapes: ['escape'],
  },
  {
    name: 'a size field with an underscore (tar-stream reads 0, Python 6)', reason: 'format',
    build: () => {
      const data: DataSpec[] = [{ path: 'a.txt', content: '' }, ...DATA.slice(1)];
      const n = [...metaMembers(signed(data)), ...dataMembers(data)];
      return { members: n.map((m) => (m.name === 'data/a.txt' ? { ...m, raw: rawHeader('data/a.txt', '0', 0, (b) => b.write('0_000000006 ', 124, 'latin1')) } : m)) };
    },
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  // --- owner and mode fields: snap never applies them, GNU tar and node-tar do (as root, the owner too)
  {
    name: 'a member of mode 06777 owned by uid 1234 (GNU tar -x as root makes it setuid, world-writable and that user\'s)', reason: 'header-field',
    build: () => ({ members: replaceData('data/a.txt', { name: 'data/a.txt', raw: Buffer.concat([rawHeader('data/a.txt', '0', 6, (b) => { b.write('006777 \0', 100, 'latin1'); b.write('002322 \0', 108, 'latin1'); b.write('002322 \0', 116, 'latin1'); }), blocks('alpha\n')]) }) }),
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  {
    name: 'a member whose owner is named (uname "mallory": GNU tar -x as root gives the file to that user)', reason: 'header-field',
    build: () => ({ members: replaceData('data/b.txt', { name: 'data/b.txt', raw: Buffer.concat([rawHeader('data/b.txt', '0', 5, (b) => b.write('mallory', 265, 'latin1')), blocks('beta\n')]) }) }),
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  {
    name: 'a uid field Python reads as 668 and tar-stream as 0 (0_1234)', reason: 'header-field',
    build: () => ({ members: replaceData('data/a.txt', { name: 'data/a.txt', raw: Buffer.concat([rawHeader('data/a.txt', '0', 6, (b) => b.write('0_1234 \0', 108, 'latin1')), blocks('alpha\n')]) }) }),
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  {
    name: 'snap/statement.json of mode 0777', reason: 'header-field',
    build: () => { const n = normal(); return { members: [{ ...(n[0] as Member), mode: 0o777 }, ...n.slice(1)] }; },
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  // --- numeric fields other readers cannot parse: GNU tar skips the header and reads on in the data, Python stops there
  {
    name: 'a checksum field with a stray letter (tar-stream reads its digits; GNU tar skips the header and unpacks the tar file inside the data: data/a.txt overwritten)', reason: 'header-field',
    build: () => {
      const inner = Buffer.concat([rawHeader('data/a.txt', '0', 6), blocks('pwned\n'), Buffer.alloc(1024)]);
      const data: DataSpec[] = [...DATA, { path: 'shard.tar', content: inner }];
      const header = rawHeader('data/shard.tar', '0', inner.length);
      header[154] = 0x78; // "dddddd \0" -> "ddddddx\0": not part of the sum (the checksum field counts as spaces)
      return { members: [...metaMembers(signed(data)), ...dataMembers(data).map((m) => (m.name === 'data/shard.tar' ? { ...m, raw: Buffer.concat([header, inner]) } : m))] };
    },
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  {
    name: 'a device number field Python cannot parse (its tarfile ends the archive there, unpacking a shorter tree)', reason: 'header-field',
    build: () => ({ members: replaceData('data/a.txt', { name: 'data/a.txt', raw: Buffer.concat([rawHeader('data/a.txt', '0', 6, (b) => b.write('0000x00\0', 329, 'latin1')), blocks('alpha\n')]) }) }),
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  {
    name: 'an mtime field with an underscore (tar-stream reads 0o1533, Python the whole number)', reason: 'header-field',
    build: () => ({ members: replaceData('data/a.txt', { name: 'data/a.txt', raw: Buffer.concat([rawHeader('data/a.txt', '0', 6, (b) => b.write('1533_446440 ', 136, 'latin1')), blocks('alpha\n')]) }) }),
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  // --- order and completeness
  { name: 'a duplicate path', reason: 'duplicate', build: () => ({ members: [...normal().slice(0, 4), { name: 'data/a.txt', body: 'alpha\n' }, ...normal().slice(4)] }), exit: 1, code: 'ARCHIVE_HOSTILE' },
  {
    name: 'a duplicate path in the signed manifest', reason: 'MANIFEST_DUPLICATE_PATH',
    build: () => {
      const s = signed(DATA, { manifestLines: [DATA[0], DATA[0], DATA[1], DATA[2]].map((d) => serializeEntry({ path: d!.path, sha256: sha(d as { content: string }), size: Buffer.byteLength((d as { content: string }).content) })) });
      return { members: [...metaMembers(s), ...dataMembers(DATA)] };
    },
    exit: 1, code: 'ARCHIVE_HOSTILE',
  },
  { name: 'a member not in the manifest, at the end', reason: 'not-in-manifest', build: () => ({ members: [...normal(), { name: 'data/zzz.txt', body: 'extra' }] }), exit: 1, code: 'ARCHIVE_HOSTILE', escapes: ['target'] },
  { name: 'a member not in the manifest, in the middle', reason: 'unexpected-entry', build: () => ({ members: [...normal().slice(0, 4), { name: 'data/aa.txt', body: 'extra' }, ...normal().slice(4)] }), exit: 1, code: 'ARCHIVE_HOSTILE' },
  { name: 'members out of order', reason: 'unexpected-entry', build: () => { const n = normal(); return { members: [...n.slice(0, 3), n[4] as Member, n[3] as Member, ...n.slice(5)] }; }, exit: 1, code: 'ARCHIVE_HOSTILE' },
  { name: 'a member of another size than the manifest says', reason: 'size-mismatch', build: () => ({ members: replaceData('data/b.txt', { name: 'data/b.txt', body: 'beta, and then some\n' }) }), exit: 1, code: 'ARCHIVE_HOSTILE' },
  { name: 'a member missing before the end', reason: 'unexpected-entry', build: () => ({ members: normal().filter((m) => m.name !== 'data/b.txt') }), exit: 1, code: 'ARCHIVE_HOSTILE' },
  // --- truncation
  { name: 'truncated inside a data member', reason: 'truncated', build: () => ({ members: normal(), cut: (b) => b.subarray(0, b.indexOf(Buffer.from('gamma')) + 2) }), exit: 3, code: 'ARCHIVE_MALFORMED' },
  { name: 'truncated after a whole member (last members gone)', reason: 'truncated', build: () => ({ members: normal().slice(0, 5) }), exit: 3, code: 'ARCHIVE_MALFORMED' },
  { name: 'truncated: the two end blocks missing', reason: 'no-end-marker', build: () => ({ members: normal(), end: false }), exit: 3, code: 'ARCHIVE_MALFORMED' },
  { name: 'truncated inside the manifest', reason: 'truncated', build: () => ({ members: normal(), cut: (b) => b.subarray(0, b.indexOf(Buffer.from('"path":"b.txt"'))) }), exit: 3, code: 'ARCHIVE_MALFORMED' },
  { name: 'not a tar archive', reason: 'not-tar', build: () => ({ members: normal(), cut: (b) => Buffer.concat([Buffer.from('garbage!'.repeat(64)), b]) }), exit: 3, code: 'ARCHIVE_MALFORMED' },
  { name: 'snap/ members out of order', reason: 'layout', build: () => { const n = normal(); return { members: [n[1] as Member, n[0] as Member, ...n.slice(2)] }; }, exit: 3, code: 'ARCHIVE_MALFORMED' },
  { name: 'an oversized statement member', reason: 'too-large', build: () => ({ members: [{ name: 'snap/statement.json', body: Buffer.alloc(MAX_STATEMENT_BYTES + 1, 0x20) }, ...normal().slice(1)] }), exit: 3, code: 'ARCHIVE_MALFORMED' },
  // --- contents and signatures
  { name: 'data that does not match its digest', build: () => ({ members: replaceData('data/b.txt', { name: 'data/b.txt', body: 'BETA\n' }) }), exit: 1, code: 'INTEGRITY_FAILURE', verify: 'problem', escapes: ['target'] },
  {
    name: 'a large member (over 8 MiB) that does not match its digest',
    build: () => {
      const big = randomBytes((8 << 20) + 4096);
      const data: DataSpec[] = [...DATA, { path: 'big.bin', content: big }];
      const bad = Buffer.from(big);
      bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0xff;
      return { members: [...metaMembers(signed(data)), ...dataMembers(data).map((m) => (m.name === 'data/big.bin' ? { ...m, body: bad } : m))] };
    },
    exit: 1, code: 'INTEGRITY_FAILURE', verify: 'problem', escapes: ['target'],
  },
  {
    name: 'a manifest that does not match the signed manifestSha256',
    build: () => {
      const s = signed();
      const forged = Buffer.from(s.manifest.toString().replace(/"sha256":"[0-9a-f]{64}"/, `"sha256":"${'0'.repeat(64)}"`));
      return { members: [...metaMembers({ ...s, manifest: forged }), ...dataMembers(DATA)] };
    },
    exit: 1, code: 'INTEGRITY_FAILURE', verify: 'failure',
  },
  {
    name: 'a manifest that does not match the signed Merkle root',
    build: () => ({ members: [...metaMembers(signed(DATA, { predicateEdit: (p) => { p.merkleRoot = 'f'.repeat(64); } })), ...dataMembers(DATA)] }),
    exit: 1, code: 'INTEGRITY_FAILURE', verify: 'failure',
  },
  { name: 'signed by an untrusted key', build: () => ({ members: [...metaMembers(signSnapshot(DATA, strangerKey)), ...dataMembers(DATA)] }), exit: 1, code: 'SIGNATURE_INVALID', verify: 'failure' },
  {
    name: 'a statement.json that differs from the signed payload',
    build: () => {
      const s = signed();
      const edited = Buffer.from(s.statement.toString().replace('"hostile"', '"hostilf"').replace('hostile@', 'hostilf@'));
      return { members: [...metaMembers({ ...s, statement: edited }), ...dataMembers(DATA)] };
    },
    exit: 1, code: 'INTEGRITY_FAILURE', verify: 'failure',
  },
];

function sha(d: { content: string | Buffer }): string {
  return createHash('sha256').update(d.content).digest('hex');
}

/** A sandbox: `sentinel/keep.txt` and the hostile archive, side by side. */
async function sandbox(c: Case): Promise<{ work: string; file: string; before: Record<string, string> }> {
  const work = await tempDir('snap-hostile-');
  await fsp.mkdir(join(work, 'sentinel'));
  await fsp.writeFile(join(work, 'sentinel', 'keep.txt'), 'keep me');
  // A file with a hole stays out of the sandbox, whose state is taken by reading every file.
  const file = join(c.hole ? await tempDir('snap-hole-') : work, 'hostile.snap.tar');
  const { members, end, cut } = c.build(work);
  await writeTar(file, members, { end });
  if (cut) await fsp.writeFile(file, cut(await fsp.readFile(file)));
  if (c.hole) await fsp.truncate(file, (await fsp.stat(file)).size + c.hole);
  return { work, file, before: await treeState(work) };
}

async function nothingOutside(c: Case, work: string, before: Record<string, string>): Promise<void> {
  expect(await treeState(join(work, 'sentinel'))).toEqual({ 'keep.txt': before['sentinel/keep.txt'] });
  for (const p of c.escapes ?? []) expect(await exists(join(work, p)), p).toBe(false);
  for (const p of ['escape.txt', 'abs-escape.txt', 'sentinel/pwned', 'sentinel/c.txt', 'target']) expect(await exists(join(work, p)), p).toBe(false);
}

describe('hostile and broken archives are refused, and nothing is written outside the target', () => {
  for (const c of CASES) {
    describe(c.name, () => {
      it(`restore: exit ${c.exit} (${c.code}), target removed, nothing outside`, async () => {
        const { work, file, before } = await sandbox(c);
        const r = await snapJson(['restore', file, join(work, 'target'), '--pubkey', keys.pub]);
        expect(r.code, r.stdout).toBe(c.exit);
        expect(r.json.error?.code, r.stdout).toBe(c.code);
        if (c.reason) expect(r.json.error?.details?.reason, r.stdout).toBe(c.reason);
        await nothingOutside(c, work, before);
        expect(await treeState(work)).toEqual(before);
      }, c.timeout);

      it(`restore into an existing empty folder: exit ${c.exit}, the folder is left empty`, async () => {
        const { work, file } = await sandbox(c);
        const target = join(work, 'given');
        await fsp.mkdir(target);
        const r = await snapJson(['restore', file, target, '--pubkey', keys.pub]);
        expect(r.code, r.stdout).toBe(c.exit);
        expect(await fsp.readdir(target)).toEqual([]);
      }, c.timeout);

      it(`import: exit ${c.exit} (${c.code}), the store gains no snapshot and no object`, async () => {
        const { work, file, before } = await sandbox(c);
        const store = join(work, 'store');
        const r = await snapJson(['import', file, '--pubkey', keys.pub, '--store', store]);
        expect(r.code, r.stdout).toBe(c.exit);
        expect(r.json.error?.code, r.stdout).toBe(c.code);
        const inStore = await treeState(store);
        expect(Object.entries(inStore).filter(([k, v]) => v !== 'dir' && k !== 'store.json' && k !== 'log.jsonl' && k !== 'log.head' && k !== 'lock')).toEqual([]);
        await nothingOutside(c, work, before);
      }, c.timeout);

      it(`verify: exit ${c.exit}, nothing written`, async () => {
        const { work, file, before } = await sandbox(c);
        const r = await snapJson(['verify', file, '--pubkey', keys.pub]);
        expect(r.code, r.stdout).toBe(c.exit);
        const how = c.verify ?? 'error';
        if (how === 'error') expect(r.json.error?.code, r.stdout).toBe(c.code);
        else if (how === 'failure') expect(r.json.failure?.code, r.stdout).toBe(c.code);
        else expect(r.json.problems.length, r.stdout).toBeGreaterThan(0);
        if (how !== 'error') expect(r.json.ok).toBe(false);
        expect(await treeState(work)).toEqual(before);
      }, c.timeout);
    });
  }
});

describe('show, which takes an archive without a key, reads no further than MAX_ZERO_RUN into a sparse hole', () => {
  it('a hole of 1 TiB after the envelope, where the manifest belongs: exit 1 (ARCHIVE_HOSTILE, zero-block)', async () => {
    const file = join(await tempDir('snap-hole-'), 'hostile.snap.tar');
    await writeTar(file, normal().slice(0, 2), { end: false });
    await fsp.truncate(file, (await fsp.stat(file)).size + 2 ** 40);
    const r = await snapJson(['show', file]);
    expect(r.code, r.stdout).toBe(1);
    expect(r.json.error).toMatchObject({ code: 'ARCHIVE_HOSTILE', details: { reason: 'zero-block' } });
  }, 30_000);
});
