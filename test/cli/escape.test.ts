/**
 * Output that cannot be spoofed (issue 8, item 2) and a gate that reports rather than stops
 * (item 3). Every command that prints a path is run with names holding ESC and CR (the attack
 * `x\x1b[2K\rOK    all good\x1b[8m.csv`, which on a terminal erases the FAIL line), LF, a
 * right-to-left override and bytes that are not UTF-8: nothing of them reaches stdout or stderr raw
 * (no byte below 0x20 but the line ends, no DEL, no C1, no bidirectional control, valid UTF-8), and
 * each is shown escaped. Names seal refuses are findings (`extra`, exit 1) in verify and diff, and
 * `--exclude` can leave them out.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { escapeForTerminal } from '../../src/core/display.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { suggestExclude } from '../../src/io/walk.js';
import { makeKeyPair, makeTree, tempDir, useKeyPair, type TreeSpec } from '../helpers/tree.js';
import { newStorePath, objectFiles, sha256, snapshotFolder, tamper } from '../helpers/store.js';
import { unsafeBytes } from '../helpers/terminal.js';
import { testStateDir } from '../helpers/per-file.js';
import { schemaErrors } from '../helpers/json-schemas.js';

const keys = useKeyPair();

/** The attack of issue 8: on a terminal it erases the line and shows "OK    all good". */
const SPOOF = 'x\x1b[2K\rOK    all good\x1b[8m.csv';
const NEWLINE = 'new\nline.csv';
/** A legal name (the path rules allow it) that reads backwards from the U+202E on. */
const BIDI = 'evil\u202egnp.csv';
/** `bad\xff.csv`: not UTF-8. Node would read it as `bad\uFFFD.csv`; snap as `bad\uDCFF.csv`. */
const BAD_BYTES = Buffer.from('626164ff2e637376', 'hex');
const BAD = 'bad\udcff.csv';
/** A folder path part holding all of it. */
const WEIRD = 'w\x1b[2K\r\n\u202e\x9b';

/** A run of the CLI in this process; stdout and stderr as the bytes that would reach the terminal. */
interface Raw {
  code: number;
  out: Buffer;
  err: Buffer;
  stdout: string;
  stderr: string;
}

class Bytes extends Writable {
  chunks: Buffer[] = [];
  isTTY = false;
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk); // strings arrive encoded as UTF-8, exactly as on a real stream
    cb();
  }
}

async function run(args: string[]): Promise<Raw> {
  const stdout = new Bytes();
  const stderr = new Bytes();
  // The test's own trusted state folder: never the state of the user running the tests.
  const env: NodeJS.ProcessEnv = { ...process.env, SNAP_STATE_DIR: testStateDir() };
  delete env.SNAP_STORE;
  delete env.NO_COLOR;
  const code = await runCli(args, { stdout, stderr, env, cwd: process.cwd() });
  const out = Buffer.concat(stdout.chunks);
  const err = Buffer.concat(stderr.chunks);
  return { code, out, err, stdout: out.toString('utf8'), stderr: err.toString('utf8') };
}

