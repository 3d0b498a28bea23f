/**
 * An independent walk over the raw blocks of a snapshot archive (docs/FORMAT.md §10.2, §10.4), fed
 * the same bytes as the tar parser (tar-stream), to refuse what that parser silently passes over
 * but other tar readers act on. tar-stream swallows extended headers and zero blocks without
 * showing them: a pax global header (GNU tar and Python's `tarfile` apply its `linkpath` or `path`
 * to every later member), a second pax header before one member (Python merges both, tar-stream
 * keeps only the last), GNU long names and links, and pax records after a malformed one (tar-stream
 * stops reading at the first). An archive snap verified could then unpack, with those readers, to
 * another tree than the signed one, e.g. a link to `/etc/passwd`. tar-stream also reads on past
 * zero blocks, where GNU tar and Python's `tarfile` see the end of the archive and stop: members
 * after them would be verified by snap and never unpacked by those readers.
 *
 * So the walk holds every header to what snap writes: each member's header may be preceded by at
 * most one pax extended header (`x`) whose records are exactly `path` and/or `linkpath`, well formed
 * (POSIX.1-2001, pax "extended header" format: `"%d %s=%s\n"`, the length counting the whole
 * record); no header follows a zero block (POSIX.1-1988: two zero blocks end the archive); every
 * header is POSIX ustar (magic `ustar\0`, version `00`: Python's `tarfile` prepends the ustar name
 * prefix field to the name whatever the magic, where an old GNU header keeps other data), and its
 * size field is plain octal or base-256 (tar-stream reads `0_6` as 0, Python as 6).
 *
 * Pure: fed bytes, keeps at most one header block and one bounded pax body.
 */

/** Size of a tar block, in bytes (POSIX.1-1988 ustar). */
export const TAR_BLOCK = 512;

/**
 * The largest pax extended-header body the walk reads: a `path` and a `linkpath` record, each at
 * most `data/` + 4096 bytes of path (MAX_PATH_BYTES, core/paths.ts) plus its length and key — a
 * longer one cannot be a snap archive's.
 */
export const MAX_PAX_BYTES = 16 << 10;

/**
 * The longest run of zero blocks the walk reads, in bytes: snap writes two (1,024 bytes) at the end,
 * GNU tar pads its archives to a 10,240-byte record by default; far above both. A longer run is
 * refused where it crosses this bound, and the reader reads no further: an archive with a sparse
 * hole of terabytes appended (a few kilobytes of disk) was otherwise read to its end, zero block
 * by zero block — about 10 s a gigabyte — and then passed.
 */
export const MAX_ZERO_RUN = 1 << 20;

/**
 * Type flags (ustar `typeflag`) of headers tar-stream consumes itself and never hands on as members:
 * `x`, `g`, `L`, `K` and `N` (tar-stream 3 headers.js `toType`: 72, 55, 28, 27 and 30 above `'0'`).
 */
const PAX_HEADER = 0x78; // 'x'
const HIDDEN_HEADERS: Readonly<Record<number, string>> = {
  0x67: 'a pax global header (GNU tar and Python apply it to every member after it, tar-stream ignores it)', // 'g'
  0x4c: 'a GNU long name header (snap archives carry long names in a pax header; with both, readers disagree on which applies)', // 'L'
  0x4b: 'a GNU long link header (snap archives carry long link texts in a pax header; with both, readers disagree on which applies)', // 'K'
  0x4e: 'an old GNU long name header (type N: tar-stream and node-tar take its body as the next member\'s name, GNU tar and Python unpack it as a file of its own)', // 'N'
};

/** The pax records a snap archive may carry (the same as ARCHIVE_PAX_KEYS, core/archive.ts). */
const PAX_KEYS: ReadonlySet<string> = new Set(['path', 'linkpath']);

/** Something the walk refuses, at the header block that shows it. */
export interface TarStructureFault {
  /** Byte offset of the header block (or zero block) at fault. */
  offset: number;
  /**
   * `extended-header`: a global header, a GNU long name or link (`L`, `K`, or the old `N`), or two pax headers before one
   * member; `pax`: a pax header whose records are malformed, repeated, empty or not `path` /
   * `linkpath`, or too long, or a pax header or the member after it whose own ustar name is not
   * `PaxHeader`; `zero-block`: a header after a zero block; `format`: a header that is
   * not POSIX ustar, or a size field that readers could read differently; `zero-block` too: a run
   * of zero blocks longer than {@link MAX_ZERO_RUN}; `header-field`: a mode, owner (uid, gid, user
   * or group name), mtime, checksum or device field not written as snap writes it.
   */
  reason: 'extended-header' | 'pax' | 'zero-block' | 'format' | 'header-field';
  message: string;
  /**
   * True when the reader must read no further (a run of zero blocks over {@link MAX_ZERO_RUN}, which
   * could go on for terabytes): it ends the tar parser's input there, so the parser finishes what it
   * was given and the fault is raised where the next member would be.
   */
  endsInput?: true;
}

