/**
 * Replacing the envelope of an archive (`snap sign FILE.snap.tar`): member 2, `snap/envelope.json`,
 * is the only part of an archive that may change (SPEC §7, docs/FORMAT.md §10). The new archive is
 * member 1's bytes as they are, a new member 2 written exactly as `export` writes it (same header
 * fields, so the result is byte-identical to exporting the co-signed snapshot), then every byte
 * after the old member 2, copied unchanged. It is written to a temporary file beside the archive,
 * flushed, checked, and renamed over it: a reader sees the old archive or the new one, never a mix.
 */
import { promises as fsp, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import * as tar from 'tar-stream';
import { SnapError } from '../core/errors.js';
import { ARCHIVE_ENVELOPE, ARCHIVE_STATEMENT, archiveMtime } from '../core/archive.js';
import { TarStructureCheck } from '../core/tar-structure.js';
import { fileHeader, openArchiveFile } from './archive.js';
import { escapeForTerminal } from '../core/display.js';
import { fsyncDir } from './store.js';
import { ioError } from './errors.js';
import { leaveNothing } from './interrupt.js';
import { writeAll } from './write-all.js';
import { swapFileForTest } from './test-swap.js';
import { outputTempPath, removeStaleOutputTemps } from './output-temp.js';

/** A tar block, in bytes (POSIX ustar). */
const BLOCK = 512;
/** Offsets in a ustar header (POSIX.1-1988 / pax): name, size (octal), typeflag, magic. */
const NAME_AT = 0;
const NAME_LEN = 100;
const SIZE_AT = 124;
const SIZE_LEN = 12;
const TYPE_AT = 156;
const MAGIC_AT = 257;
/** Copy buffer for the unchanged tail of the archive. */
const COPY_CHUNK = 1 << 20;

/** `n` rounded up to whole 512-byte blocks. */
function padded(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK;
}

/** Read one member header at `pos` and check it is the plain regular file `name`; returns where its content ends (padded). */
async function memberEnd(fh: fsp.FileHandle, file: string, pos: number, name: string): Promise<number> {
  const h = Buffer.alloc(BLOCK);
  const { bytesRead } = await fh.read(h, 0, BLOCK, pos);
  const nul = h.indexOf(0, NAME_AT);
  const got = h.subarray(NAME_AT, nul >= 0 && nul < NAME_LEN ? nul : NAME_LEN).toString('latin1');
  const size = Number.parseInt(h.subarray(SIZE_AT, SIZE_AT + SIZE_LEN).toString('latin1').replace(/[\0 ]+$/, ''), 8);
  if (bytesRead !== BLOCK || got !== name || h[TYPE_AT] !== 0x30 || h.subarray(MAGIC_AT, MAGIC_AT + 6).toString('latin1') !== 'ustar\0' || !Number.isSafeInteger(size)) {
    throw new SnapError('ARCHIVE_MALFORMED', `${file}: the member at byte ${pos} is not ${name} as snap writes it; the archive was not changed`, { path: file, reason: 'layout' });
  }
  return pos + BLOCK + padded(size);
}

/** The bytes `export` writes for the envelope member: its header and content, padded to a block. */
async function envelopeMember(envelope: Uint8Array, createdAt: string): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((res, rej) => {
    pack.on('end', () => res());
    pack.on('error', rej);
  });
  pack.entry(fileHeader(ARCHIVE_ENVELOPE, envelope.length, archiveMtime(createdAt)), Buffer.from(envelope));
  pack.finalize();
  await ended;
  const all = Buffer.concat(chunks);
  return all.subarray(0, all.length - 2 * BLOCK); // without the two end-of-archive blocks
}