/** Run in human form and check that nothing raw got through, on either stream. */
async function human(args: string[]): Promise<Raw> {
  const r = await run(args);
  expect(unsafeBytes(r.out), `stdout of snap ${args.join(' ')}`).toBeUndefined();
  expect(unsafeBytes(r.err), `stderr of snap ${args.join(' ')}`).toBeUndefined();
  return r;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function json(args: string[]): Promise<Raw & { json: any }> {
  const r = await run([...args, '--json']);
  return { ...r, json: JSON.parse(r.stdout) };
}

/** Write a file whose name is given as bytes. */
async function writeRaw(dir: string, name: Buffer, data: string): Promise<void> {
  await fsp.writeFile(Buffer.concat([Buffer.from(dir + '/'), name]), data);
}

async function sealed(spec: TreeSpec, store?: string, extra: string[] = []) {
  const data = await makeTree(spec);
  const st = store ?? (await newStorePath());
  const r = await human(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', st, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return { data, store: st };
}

const shown = escapeForTerminal;

describe('seal refuses a name it cannot record: exit 3, the error naming it escaped, and --exclude leaves it out', () => {
  it.each([
    ['ESC and CR', SPOOF, 'PATH_CONTROL_CHAR'],
    ['LF', NEWLINE, 'PATH_CONTROL_CHAR'],
  ])('a name holding %s', async (_what, name, code) => {
    const data = await makeTree({ 'a.csv': 'a', [name]: 'x' });
    const args = ['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', await newStorePath()];
    const r = await human(args);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(shown(name));
    expect(r.stderr.split('\n')).toHaveLength(2); // one line: a name's LF did not start another
    const j = await json(args);
    expect(j.code).toBe(3);
    expect(j.json.error).toMatchObject({ code, details: { path: name } });
  });

  it('a name that is not UTF-8 (its exact bytes in details.pathHex), also inside a folder of such a name', async () => {
    for (const [name, path] of [[BAD_BYTES, BAD], [Buffer.from('64fe2f692e637376', 'hex'), 'd\udcfe/i.csv']] as const) {
      const data = await makeTree({ 'a.csv': 'a' });
      if (name.includes(0x2f)) await fsp.mkdir(Buffer.concat([Buffer.from(data + '/'), name.subarray(0, name.indexOf(0x2f))]));
      await writeRaw(data, name, 'x');
      const args = ['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', await newStorePath()];
      const r = await human(args);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(shown(path));
      const j = await json(args);
      expect(j.code).toBe(3);
      expect(j.json.error).toMatchObject({ code: 'PATH_INVALID_UTF8', details: { path, pathHex: name.toString('hex') } });
    }
  });

  it('seals a name with a right-to-left override (the path rules allow it), printing nothing raw', async () => {
    const { data } = await sealed({ 'a.csv': 'a', [BIDI]: 'b' });
    expect(data).toBeTruthy();
  });

  it.each([
    ['the pattern the error suggests', undefined],
    ['bad*', 'bad*'],
    ['*.csv', '*.csv'],
  ])('leaves out a name that is not UTF-8 with --exclude %s; verify and diff then pass with the file still there', async (_what, given) => {
    const data = await makeTree({ 'a.txt': 'a' });
    await writeRaw(data, BAD_BYTES, 'x');
    const store = await newStorePath();
    const pattern = given ?? (suggestExclude(BAD) as string).slice(1, -1); // as the shell hands it over
    const s = await json(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--exclude', pattern]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.json.files).toBe(1);
    const v = await human(['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(0);
    const d = await human(['diff', 'ds@v1', data, '--store', store]);
    expect(d.code).toBe(0);
  });

  it('suggests a pattern with ? for each character that would not print as itself, one with no glyph included', () => {
    expect(suggestExclude('a\u200b\x01.csv')).toBe(`'/a??.csv'`);
    expect(suggestExclude('t\u{e0041}\udcff.csv')).toBe(`'/t??.csv'`);
    expect(suggestExclude('ok😀\x01')).toBe(`'/ok😀?'`);
  });

  it("leaves out everything with --exclude '*', names that are not UTF-8 included (DATASET_EMPTY, not PATH_INVALID_UTF8)", async () => {
    const data = await makeTree({ 'a.txt': 'a' });
    await writeRaw(data, BAD_BYTES, 'x');
    const j = await json(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', await newStorePath(), '--exclude', '*']);
    expect(j.code).toBe(3);
    expect(j.json.error.code).toBe('DATASET_EMPTY');
  });
});

describe('verify reports every name seal would refuse as extra (exit 1), beside all other findings', () => {
  async function attacked() {
    const { data, store } = await sealed({ 'a.csv': 'a', [BIDI]: 'b', 'keep/c.csv': 'c' });
    await fsp.writeFile(join(data, SPOOF), 'x');
    await fsp.writeFile(join(data, NEWLINE), 'y');
    await writeRaw(data, BAD_BYTES, 'z');
    await fsp.mkdir(Buffer.from(data + '/d\xfe', 'latin1'));
    await fsp.writeFile(Buffer.from(data + '/d\xfe/in.txt', 'latin1'), 'w');
    await fsp.symlink(Buffer.from('t\xff', 'latin1'), join(data, 'link'));
    await fsp.writeFile(join(data, BIDI), 'changed');
    await fsp.rm(join(data, 'keep/c.csv'));
    return { data, store, args: ['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store] };
  }

  it('in the human report: each name escaped, nothing raw, and the FAIL line intact', async () => {
    const { args } = await attacked();
    const r = await human(args);
    expect(r.code).toBe(1);
    expect(r.stdout.startsWith('FAIL')).toBe(true);
    // Every line is one verify writes: the verdict, a section title, or an indented item.
    for (const line of r.stdout.trimEnd().split('\n')) expect(line).toMatch(/^(FAIL  |  \S|[a-z-]+ \(\d+\):$)/);
    for (const name of [SPOOF, NEWLINE, BAD, 'd\udcfe/in.txt', BIDI, 'keep/c.csv', 'link']) expect(r.stdout).toContain(shown(name));
  });

  it('in --json: the exact names (not UTF-8: decoded without loss, and pathHex), each kind counted', async () => {
    const { args } = await attacked();
    const j = await json(args);
    expect(j.code).toBe(1);
    expect(j.json.counts).toMatchObject({ matched: 1, modified: 1, missing: 1, extra: 5 });
    const extra = j.json.problems.filter((p: { kind: string }) => p.kind === 'extra');
    expect(extra).toHaveLength(5);
    expect(extra).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: BAD, pathHex: BAD_BYTES.toString('hex'), kind: 'extra' }),
        expect.objectContaining({ path: 'd\udcfe/in.txt', pathHex: Buffer.from('d\xfe/in.txt', 'latin1').toString('hex'), kind: 'extra' }),
        expect.objectContaining({ path: SPOOF, kind: 'extra' }),
        expect.objectContaining({ path: NEWLINE, kind: 'extra' }),
        expect.objectContaining({ path: 'link', kind: 'extra', actual: { target: 't\udcff', targetHex: '74ff', type: 'symlink' } }),
      ]),
    );
    expect(j.json.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: BIDI, kind: 'modified' }),
        expect.objectContaining({ path: 'keep/c.csv', kind: 'missing' }),
      ]),
    );
  });

  it('exits 1 with the extra alone (not 3) when a name that is not UTF-8 is the only change', async () => {
    const { data, store } = await sealed({ 'a.csv': 'a' });
    await writeRaw(data, BAD_BYTES, 'z');
    const j = await json(['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store]);
    expect(j.code).toBe(1);
    expect(j.json.problems).toEqual([{ path: BAD, pathHex: BAD_BYTES.toString('hex'), kind: 'extra', reason: expect.any(String) }]);
  });

  it('names a link whose target is not UTF-8, where a file or a link was signed, as one problem of that path (type-changed, modified), not a missing and an extra, as diff names one difference', async () => {
    const { data, store } = await sealed({ 'a.csv': 'a', 'b.csv': 'b', 'l': { symlink: 'a.csv' } });
    await fsp.rm(join(data, 'b.csv'));
    await fsp.symlink(Buffer.from('t\xff', 'latin1'), join(data, 'b.csv'));
    await fsp.rm(join(data, 'l'));
    await fsp.symlink(Buffer.from('u\xff', 'latin1'), join(data, 'l'));
    const reason = 'it is a symbolic link whose target is not valid UTF-8 (MANIFEST_BAD_TARGET)';
    const want = [
      { path: 'b.csv', kind: 'type-changed', expected: { sha256: sha256('b'), size: 1 }, actual: { target: 't\udcff', type: 'symlink', targetHex: '74ff' }, reason },
      { path: 'l', kind: 'modified', expected: { target: 'a.csv', type: 'symlink' }, actual: { target: 'u\udcff', type: 'symlink', targetHex: '75ff' }, reason },
    ];
    const args = ['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store];
    for (const jobs of ['1', '2']) {
      const j = await json([...args, '--jobs', jobs]);
      expect(j.code).toBe(1);
      expect(j.json.problems).toEqual(want);
      expect(j.json.counts).toMatchObject({ matched: 1, modified: 1, missing: 0, extra: 0, 'type-changed': 1 });
      expect(schemaErrors('verify', j.json)).toBe('');
    }
    const d = await json(['diff', 'ds@v1', data, '--store', store]);
    expect(d.json.extra.map((x: { path: string; other?: unknown }) => [x.path, x.other !== undefined])).toEqual([['b.csv', true], ['l', true]]);
    const h = await human(args);
    expect(h.stdout).toContain('b.csv  was a file, now a symlink');
    expect(h.stdout).toContain('l  → a.csv → now → u\\xff');
  });

  it('keeps what an entry whose name is not UTF-8 is: a link its target (targetHex where that is not UTF-8 either), a FIFO its type; seal still refuses it with only the name in its details', async () => {
    const { data, store } = await sealed({ 'a.txt': 'a' });
    const at = (name: string) => Buffer.from(`${data}/${name}`, 'latin1');
    await fsp.mkdir(at('d3'));
    await fsp.mkdir(at('d4'));
    await fsp.symlink('a.txt', at('d3/l\xff'));
    await fsp.symlink(Buffer.from('t\xff', 'latin1'), at('d3/m\xff'));
    execFileSync('sh', ['-c', 'mkfifo "$1/p$(printf \'\\377\')"', 'sh', join(data, 'd4')]); // a process's arguments are strings: the byte made by printf
    const reason = 'its name is not valid UTF-8 (PATH_INVALID_UTF8)';
    const want = [
      { path: 'd3/l\udcff', pathHex: '64332f6cff', kind: 'extra', reason, actual: { target: 'a.txt', type: 'symlink' } },
      { path: 'd3/m\udcff', pathHex: '64332f6dff', kind: 'extra', reason, actual: { target: 't\udcff', type: 'symlink', targetHex: '74ff' } },
      { path: 'd4/p\udcff', pathHex: '64342f70ff', kind: 'extra', reason, actual: { type: 'a FIFO (named pipe)' } },
    ];
    const args = ['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store];
    for (const jobs of ['1', '2']) {
      const j = await json([...args, '--jobs', jobs]);
      expect(j.code).toBe(1);
      expect(j.json.problems).toEqual(want);
      expect(schemaErrors('verify', j.json)).toBe('');
    }
    const h = await human(args);
    expect(h.stdout).toContain('  d3/l\\xff  (→ a.txt; its name is not valid UTF-8 (PATH_INVALID_UTF8))');
    expect(h.stdout).toContain('  d3/m\\xff  (→ t\\xff; its name is not valid UTF-8 (PATH_INVALID_UTF8))');
    expect(h.stdout).toContain('  d4/p\\xff  (a FIFO (named pipe); its name is not valid UTF-8 (PATH_INVALID_UTF8))');
    await fsp.rm(at('d3/m\xff'));
    await fsp.rm(at('d4/p\xff'));
    const s = await json(['seal', data, '--as', 'ds@v2', '--key', keys.key, '--store', store]);
    expect(s.code).toBe(3);
    expect(s.json.error.code).toBe('PATH_INVALID_UTF8');
    expect(s.json.error.details).toEqual({ path: 'd3/l\udcff', pathHex: '64332f6cff' });
  });

  it('escapes the keyid of an envelope that is not trusted (show and a failing verify print it)', async () => {
    const { data, store } = await sealed({ 'a.csv': 'a' });
    const keyid = '\x1b[2K\u202eOK\r';
    await tamper(join(snapshotFolder(store, 'ds', 'v1'), 'envelope.json'), (t) => {
      const env = JSON.parse(t);
      env.signatures[0].keyid = keyid;
      return JSON.stringify(env);
    });
    const other = await makeKeyPair('other');
    const v = await human(['verify', data, '--against', 'ds@v1', '--pubkey', other.pub, '--store', store]);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain(shown(keyid));
    const s = await human(['show', 'ds@v1', '--store', store]);
    expect(s.code).toBe(0);
    expect(s.stdout).toContain(shown(keyid));
  });
});

describe('diff reports what a folder holds that no manifest can record (extra, exit 1)', () => {
  it('a snapshot against a folder with every kind of name: human report escaped, --json exact', async () => {
    const { data, store } = await sealed({ 'a.csv': 'a', [BIDI]: 'b' });
    await fsp.writeFile(join(data, SPOOF), 'x');
    await fsp.writeFile(join(data, NEWLINE), 'y');
    await writeRaw(data, BAD_BYTES, 'z');
    await fsp.rename(join(data, BIDI), join(data, 'renamed.csv'));
    const r = await human(['diff', 'ds@v1', data, '--store', store]);
    expect(r.code).toBe(1);
    for (const line of r.stdout.trimEnd().split('\n')) expect(line).toMatch(/^(a: |b: |differences: |  \S|[a-z: ]+ \(\d+\):$|\(signatures not checked: .*\)$)/);
    for (const name of [SPOOF, NEWLINE, BAD, BIDI]) expect(r.stdout).toContain(shown(name));
    const j = await json(['diff', 'ds@v1', data, '--store', store]);
    expect(j.code).toBe(1);
    expect(j.json.summary).toMatchObject({ extra: 3, renamed: 1 });
    expect(j.json.extra).toEqual([
      { side: 'b', path: BAD, pathHex: BAD_BYTES.toString('hex'), code: 'PATH_INVALID_UTF8', reason: expect.any(String) },
      { side: 'b', path: NEWLINE, code: 'PATH_CONTROL_CHAR', reason: expect.any(String) },
      { side: 'b', path: SPOOF, code: 'PATH_CONTROL_CHAR', reason: expect.any(String) },
    ]);
    expect(j.json.renamed).toEqual([expect.objectContaining({ from: BIDI, to: 'renamed.csv' })]);
  });

  it('exits 1 when the only difference is a name that cannot be recorded, on either side', async () => {
    const a = await makeTree({ 'a.csv': 'a' });
    const b = await makeTree({ 'a.csv': 'a' });
    await writeRaw(a, BAD_BYTES, 'z');
    const j = await json(['diff', a, b, '--store', await newStorePath()]);
    expect(j.code).toBe(1);
    expect(j.json.extra).toEqual([expect.objectContaining({ side: 'a', path: BAD, code: 'PATH_INVALID_UTF8' })]);
    // The report's verdict counts it apart from the files: "0 renamed file(s), 1 that cannot be recorded".
    const r = await human(['report', a, b, '--store', await newStorePath(), '-o', join(await tempDir('snap-report-extra-'), 'r.html')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('0 added, 0 removed, 0 modified, 0 renamed file(s), 1 that cannot be recorded');
  });

  it('lists a FIFO on a folder side as extra (FILE_UNSUPPORTED_TYPE, exit 1), as verify does, rather than stop; refused for its name, it is still said to be a FIFO (type)', async () => {
    const { data, store } = await sealed({ 'a.csv': 'a' });
    execFileSync('mkfifo', [join(data, `pipe${WEIRD}`)]);
    const r = await human(['diff', 'ds@v1', data, '--store', store]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(shown(`pipe${WEIRD}`));
    expect(r.stdout).toContain(`${shown(`pipe${WEIRD}`)}  (a FIFO (named pipe); `);
    const j = await json(['diff', 'ds@v1', data, '--store', store]);
    expect(j.code).toBe(1);
    // A name with control characters is refused before its type is looked at; what it is is kept.
    expect(j.json.extra).toEqual([{ side: 'b', path: `pipe${WEIRD}`, code: 'PATH_CONTROL_CHAR', reason: expect.any(String), type: 'a FIFO (named pipe)' }]);
    expect(schemaErrors('diff', j.json)).toBe('');
    await fsp.rename(join(data, `pipe${WEIRD}`), join(data, 'pipe'));
    const k = await json(['diff', 'ds@v1', data, '--store', store]);
    expect(k.code).toBe(1);
    expect(k.json.extra).toEqual([{ side: 'b', path: 'pipe', code: 'FILE_UNSUPPORTED_TYPE', reason: 'it is a FIFO (named pipe)', type: 'a FIFO (named pipe)' }]);
    const h = await human(['diff', 'ds@v1', data, '--store', store]);
    expect(h.stdout).toMatch(/^ {2}! b: pipe {2}\(it is a FIFO \(named pipe\), FILE_UNSUPPORTED_TYPE\)$/m); // said once
  });

  it('names a FIFO where a signed file was once, as verify names it type-changed: one extra naming the signed entry it stands in for (other), not also a removed file; and the same from either side', async () => {
    const { data, store } = await sealed({ 'a.csv': 'a', 'b.csv': 'bb' });
    await fsp.rm(join(data, 'b.csv'));
    execFileSync('mkfifo', [join(data, 'b.csv')]);
    const v = await json(['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store]);
    expect(v.json.problems).toEqual([expect.objectContaining({ path: 'b.csv', kind: 'type-changed' })]);
    const signed = { path: 'b.csv', sha256: expect.stringMatching(/^[0-9a-f]{64}$/), size: 2 };
    const fwd = await json(['diff', 'ds@v1', data, '--store', store]);
    expect(fwd.code).toBe(1);
    expect(fwd.json.removed).toEqual([]);
    expect(fwd.json.extra).toEqual([{ side: 'b', path: 'b.csv', code: 'FILE_UNSUPPORTED_TYPE', reason: 'it is a FIFO (named pipe)', type: 'a FIFO (named pipe)', other: signed }]);
    expect(fwd.json.summary).toMatchObject({ added: 0, removed: 0, modified: 0, extra: 1, unchanged: 1, bytesAdded: 0, bytesRemoved: 2 });
    const back = await json(['diff', data, 'ds@v1', '--store', store]);
    expect(back.code).toBe(1);
    expect(back.json.added).toEqual([]);
    expect(back.json.extra).toEqual([{ side: 'a', path: 'b.csv', code: 'FILE_UNSUPPORTED_TYPE', reason: 'it is a FIFO (named pipe)', type: 'a FIFO (named pipe)', other: signed }]);
    expect(back.json.summary).toMatchObject({ added: 0, removed: 0, extra: 1, bytesAdded: 2, bytesRemoved: 0 });
    const h = await human(['diff', 'ds@v1', data, '--store', store]);
    expect(h.stdout).toMatch(/^ {2}! b: b\.csv {2}\(it is a FIFO \(named pipe\), FILE_UNSUPPORTED_TYPE; a holds a file there, 2 B\)$/m);
    expect(h.stdout).not.toMatch(/^removed/m);
  });

  it('gives the target of a link on a folder side that no manifest can record (targetHex where it is not UTF-8), as verify does', async () => {
    const { data, store } = await sealed({ 'a.txt': 'a' });
    await fsp.symlink(Buffer.from('t\xff', 'latin1'), join(data, 'bt'));
    await fsp.symlink('a.txt', Buffer.from(`${data}/l\xff`, 'latin1'));
    const j = await json(['diff', 'ds@v1', data, '--store', store]);
    expect(j.code).toBe(1);
    expect(j.json.extra).toEqual([
      { side: 'b', path: 'bt', code: 'MANIFEST_BAD_TARGET', reason: 'it is a symbolic link whose target is not valid UTF-8', target: 't\udcff', targetHex: '74ff' },
      { side: 'b', path: 'l\udcff', pathHex: '6cff', code: 'PATH_INVALID_UTF8', reason: 'its name is not valid UTF-8', target: 'a.txt' },
    ]);
    expect(schemaErrors('diff', j.json)).toBe('');
    const h = await human(['diff', 'ds@v1', data, '--store', store]);
    expect(h.stdout).toContain('bt  (→ t\\xff; it is a symbolic link whose target is not valid UTF-8, MANIFEST_BAD_TARGET)');
  });

  it('two snapshots: added, removed and renamed names escaped', async () => {
    const { data, store } = await sealed({ 'a.csv': 'a', [BIDI]: 'b', 'c.csv': 'c' });
    await fsp.rename(join(data, BIDI), join(data, 'x\u2066y.csv'));
    await fsp.writeFile(join(data, 'ab\u202d.csv'), 'new');
    await fsp.rm(join(data, 'c.csv'));
    const s = await human(['seal', data, '--as', 'ds@v2', '--key', keys.key, '--store', store]);
    expect(s.code).toBe(0);
    const r = await human(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(r.code).toBe(1);
    for (const name of [BIDI, 'x\u2066y.csv', 'ab\u202d.csv']) expect(r.stdout).toContain(shown(name));
  });
});

describe('a name that differs only by a character with no glyph prints differently', () => {
  it('verify and diff show a rename to the same name plus a zero-width space as \\u200b, not as a rename to itself', async () => {
    const { data, store } = await sealed({ 'ham/1.txt': 'hi' });
    await fsp.rename(join(data, 'ham/1.txt'), join(data, 'ham/1.txt\u200b'));
    const v = await human(['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain('ham/1.txt  (2 B');
    expect(v.stdout).toContain('moved to ham/1.txt\\u200b');
    const d = await human(['diff', 'ds@v1', data, '--store', store]);
    expect(d.code).toBe(1);
    expect(d.stdout).toContain('ham/1.txt → ham/1.txt\\u200b');
  });
});

/** `train.jsonl` with a Cyrillic а (U+0430): on a screen the same as `train.jsonl`. */
const CYRILLIC = 'tr\u0430in.jsonl';
/** `café.txt` with é as e + U+0301 (NFD): other bytes than the precomposed (NFC) `caf\u00e9.txt`, the same on a screen. */
const NFC = 'caf\u00e9.txt';
const NFD = 'cafe\u0301.txt';
/** Full-width ｘ (U+FF58), and a name with a trailing space. */
const WIDE = '\uff58.txt';
const TRAILING = 'x.txt ';

describe('a path that could pass for another prints quoted, its letters outside ASCII escaped; --json keeps the real string', () => {
  it('verify: a look-alike file beside the real one, an NFD twin of a sealed NFC name, a full-width and a trailing-space twin', async () => {
    const { data, store } = await sealed({ 'train.jsonl': 't', [NFC]: 'c', 'x.txt': 'x' });
    await fsp.writeFile(join(data, CYRILLIC), 'evil');
    await fsp.rename(join(data, NFC), join(data, NFD));
    await fsp.writeFile(join(data, WIDE), 'w');
    await fsp.writeFile(join(data, TRAILING), 's');
    const args = ['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store];
    const r = await human(args);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`  ${NFC}  (1 B`); // the sealed name is NFC: bare
    expect(r.stdout).toContain('moved to "cafe\\u0301.txt"');
    expect(r.stdout).toContain('  "tr\\u0430in.jsonl"  (4 B');
    expect(r.stdout).toContain('  "\\uff58.txt"  (1 B');
    expect(r.stdout).toContain('  "x.txt "  (1 B');
    const j = await json(args);
    expect(j.json.problems.map((p: { path: string }) => p.path).sort()).toEqual([NFC, CYRILLIC, NFD, TRAILING, WIDE].sort());
  });

  it('diff: a folder and two snapshots, added, removed, modified and renamed', async () => {
    const { data, store } = await sealed({ [NFC]: 'c', [CYRILLIC]: 'gone', [TRAILING]: 'old' });
    await fsp.rename(join(data, NFC), join(data, NFD));
    await fsp.rm(join(data, CYRILLIC));
    await fsp.writeFile(join(data, TRAILING), 'new');
    await fsp.writeFile(join(data, WIDE), 'w');
    const d = await human(['diff', 'ds@v1', data, '--store', store]);
    expect(d.code).toBe(1);
    expect(d.stdout).toContain(`  ${NFC} → "cafe\\u0301.txt"  (1 B`);
    expect(d.stdout).toContain('  - "tr\\u0430in.jsonl"  (4 B)');
    expect(d.stdout).toContain('  ~ "x.txt "  3 B → 3 B');
    expect(d.stdout).toContain('  + "\\uff58.txt"  (1 B)');
    expect((await human(['seal', data, '--as', 'ds@v2', '--key', keys.key, '--store', store])).code).toBe(0);
    const two = await human(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(two.stdout).toContain(`  ${NFC} → "cafe\\u0301.txt"  (1 B`);
    const j = await json(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(j.json.renamed).toEqual([expect.objectContaining({ from: NFC, to: NFD })]);
    expect(j.json.removed).toEqual([expect.objectContaining({ path: CYRILLIC })]);
  });

  it('verify of an archive names a modified member quoted', async () => {
    const { store } = await sealed({ [CYRILLIC]: 'beta beta beta\n', 'a.txt': 'alpha alpha\n' });
    const file = join(await tempDir(), 'ds@v1.snap.tar');
    expect((await human(['export', 'ds@v1', '-o', file, '--store', store])).code).toBe(0);
    const buf = await fsp.readFile(file);
    buf.write('BETA', buf.indexOf('beta beta'));
    await fsp.writeFile(file, buf);
    const r = await human(['verify', file, '--pubkey', keys.pub]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('  "tr\\u0430in.jsonl"  ');
  });

  it('fsck names the snapshot path of a missing object quoted', async () => {
    const { store } = await sealed({ 'train.jsonl': 'real', [CYRILLIC]: 'planted' });
    const obj = (await objectFiles(store)).find((o) => o.name === sha256('planted'));
    await fsp.rm(obj?.path as string);
    const r = await human(['fsck', '--store', store]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('ds@v1:"tr\\u0430in.jsonl"');
  });

  it('seal and check name a record set whose path could pass for another quoted', async () => {
    const set = 'tr\u0430in.csv';
    const data = await makeTree({ [set]: 'id,label\n1,a\n2,b\n3,a\n4,b\n' });
    const store = await newStorePath();
    const s = await human(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', store, '--records', `${set} key=id label=label`]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toContain('    "tr\\u0430in.csv": 4 records (csv');
    await fsp.writeFile(join(data, set), 'id,label\n1,a\n2,b\n3,a\n');
    const c = await human(['check', data, '--against', 'ds@v1', '--store', store]);
    expect(c.code).toBe(1);
    expect(c.stdout).toContain('  "tr\\u0430in.csv": records removed: 1 (at most 0)  [maxRemoved]');
    expect(c.stdout).toContain('  "tr\\u0430in.csv" (csv, key id, label label): 4 → 3 records');
  });

  it('prove and verify-proof name the entry quoted, and a link target too', async () => {
    const { store } = await sealed({ 'train.jsonl': 'real', [NFD]: 'c', l: { symlink: CYRILLIC } });
    const out = join(await tempDir(), 'p.json');
    const p = await human(['prove', 'ds@v1', NFD, '-o', out, '--store', store]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toContain('proved "cafe\\u0301.txt" in ds@v1');
    const v = await human(['verify-proof', out, '--pubkey', keys.pub]);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('"cafe\\u0301.txt" is entry');
    const outLink = join(await tempDir(), 'l.json');
    const pl = await human(['prove', 'ds@v1', 'l', '-o', outLink, '--store', store]);
    expect(pl.code, pl.stderr).toBe(0);
    expect(pl.stdout).toContain('symbolic link → "tr\\u0430in.jsonl"');
    const vl = await human(['verify-proof', outLink, '--pubkey', keys.pub]);
    expect(vl.stdout).toContain('a symbolic link → "tr\\u0430in.jsonl"');
  });
});

/** Names that hold the marks of record lines (`  (row 2) [cat]`, `: cat → dog`), and a comma (record lists join with `, `). */
const ROW_LIKE = 'a.csv  (row 2) [cat]';
const FLIP_LIKE = 'b.jpg: cat → dog';
const COMMA = 'c, d.txt';

describe('a path holding the marks of a record line prints quoted in the file lines of diff and verify, as a record key does; --json keeps the real string', () => {
  it('verify: modified, missing, extra and moved files', async () => {
    const { data, store } = await sealed({ [ROW_LIKE]: 'a', [FLIP_LIKE]: 'b', 'plain.txt': 'p' });
    await fsp.writeFile(join(data, ROW_LIKE), 'A');
    await fsp.rename(join(data, FLIP_LIKE), join(data, COMMA));
    await fsp.writeFile(join(data, 'e (1).txt'), 'e');
    const args = ['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store];
    const r = await human(args);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('  "a.csv  (row 2) [cat]"  1 B');
    expect(r.stdout).toContain('  "b.jpg: cat → dog"  (1 B');
    expect(r.stdout).toContain('moved to "c, d.txt"');
    expect(r.stdout).toContain('  "c, d.txt"  (1 B');
    expect(r.stdout).toContain('same content as missing "b.jpg: cat → dog"');
    expect(r.stdout).toContain('  "e (1).txt"  (1 B');
    const j = await json(args);
    expect(j.json.problems.map((p: { path: string }) => p.path).sort()).toEqual([ROW_LIKE, FLIP_LIKE, COMMA, 'e (1).txt'].sort());
  });

  it('diff: added, removed, modified and renamed, a folder and two snapshots', async () => {
    const { data, store } = await sealed({ [ROW_LIKE]: 'a', [FLIP_LIKE]: 'b', 'gone (old).txt': 'g' });
    await fsp.writeFile(join(data, ROW_LIKE), 'A');
    await fsp.rename(join(data, FLIP_LIKE), join(data, COMMA));
    await fsp.rm(join(data, 'gone (old).txt'));
    await fsp.writeFile(join(data, 'e (1).txt'), 'e');
    for (const b of [data, 'ds@v2']) {
      if (b === 'ds@v2') expect((await human(['seal', data, '--as', 'ds@v2', '--key', keys.key, '--store', store])).code).toBe(0);
      const d = await human(['diff', 'ds@v1', b, '--store', store]);
      expect(d.code).toBe(1);
      expect(d.stdout).toContain('  "b.jpg: cat → dog" → "c, d.txt"  (1 B');
      expect(d.stdout).toContain('  ~ "a.csv  (row 2) [cat]"  1 B → 1 B');
      expect(d.stdout).toContain('  - "gone (old).txt"  (1 B)');
      expect(d.stdout).toContain('  + "e (1).txt"  (1 B)');
    }
    const j = await json(['diff', 'ds@v1', 'ds@v2', '--store', store]);
    expect(j.json.renamed).toEqual([expect.objectContaining({ from: FLIP_LIKE, to: COMMA })]);
    expect(j.json.modified).toEqual([expect.objectContaining({ path: ROW_LIKE })]);
  });

  it('a tabular record set named by such a path, in diff; and the key of a label flip in verify, as diff names it', async () => {
    const table = 'x.csv: 3 labels flipped (a → b)';
    const key = 'y.txt: spam → ham';
    const { data, store } = await sealed({ [table]: 'id,label\n1,a\n2,b\n', [`ham/${key}`]: 'h', 'spam/z.txt': 'z' }, undefined, ['--records', `${table.replace(/[ ():→,]/g, '?')} format=csv key=id label=label`, '--records', '*/* format=files label-segment=0']);
    await fsp.writeFile(join(data, table), 'id,label\n1,b\n2,b\n');
    await fsp.rename(join(data, 'ham', key), join(data, 'spam', key));
    const d = await human(['diff', 'ds@v1', data, '--store', store]);
    expect(d.code).toBe(1);
    expect(d.stdout).toContain('  "x.csv: 3 labels flipped (a → b)" (csv, key id, label label): 2 → 2 records: 1 label flipped (a → b)');
    expect(d.stdout).toContain('"y.txt: spam → ham": ham → spam');
    const v = await human(['verify', data, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store]);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain('  "x.csv: 3 labels flipped (a → b)"  ');
    expect(v.stdout).toContain('    label flipped: "y.txt: spam → ham": ham → spam');
  });

  it('seal: a record set whose name holds the marks of a line is quoted in its report, as diff and check write it', async () => {
    const table = 'x.csv: 3 labels flipped (a → b)';
    const data = await makeTree({ [table]: 'id,label\n1,a\n2,b\n', 'plain.csv': 'id,label\n1,a\n' });
    const r = await human(['seal', data, '--as', 'ds@v1', '--key', keys.key, '--store', await newStorePath(), '--records', `${table.replace(/[ ():→,]/g, '?')} format=csv key=id label=label`, '--records', 'plain.csv key=id label=label']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('\n    "x.csv: 3 labels flipped (a → b)": 2 records (csv, key id, label label): a 1, b 1\n');
    expect(r.stdout).toContain('\n    plain.csv: 1 record (csv, key id, label label): a 1\n');
  });

  it("check: a record set, a file outside every set and a link so named are quoted in its breach lines and its list, record keys as diff writes them; --json keeps the real strings and its messages as they were", async () => {
    const table = 'x.csv: 3 labels flipped (a → b)';
    const { data, store } = await sealed({ [table]: 'id,label\n1,a\n2,b\n', 'ham/h.txt': 'h', 'spam/z.txt': 'z' }, undefined, ['--records', `${table.replace(/[ ():→,]/g, '?')} format=csv key=id label=label`, '--records', '*/* format=files label-segment=0']);
    // B: record 1's label flipped; three records added whose keys imitate a flip, a record line on a
    // line of its own, and read backwards; a data file whose name reads as two, a file named like a
    // breach, and a link into a label folder whose name reads as a record and a second link.
    await fsp.writeFile(join(data, table), `id,label\n1,b\n2,b\nx: cat → dog,a\n"k\n  (row 9) [b]",a\nevil\u202egnp,a\n`);
    await fsp.writeFile(join(data, 'other (row 2), z.csv'), 'a,b\n');
    await fsp.writeFile(join(data, 'train.csv: 3 labels flipped (cat → dog)'), 'x');
    await fsp.symlink('../spam/z.txt', join(data, 'ham', 'l (row 3), m.txt'));
    const args = ['check', data, '--against', 'ds@v1', '--store', store, '--pubkey', keys.pub];
    const c = await human(args);
    expect(c.code).toBe(1);
    const breaches = c.stdout.split('\n').filter((l) => / {2}\[\w+\]$/.test(l));
    expect(breaches).toContain('  "x.csv: 3 labels flipped (a → b)": labels changed on existing records: 1 (at most 0)  [maxLabelChanges]');
    expect(breaches).toContain('  "x.csv: 3 labels flipped (a → b)": records added: 3, 150.0 % of 2 (at most 50.0 %)  [maxAddedShare]');
    expect(breaches.find((l) => l.endsWith('[links]'))).toMatch(/^ {2}\*\/\*: symbolic links .*: "ham\/l \(row 3\), m\.txt" {2}\[links\]$/);
    expect(breaches.find((l) => l.endsWith('[maxUnindexedFiles]'))).toMatch(/^ {2}dataset: files outside every record set .*: 1 \(at most 0\): "other \(row 2\), z\.csv" {2}\[maxUnindexedFiles\]$/);
    // Every breach line names its set bare only when the name holds none of a line's marks.
    for (const l of breaches) expect(l).toMatch(/^ {2}(dataset|\*\/\*|"[^"]+"): /);
    expect(c.stdout).toContain('\n  added     "other (row 2), z.csv"  (looks like data)\n');
    expect(c.stdout).toContain('\n  added     "train.csv: 3 labels flipped (cat → dog)"\n');
    expect(c.stdout).toContain('\n      + "x: cat → dog"  (row 3) [a]\n');
    expect(c.stdout).toContain('\n      + "k\\n  (row 9) [b]"  (row 4) [a]\n');
    expect(c.stdout).toContain('\n      + evil\\u202egnp  (row 5) [a]\n');
    const j = await json(args);
    expect(j.code).toBe(1);
    const rules = (rule: string) => j.json.breaches.filter((b: { rule: string }) => b.rule === rule);
    expect(rules('maxLabelChanges')).toEqual([expect.objectContaining({ set: table, message: 'labels changed on existing records: 1 (at most 0)' })]);
    expect(rules('links')).toEqual([expect.objectContaining({ set: '*/*', value: ['ham/l (row 3), m.txt'] })]);
    expect(rules('links')[0].message).toMatch(/: ham\/l \(row 3\), m\.txt$/);
    expect(rules('maxUnindexedFiles')[0].message).toMatch(/: other \(row 2\), z\.csv$/);
    expect(j.json.unindexedFiles.map((f: { path: string }) => f.path)).toEqual(['other (row 2), z.csv', 'train.csv: 3 labels flipped (cat → dog)']);
    const added = j.json.records.sets.find((s: { name: string }) => s.name === table).added.map((r: { key: unknown }) => r.key);
    expect(added).toHaveLength(3);
    expect(added).toEqual(expect.arrayContaining([['x: cat → dog'], ['k\n  (row 9) [b]'], ['evil\u202egnp']]));
  });
});

describe('every other command prints outside text escaped', () => {
  it('list, show, export, verify of an archive, import, restore and keygen, with folder names holding ESC, CR, LF, U+202E and a C1 control', async () => {
    const work = await tempDir();
    await fsp.mkdir(join(work, WEIRD));
    const store = join(work, WEIRD, 'store');
    await sealed({ 'a.csv': 'a', [BIDI]: 'b' }, store, ['--exclude', `\x1b[2K${WEIRD}`]);

    const l = await human(['list', '--store', store]);
    expect(l.code).toBe(0);
    const lj = await json(['list', '--store', store]);
    expect(lj.json.store).toBe(store); // --json stays exact

    const sh = await human(['show', 'ds@v1', '--store', store]);
    expect(sh.code).toBe(0);
    expect(sh.stdout).toContain(shown(`\x1b[2K${WEIRD}`)); // the recorded exclude pattern

    const archive = join(work, WEIRD, 'ds@v1.snap.tar');
    const e = await human(['export', 'ds@v1', '-o', archive, '--store', store]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toContain(shown(archive));

    const va = await human(['verify', archive, '--pubkey', keys.pub]);
    expect(va.code).toBe(0);
    expect(va.stdout).toContain(shown(archive));

    const store2 = join(work, WEIRD, 'store2');
    const im = await human(['import', archive, '--pubkey', keys.pub, '--store', store2]);
    expect(im.code, im.stderr).toBe(0);
    expect(im.stdout).toContain(shown(store2));

    const target = join(work, WEIRD, `restored${WEIRD}`);
    const re = await human(['restore', 'ds@v1', target, '--pubkey', keys.pub, '--store', store]);
    expect(re.code, re.stderr).toBe(0);
    expect(re.stdout).toContain(shown(target));

    const outDir = join(work, WEIRD, 'keys');
    await fsp.mkdir(outDir);
    const k = await human(['keygen', 'k', '--out-dir', outDir]);
    expect(k.code).toBe(0);
    expect(k.stderr).toContain(shown(outDir));
  });

  it('fsck names a missing object by its snapshot path, and a stray file, escaped', async () => {
    const { store } = await sealed({ 'a.csv': 'a', [BIDI]: 'bidi content' });
    const obj = (await objectFiles(store)).find((o) => o.name === sha256('bidi content'));
    await fsp.rm(obj?.path as string);
    await fsp.writeFile(join(store, 'objects', SPOOF), 'stray');
    const r = await human(['fsck', '--store', store]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(shown(BIDI));
    expect(r.stdout).toContain(shown(SPOOF));
  });

  it('log shows the fields of an unsigned log line escaped, and log --verify reports it without printing it raw', async () => {
    const { store } = await sealed({ 'a.csv': 'a' });
    const logFile = join(store, 'log.jsonl');
    const text = await fsp.readFile(logFile, 'utf8');
    const last = text.trimEnd().split('\n').pop() as string;
    const prev = JSON.parse(last);
    // Chained to nothing (a wrong prev): log shows it, log --verify finds it.
    const forged = { ...prev, seq: prev.seq + 1, prev: createHash('sha256').update('not the last line').digest('hex'), host: `h${WEIRD}`, user: SPOOF, ref: `ds@${WEIRD}`, command: `seal${WEIRD}`, time: `t${WEIRD}` };
    await fsp.appendFile(logFile, canonicalJson(forged) + '\n');
    const r = await human(['log', '--store', store]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(shown(`ds@${WEIRD}`));
    expect(r.stdout).toContain(shown(`${SPOOF}@h${WEIRD}`));
    const v = await human(['log', '--verify', '--store', store]);
    expect(v.code).toBe(1);
  });

  it('an error naming a path (NOT_FOUND, exit 3) and a usage error (exit 2) are printed escaped', async () => {
    const { store } = await sealed({ 'a.csv': 'a' });
    const missing = join(await tempDir(), `nope${WEIRD}`);
    const r = await human(['verify', missing, '--against', 'ds@v1', '--pubkey', keys.pub, '--store', store]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(shown(missing));
    const u = await human(['list', `--x${WEIRD}`]);
    expect(u.code).toBe(2);
    const c = await human([`seal${WEIRD}`]);
    expect(c.code).toBe(2);
  });
});