/**
 * Walks the blocks of a tar stream as they arrive. Feed it every byte, in order, with {@link push};
 * read {@link fault}. After a fault it stops.
 */
export class TarStructureCheck {
  /** The first thing refused, if any. */
  fault: TarStructureFault | undefined;
  private pos = 0;
  /** The header block being gathered. */
  private readonly header = new Uint8Array(TAR_BLOCK);
  private headerFill = 0;
  /** Bytes of member data (and padding) to pass over. */
  private skip = 0;
  /** The pax body being gathered, and where its header was. */
  private pax: { body: Uint8Array; fill: number; offset: number; padding: number } | undefined;
  /** True when the last header was a pax header: the next must be the member it describes. */
  private afterPax = false;
  /** Offset of the first zero block, once one was seen: nothing but zero blocks may follow. */
  private zeroAt: number | undefined;

  /** Feed the next bytes of the stream. */
  push(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length && this.fault === undefined) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        this.pos += n;
        i += n;
        continue;
      }
      if (this.pax) {
        const p = this.pax;
        const n = Math.min(p.body.length - p.fill, chunk.length - i);
        p.body.set(chunk.subarray(i, i + n), p.fill);
        p.fill += n;
        this.pos += n;
        i += n;
        if (p.fill === p.body.length) {
          this.pax = undefined;
          this.skip = p.padding;
          const why = paxProblem(p.body);
          if (why) this.fail(p.offset, 'pax', why);
        }
        continue;
      }
      const n = Math.min(TAR_BLOCK - this.headerFill, chunk.length - i);
      this.header.set(chunk.subarray(i, i + n), this.headerFill);
      this.headerFill += n;
      this.pos += n;
      i += n;
      if (this.headerFill === TAR_BLOCK) {
        this.headerFill = 0;
        this.onHeader(this.pos - TAR_BLOCK);
      }
    }
  }

  private onHeader(at: number): void {
    const h = this.header;
    if (h.every((b) => b === 0)) {
      this.zeroAt ??= at; // the end of the archive (the reader checks that it is the end of the file)
      if (at + TAR_BLOCK - this.zeroAt > MAX_ZERO_RUN) {
        this.fail(this.zeroAt, 'zero-block', `more than ${MAX_ZERO_RUN} bytes of zero blocks from byte ${this.zeroAt} on, where a snap archive ends with two (1,024 bytes): a hole appended to the archive, not read further`);
        (this.fault as TarStructureFault).endsInput = true;
      }
      return;
    }
    if (this.zeroAt !== undefined) {
      return this.fail(at, 'zero-block', `a header after the zero block at byte ${this.zeroAt}, where GNU tar and Python see the end of the archive (they would not unpack what follows)`);
    }
    if (!isUstar(h)) return this.fail(at, 'format', 'a header that is not POSIX ustar (magic "ustar", version "00"): an old GNU header keeps other data where ustar has its name prefix, and Python still reads that as part of the name');
    const size = sizeField(h);
    if (size === undefined) return this.fail(at, 'format', 'a size field that is neither plain octal nor base-256 (tar readers parse such a number differently)');
    const flag = h[156] as number;
    const field = headerFieldProblem(h, flag);
    if (field) return this.fail(at, 'header-field', field);
    const hidden = HIDDEN_HEADERS[flag];
    if (hidden) return this.fail(at, 'extended-header', `${hidden}, which snap archives never hold`);
    const names = paxNamesProblem(h, this.afterPax || flag === PAX_HEADER);
    if (names) return this.fail(at, 'pax', names);
    if (flag === PAX_HEADER) {
      if (this.afterPax) return this.fail(at, 'extended-header', 'a second pax header before one member (tar readers disagree on which applies)');
      if (size > MAX_PAX_BYTES) return this.fail(at, 'pax', `a pax header of ${size} bytes, more than the ${MAX_PAX_BYTES} a snap archive's path and link text need`);
      this.afterPax = true;
      if (size === 0) return this.fail(at, 'pax', 'an empty pax header');
      this.pax = { body: new Uint8Array(size), fill: 0, offset: at, padding: padded(size) - size };
      return;
    }
    this.afterPax = false;
    this.skip = padded(size);
  }

  private fail(offset: number, reason: TarStructureFault['reason'], message: string): void {
    this.fault ??= { offset, reason, message };
  }
}