/**
 * Write `file` again with `envelope` as its `snap/envelope.json` (see the module comment). The
 * caller has checked that `envelope` has the archive's payload and a superset of its signatures.
 * @param check called with the temporary file before it replaces `file`; may throw to stop
 * @param maxTailBytes the most bytes that may follow the envelope member (archiveTailBound of the
 *   statement, io/archive.ts): a longer archive is refused when the copy passes the bound
 *   (`ARCHIVE_HOSTILE`, `reason` `too-large`) — a member whose size field claims a terabyte of
 *   sparse hole is not copied whole
 * @throws SnapError `ARCHIVE_MALFORMED` (the first two members are not as snap writes them) |
 *   `ARCHIVE_HOSTILE` (what every reader refuses in the blocks copied, core/tar-structure.ts: e.g.
 *   `reason` `zero-block` for a run of zero blocks over MAX_ZERO_RUN, which stops the copy there) |
 *   `ARCHIVE_MALFORMED` `reason` `not-a-file` (`file` is no longer a regular file: a FIFO swapped in
 *   after it was checked is not waited on) | `USAGE` (a folder) | `NOT_FOUND` | `IO_ERROR` | `DISK_FULL`; on any error `file` is unchanged and the temporary file removed
 */
export async function replaceArchiveEnvelope(file: string, envelope: Uint8Array, createdAt: string, check: (tmp: string) => Promise<void>, maxTailBytes = Infinity): Promise<void> {
  await removeStaleOutputTemps(file); // a killed writer's (io/output-temp.ts)
  const tmp = outputTempPath(file);
  // Opened without blocking and read only as a regular file, as every archive reader opens it
  // (io/archive.ts): the archive was checked through another descriptor, and a FIFO put in its
  // place since then blocked a plain open(2) for ever, holding the archive's lock, deaf to SIGTERM.
  swapFileForTest('open', file);
  const src = await openArchiveFile(file, '; nothing was changed');
  let out: fsp.FileHandle | undefined;
  let forget: (() => void) | undefined;
  try {
    const mode = (await src.stat()).mode & 0o7777;
    const afterStatement = await memberEnd(src, file, 0, ARCHIVE_STATEMENT);
    const afterEnvelope = await memberEnd(src, file, afterStatement, ARCHIVE_ENVELOPE);
    out = await fsp.open(tmp, 'wx', 0o600);
    forget = leaveNothing(() => {
      try {
        unlinkSync(tmp);
      } catch {
        /* gone already */
      }
    });
    const buf = Buffer.alloc(COPY_CHUNK);
    let w = 0;
    // The new archive's blocks are walked as they are written, as every reader walks them
    // (core/tar-structure.ts): the copy stops at the first fault — above all a run of zero
    // blocks past MAX_ZERO_RUN, a sparse hole appended to the archive, which was otherwise
    // copied to the temporary file as real zeros (a terabyte's hole filled the disk).
    const structure = new TarStructureCheck();
    const walked = (bytes: Uint8Array): void => {
      structure.push(bytes);
      const f = structure.fault;
      if (f) throw new SnapError('ARCHIVE_HOSTILE', `${escapeForTerminal(file)}: at byte ${f.offset}, the archive holds ${f.message}; it was not changed`, { path: file, reason: f.reason, offset: f.offset });
    };
    const copy = async (from: number, to: number): Promise<void> => {
      for (let pos = from; to < 0 || pos < to; ) {
        const want = to < 0 ? COPY_CHUNK : Math.min(COPY_CHUNK, to - pos);
        const { bytesRead } = await src.read(buf, 0, want, pos);
        if (bytesRead === 0) break;
        walked(buf.subarray(0, bytesRead));
        if (to < 0 && pos + bytesRead - from > maxTailBytes) {
          throw new SnapError('ARCHIVE_HOSTILE', `${escapeForTerminal(file)}: the members after ${ARCHIVE_ENVELOPE} run past the ${maxTailBytes} bytes its statement allows (its files, manifest and record indexes); it was not changed`, { path: file, reason: 'too-large', maxBytes: maxTailBytes });
        }
        await writeAll(out as fsp.FileHandle, buf.subarray(0, bytesRead), w);
        w += bytesRead;
        pos += bytesRead;
      }
    };
    await copy(0, afterStatement);
    const member = await envelopeMember(envelope, createdAt);
    walked(member);
    await writeAll(out, member, w);
    w += member.length;
    await copy(afterEnvelope, -1);
    await out.chmod(mode);
    await out.sync();
    await out.close();
    out = undefined;
    await check(tmp);
    await fsp.rename(tmp, file);
    await fsyncDir(dirname(file));
  } catch (e) {
    await out?.close().catch(() => {});
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw ioError(e, tmp, 'cannot write the archive');
  } finally {
    forget?.();
    await src.close().catch(() => {});
  }
}