/** The POSIX ustar magic and version (bytes 257–264 of a header), as snap (tar-stream) writes them. */
const USTAR_MAGIC_VERSION = [0x75, 0x73, 0x74, 0x61, 0x72, 0x00, 0x30, 0x30]; // "ustar\0" "00"

function isUstar(h: Uint8Array): boolean {
  return USTAR_MAGIC_VERSION.every((b, i) => h[257 + i] === b);
}

/**
 * The mode, uid and gid fields (bytes 100–123) as snap (tar-stream 3) writes them: six octal digits,
 * a space and a NUL each; mode 0444 for a regular file (and anything but a link), 0777 for a
 * symbolic link (FORMAT §10.2), either for a pax header (it takes the mode of its member).
 */
const MODE_FIELD = { file: '000444 \0', link: '000777 \0' } as const;
const OWNER_FIELDS = '000000 \0' + '000000 \0'; // uid, gid
/** uname and gname empty (bytes 265–328). */
const NO_NAMES = '\0'.repeat(64);
/** devmajor and devminor 0 (bytes 329–344), as tar-stream writes them. */
const NO_DEVICE = '000000 \0' + '000000 \0';
/** mtime (bytes 136–147): 11 octal digits and a space (its value, `createdAt`, is not looked at). */
const MTIME_FIELD = /^[0-7]{11} $/;
/** chksum (bytes 148–155): 6 octal digits, a space and a NUL, as tar-stream writes it (tar-stream checks its value). */
const CHECKSUM_FIELD = /^[0-7]{6} \0$/;
const SYMLINK_FLAG = 0x32; // '2'

function latin1(h: Uint8Array, from: number, to: number): string {
  let out = '';
  for (let i = from; i < to; i++) out += String.fromCharCode(h[i] as number);
  return out;
}

/**
 * What is wrong with a header's mode, owner, mtime, checksum and device fields, or undefined when
 * they are exactly what snap writes. snap never applies them, but GNU tar and node-tar apply the
 * mode (setuid bits and all) and, run as root, the owner — by user name first — so an archive whose
 * signed contents check out could otherwise unpack to files another user owns and can change;
 * readers parse a field like `0_1234` differently (tar-stream reads 0, Python 668); and a number
 * another reader cannot parse makes it skip the header (GNU tar, for the checksum: it then reads
 * the member's data as headers, e.g. a .tar file's) or end the archive there (Python).
 */
function headerFieldProblem(h: Uint8Array, flag: number): string | undefined {
  const mode = latin1(h, 100, 108);
  const allowed: string[] = flag === PAX_HEADER ? [MODE_FIELD.file, MODE_FIELD.link] : [flag === SYMLINK_FLAG ? MODE_FIELD.link : MODE_FIELD.file];
  if (!allowed.includes(mode)) return `a mode field ${JSON.stringify(mode)} where snap writes ${JSON.stringify(allowed[0])} (tar -x applies it: setuid bits, write for all)`;
  if (latin1(h, 108, 124) !== OWNER_FIELDS) return `a uid or gid field ${JSON.stringify(latin1(h, 108, 124))} where snap writes 0 (tar -x as root gives the file to that owner)`;
  if (latin1(h, 265, 329) !== NO_NAMES) return 'a user or group name where snap writes none (tar -x as root gives the file to a named user first)';
  if (!MTIME_FIELD.test(latin1(h, 136, 148))) return `an mtime field ${JSON.stringify(latin1(h, 136, 148))} that is not 11 octal digits and a space, as snap writes it (readers parse others differently)`;
  if (!CHECKSUM_FIELD.test(latin1(h, 148, 156))) return `a checksum field ${JSON.stringify(latin1(h, 148, 156))} that is not 6 octal digits, a space and a NUL, as snap writes it (GNU tar skips such a header and reads on inside the member's data, as if it held headers)`;
  if (latin1(h, 329, 345) !== NO_DEVICE) return `device number fields ${JSON.stringify(latin1(h, 329, 345))} where snap writes 0 (Python's tarfile ends the archive at a header whose numbers it cannot parse)`;
  return undefined;
}

/** The ustar name tar-stream gives a pax header and the member it describes (FORMAT §10.2, §10.6). */
const PAX_USTAR_NAME = 'PaxHeader';

/**
 * For a pax header or the member after one (`described`): what is wrong with its ustar name,
 * prefix and link name, or undefined when they are what tar-stream writes — the name `PaxHeader`,
 * no prefix, no link name or `PaxHeader`. Readers that know pax headers take the pax `path` and
 * `linkpath` and ignore these fields; one that does not (POSIX.1-1988 readers unpack an unknown
 * type as a regular file) uses them, so that other names could put files outside its target.
 */
function paxNamesProblem(h: Uint8Array, described: boolean): string | undefined {
  if (!described) return undefined;
  const field = (from: number, len: number) => latin1(h, from, from + len).replace(/\0+$/, '');
  const name = field(0, 100);
  const prefix = field(345, 155);
  const link = field(157, 100);
  if (name !== PAX_USTAR_NAME || prefix !== '' || (link !== '' && link !== PAX_USTAR_NAME)) {
    return `a pax header, or the member it describes, whose own ustar name is ${JSON.stringify((prefix ? prefix + '/' : '') + name)}${link && link !== PAX_USTAR_NAME ? ` (link ${JSON.stringify(link)})` : ''}, where snap writes ${PAX_USTAR_NAME}: a reader that does not know pax headers would unpack it under that name`;
  }
  return undefined;
}

/** `n` rounded up to whole blocks. */
function padded(n: number): number {
  return Math.ceil(n / TAR_BLOCK) * TAR_BLOCK;
}

/**
 * A header's size field (bytes 124–135): octal digits ended by a NUL or a space (nothing but NULs and
 * spaces after them), or the base-256 form (first byte 0x80) for sizes from 8 GiB; undefined for
 * anything else (no leading space, no sign, no digit 8 or 9: readers parse those differently).
 */
export function sizeField(h: Uint8Array): number | undefined {
  const f = h.subarray(124, 136);
  if (f[0] === 0x80) {
    let n = 0;
    for (let i = 1; i < f.length; i++) n = n * 256 + (f[i] as number);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  let n = 0;
  let i = 0;
  for (; i < f.length && (f[i] as number) >= 0x30 && (f[i] as number) <= 0x37; i++) n = n * 8 + ((f[i] as number) - 0x30);
  if (i === 0) return undefined;
  for (; i < f.length; i++) if (f[i] !== 0 && f[i] !== 0x20) return undefined;
  return n;
}

/**
 * What is wrong with a pax extended-header body, or undefined when it is records of the form
 * `"<length> <key>=<value>\n"` back to back to its end (the length in decimal, no leading zero,
 * counting the whole record), each key `path` or `linkpath`, at most once, with a value.
 */
export function paxProblem(body: Uint8Array): string | undefined {
  const seen = new Set<string>();
  const dec = new TextDecoder('utf-8', { fatal: false });
  let at = 0;
  while (at < body.length) {
    let i = at;
    while (i < body.length && (body[i] as number) >= 0x30 && (body[i] as number) <= 0x39 && i - at < 8) i++;
    if (i === at || body[at] === 0x30 || body[i] !== 0x20) return `a malformed pax record at byte ${at} (no length, or no space after it)`;
    const len = Number(dec.decode(body.subarray(at, i)));
    const end = at + len;
    if (end > body.length || end <= i + 1 || body[end - 1] !== 0x0a) return `a malformed pax record at byte ${at} (its length ${len} does not end it with a newline)`;
    const rec = body.subarray(i + 1, end - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) return `a malformed pax record at byte ${at} (no key=value)`;
    const key = dec.decode(rec.subarray(0, eq));
    if (!PAX_KEYS.has(key)) return `a pax record ${JSON.stringify(key)} that snap archives never use (readers could disagree on it)`;
    if (seen.has(key)) return `the pax record ${JSON.stringify(key)} twice (readers disagree on which applies)`;
    if (eq === rec.length - 1) return `an empty pax record ${JSON.stringify(key)} (readers disagree on whether it applies)`;
    seen.add(key);
    at = end;
  }
  return undefined;
}
