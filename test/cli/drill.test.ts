/**
 * `snap drill` end to end (issue 10, docs/FORMAT.md §20): on the bundled examples the gate catches
 * every default attack and the drill exits 0; with record checks off, or on a snapshot sealed
 * without record rules, it exits 1 and names each record-level miss as not configured, with the
 * rule that would catch it; one seed gives the same JSON byte for byte; the dataset and the store
 * are never written (nothing is logged), also when the drill is stopped at a random moment, and
 * the private scratch folder is always removed; malformed arguments are usage errors (exit 2).
 */
import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { copyTree, EXAMPLE, REPO, shareWithEveryone, snap, snapBin, snapJson, spawnSnap, tempDir, unprivileged, useKeyPair, makeTree, heapLimit } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';
import { ATTACK_KINDS, RECORD_KINDS } from '../../src/drill/kinds.js';
import { unsafeIn } from '../helpers/terminal.js';
import type { DrillReport } from '../../src/drill/report.js';
import { RecordIndexPool } from '../../src/records/index-pool.js';

const keys = useKeyPair();
const TABULAR = join(REPO, 'examples', 'tabular');
const SLOW = 180_000;

/** Every entry under `root`: type, mode, size, mtime, and content digest or link target — a byte-for-byte picture. */
async function picture(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const abs = join(root, rel);
    const st = await fsp.lstat(abs);
    const head = `${rel || '.'} mode=${st.mode.toString(8)} mtime=${st.mtimeMs}`;
    if (st.isSymbolicLink()) out.push(`${head} -> ${await fsp.readlink(abs)}`);
    else if (st.isFile()) out.push(`${head} size=${st.size} sha256=${createHash('sha256').update(await fsp.readFile(abs)).digest('hex')}`);
    else if (st.isDirectory()) {
      out.push(`${head} dir`);
      for (const n of (await fsp.readdir(abs)).sort()) await walk(rel ? `${rel}/${n}` : n);
    } else out.push(`${head} other`);
  };
  await walk('');
  return out;
}

async function sealed(src: string, as: string, extra: string[] = []): Promise<{ data: string; store: string }> {
  const data = await copyTree(src);
  const store = await newStorePath();
  const r = await snap(['seal', data, '--as', as, '--key', keys.key, '--store', store, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return { data, store };
}

/** Run a drill in this process: its scratch folder goes to this process's os.tmpdir() (the TMPDIR in env does not move it). */
async function runDrill(data: string, store: string, ref: string, extra: string[] = []) {
  return snapJson<DrillReport>(['drill', data, '--against', ref, '--pubkey', keys.pub, '--store', store, ...extra], { env: { TMPDIR: await tempDir('snap-drill-tmp-') } });
}

describe('snap drill on the bundled examples', () => {
  it('catches every default attack on spamassassin-mini (label = folder) and exits 0, writing nothing', async () => {
    const { data, store } = await sealed(EXAMPLE, 'mini@v1');
    const before = { data: await picture(data), store: await picture(store) };
    const r = await runDrill(data, store, 'mini@v1');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.json.verdict).toBe('pass');
    const kinds = r.json.planted.map((p) => p.kind);
    expect(kinds).toEqual(expect.arrayContaining(['label-folder-move', 'byte-flip-keep-size-mtime', 'truncate', 'symlink-to-copy', 'file-inject', 'lookalike-name', 'crlf', 'trailing-whitespace']));
    expect(r.json.planted.every((p) => p.caught && p.by.length > 0)).toBe(true);
    // No record files: record attacks are not applicable, not misses.
    expect(r.json.notApplicable.map((n) => n.kind).sort()).toEqual([...RECORD_KINDS].sort());
    const look = r.json.planted.find((p) => p.kind === 'lookalike-name');
    expect(look?.path).toMatch(/[\u0400-\u04ff]/);
    expect(await picture(data)).toEqual(before.data);
    expect(await picture(store)).toEqual(before.store);
  }, SLOW);

  it('catches every default attack on examples/tabular (record files) by naming each record, and exits 0', async () => {
    const { data, store } = await sealed(TABULAR, 'tab@v1');
    const before = { data: await picture(data), store: await picture(store) };
    const r = await runDrill(data, store, 'tab@v1');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.json.verdict).toBe('pass');
    for (const kind of RECORD_KINDS) {
      const p = r.json.planted.find((x) => x.kind === kind);
      expect(p?.caught, kind).toBe(true);
      expect(p?.by.some((b) => b.startsWith('records:')), `${kind}: ${p?.by.join(',')}`).toBe(true);
    }
    expect(r.json.summary.every((s) => s.caught === s.planted && s.missed === 0)).toBe(true);
    expect(r.json.notApplicable.map((n) => n.kind)).toEqual(['label-folder-move']);
    expect(await picture(data)).toEqual(before.data);
    expect(await picture(store)).toEqual(before.store);
  }, SLOW);
});

describe('snap drill on label folders', () => {
  it('with a files record set, a label-folder move is also named by the record check', async () => {
    const data = await copyTree(EXAMPLE);
    await fsp.writeFile(join(data, 'snap.json'), '{"records":[{"pattern":"*/*","format":"files","labelSegment":0}]}\n');
    const store = await newStorePath();
    expect((await snap(['seal', data, '--as', 'lf@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const r = await runDrill(data, store, 'lf@v1', ['--attacks', 'label-folder-move,file-inject']);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.planted.find((p) => p.kind === 'label-folder-move')?.by).toEqual(['records:label-folder', 'verify:extra', 'verify:missing', 'verify:moved']);
  }, SLOW);

  it('leaves out a store inside DIR, and escapes DIR in human output', async () => {
    const parent = await tempDir();
    const data = join(parent, 'odd\u001b[31mname\u202e');
    await fsp.cp(EXAMPLE, data, { recursive: true });
    const store = join(data, '.snap');
    expect((await snap(['seal', data, '--as', 'odd@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const before = await picture(data);
    const r = await snap(['drill', data, '--against', 'odd@v1', '--pubkey', keys.pub, '--store', store, '--attacks', 'file-inject,truncate']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(unsafeIn(r.stdout, { lines: true })).toBeUndefined();
    expect(r.stdout).toContain('\\x1b[31m');
    expect(await picture(data)).toEqual(before);
  }, SLOW);
});

describe('snap drill with record checks off', () => {
  it('--no-records: exits 1 naming every record-level miss as not configured', async () => {
    const { data, store } = await sealed(TABULAR, 'tab@v1');
    const r = await runDrill(data, store, 'tab@v1', ['--no-records', '--attacks', 'record-label-flip,record-delete,crlf']);
    expect(r.code).toBe(1);
    expect(r.json.verdict).toBe('fail');
    const misses = r.json.planted.filter((p) => !p.caught);
    expect(misses.map((p) => p.kind).sort()).toEqual(['record-delete', 'record-label-flip']);
    for (const m of misses) {
      expect(m.notConfigured).toBe(true);
      expect(m.reason).toMatch(/--no-records/);
    }
    expect(r.json.planted.find((p) => p.kind === 'crlf')?.caught).toBe(true);
    const human = await snap(['drill', data, '--against', 'tab@v1', '--pubkey', keys.pub, '--store', store, '--no-records', '--attacks', 'record-label-flip']);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/MISS\s+p1 record-label-flip/);
  }, SLOW);

  it('a snapshot sealed --no-records though its snap.json has the rules: exits 1, and says to seal again without --no-records (not to add a rule that is there)', async () => {
    const { data, store } = await sealed(TABULAR, 'bare@v1', ['--no-records']);
    const r = await runDrill(data, store, 'bare@v1');
    expect(r.code).toBe(1);
    const misses = r.json.planted.filter((p) => !p.caught);
    expect(misses.map((p) => p.kind).sort()).toEqual([...RECORD_KINDS].sort());
    for (const m of misses) {
      expect(m.notConfigured).toBe(true);
      expect(m.reason).toContain(`${m.path} has no signed record index, though the snapshot's snap.json has a rule for it`);
      expect(m.reason).toMatch(/seal again without --no-records/);
    }
    expect(r.json.summary.filter((s) => RECORD_KINDS.has(s.kind)).every((s) => s.notConfigured === 1 && s.caught === 0)).toBe(true);
  }, SLOW);

  it('a snapshot without record rules: exits 1, and says which snap.json rule would catch each miss', async () => {
    const { data, store } = await sealed(TABULAR, 'norules@v1');
    await fsp.rm(join(data, 'snap.json'));
    const again = await snap(['seal', data, '--as', 'norules@v2', '--key', keys.key, '--store', store]);
    expect(again.code, again.stderr).toBe(0);
    const r = await runDrill(data, store, 'norules@v2', ['--attacks', 'record-label-flip']);
    expect(r.code).toBe(1);
    const misses = r.json.planted.filter((p) => !p.caught);
    expect(misses.length).toBeGreaterThan(0);
    for (const m of misses) {
      expect(m.notConfigured).toBe(true);
      expect(m.reason).toMatch(/"records" in snap\.json/);
      expect(m.reason).toContain(`"pattern":"${m.path}"`);
    }
  }, SLOW);
});

describe('the seal command a drill suggests', () => {
  it('quotes the record file name for the shell: a file named x\'$(id>PWNED)\'.csv runs nothing when the suggestion is pasted', async () => {
    const name = `x'$(id>PWNED)'.csv`;
    const data = await makeTree({ [name]: 'id,label\n1,a\n2,b\n' });
    const store = await newStorePath();
    expect((await snap(['seal', data, '--as', 'q@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const r = await runDrill(data, store, 'q@v1', ['--attacks', 'record-label-flip']);
    expect(r.code).toBe(1);
    const reason = r.json.planted[0]?.reason ?? '';
    const flag = /seal with (--records .*)\) and seal again$/.exec(reason)?.[1];
    expect(flag, reason).toBeDefined();
    const cwd = await tempDir();
    const sh = spawnSync('bash', ['-c', `printf '%s\\0' ${flag}`], { cwd, encoding: 'utf8' });
    expect(sh.stdout.split('\0').slice(0, -1), flag).toEqual(['--records', `${name} key=id label=label`]);
    expect(await fsp.readdir(cwd)).toEqual([]); // nothing ran
  }, SLOW);

  it('offers no --records form when the rule cannot be written in it (a space in the file name): only the snap.json rule', async () => {
    const data = await makeTree({ 'my data.csv': 'id,label\n1,a\n2,b\n' });
    const store = await newStorePath();
    expect((await snap(['seal', data, '--as', 'sp@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const r = await runDrill(data, store, 'sp@v1', ['--attacks', 'record-label-flip']);
    const reason = r.json.planted[0]?.reason ?? '';
    expect(reason).toContain('"pattern":"my data.csv"');
    expect(reason).not.toContain('--records');
  }, SLOW);
});

describe('docs/FORMAT.md §21.6 worked example', () => {
  it('prints, and gives as --json planted, what the section shows for seed 7 (the snapshot id aside: it depends on the time of the seal)', async () => {
    const doc = await fsp.readFile(join(REPO, 'docs', 'FORMAT.md'), 'utf8');
    const text = doc.slice(doc.indexOf('### 21.6 Worked example'), doc.indexOf('\n## 22.'));
    const blocks = [...text.matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1] as string);
    expect(blocks).toHaveLength(3);
    // The dataset of the section (the two e-mails' bytes are not shown: any will do).
    const rule = { pattern: 'train.csv', key: ['id'], label: 'label' };
    expect(text).toContain('the rule `{ "pattern": "train.csv", "key": ["id"], "label": "label" }`');
    const rows = [...text.matchAll(/`(\d+,[a-z ]+,(?:spam|ham))`/g)].map((m) => m[1]);
    expect(rows).toHaveLength(3);
    const data = await makeTree({ 'ham/1.txt': 'hello\n', 'spam/2.txt': 'win\n', 'train.csv': `id,text,label\n${rows.join('\n')}\n`, 'snap.json': JSON.stringify({ records: [rule] }) });
    const store = await newStorePath();
    expect((await snap(['seal', data, '--as', 'mail@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const drill = (extra: string[]) => ['drill', data, '--against', 'mail@v1', '--pubkey', keys.pub, '--store', store, '--seed', '7', ...extra];
    const attacks = ['--attacks', 'label-folder-move,record-label-flip,record-duplicate-conflict,lookalike-name'];
    const id = /\(sha256:[0-9a-f]{12}\)/;

    const [shown, planted, missed] = blocks as [string, string, string];
    const human = await snap(drill(attacks));
    expect(human.code).toBe(0);
    expect(human.stdout.replace(data, 'data').replace(id, '(sha256:…)')).toBe(shown.split('\n').slice(2).join('\n').replace(id, '(sha256:…)'));
    const j = await runDrill(data, store, 'mail@v1', ['--seed', '7', ...attacks]);
    expect(j.json.planted).toEqual(JSON.parse(`[${planted.trim().replace(/\}\n\{/g, '},{')}]`));
    const off = await snap(drill(['--attacks', 'record-label-flip,crlf', '--no-records']));
    expect(off.code).toBe(1);
    expect(off.stdout.trimEnd().split('\n').slice(-3)).toEqual(missed.trimEnd().split('\n').slice(-3));
  }, SLOW);
});

describe('snap drill is deterministic', () => {
  it('gives byte-identical --json for one seed, and plants other changes for another', async () => {
    const { data, store } = await sealed(TABULAR, 'tab@v1');
    const args = ['--seed', '42', '--attacks', 'record-label-flip,feature-nudge,lookalike-name,symlink-to-copy'];
    const a = await runDrill(data, store, 'tab@v1', args);
    const b = await runDrill(data, store, 'tab@v1', args);
    expect(a.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    expect(a.stdout).not.toMatch(/snap-drill-/); // no path of the scratch copy (its name begins snap-drill-)
    const c = await runDrill(data, store, 'tab@v1', ['--seed', '43', ...args.slice(2)]);
    expect(c.json.planted.map((p) => p.detail)).not.toEqual(a.json.planted.map((p) => p.detail));
    expect(a.json).toMatchObject({ drill: 1, dataset: data, against: { ref: 'tab@v1' }, seed: 42, attacks: ['record-label-flip', 'feature-nudge', 'symlink-to-copy', 'lookalike-name'] });
  }, SLOW);
});

describe('snap drill leaves nothing behind', () => {
  it('stopped at random moments (SIGINT, SIGTERM): the dataset and the store are byte-identical and the scratch folder is gone', async () => {
    const { data, store } = await sealed(TABULAR, 'tab@v1');
    const before = { data: await picture(data), store: await picture(store) };
    let seed = 7;
    let stopped = 0;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    // How long a whole drill takes here, so that the moments fall while one works.
    const t0 = Date.now();
    expect((await spawnSnap(['drill', data, '--against', 'tab@v1', '--pubkey', keys.pub, '--store', store], { env: { TMPDIR: await tempDir('snap-drill-tmp-') }, timeoutMs: 120_000 }).done).code).toBe(0);
    const whole = Date.now() - t0;
    // Three runs, and more (up to nine) until one was stopped before it finished: on a loaded machine a
    // drill's length varies from run to run.
    const signals = ['SIGINT', 'SIGTERM', 'SIGINT'] as const;
    for (let i = 0; i < 9 && (i < 3 || stopped === 0); i++) {
      const signal = signals[i % 3] as (typeof signals)[number];
      const tmp = await tempDir('snap-drill-tmp-');
      const { child, done } = spawnSnap(['drill', data, '--against', 'tab@v1', '--pubkey', keys.pub, '--store', store], { env: { TMPDIR: tmp }, timeoutMs: 120_000 });
      // A random moment once the scratch folder exists (the drill is under way).
      const started = Date.now();
      while (child.exitCode === null && (await fsp.readdir(tmp)).length === 0 && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, Math.floor(rand() * Math.min(3000, whole * 0.8))));
      child.kill(signal);
      const r = await done;
      // Killed by the signal itself (no exit code) happens only when it lands while Node is already
      // tearing the finished process down, its handlers gone: the drill had finished (the checks below
      // still apply). Before that, the handlers make it exit 130 / 143 after cleaning up.
      const killedWhileExiting = r.code === -1 && r.signal === signal;
      expect(killedWhileExiting || [0, signal === 'SIGINT' ? 130 : 143].includes(r.code), `exit ${r.code} (${r.signal}): ${r.stderr}`).toBe(true);
      if (r.code !== 0 && !killedWhileExiting) stopped++;
      expect(await fsp.readdir(tmp), `${signal}: scratch left in TMPDIR`).toEqual([]);
      expect(await picture(data)).toEqual(before.data);
      expect(await picture(store)).toEqual(before.store);
    }
    expect(stopped, 'no run was stopped before it finished: the test proved nothing').toBeGreaterThan(0);
  }, 400_000);
  it('on a dataset with a read-only folder and read-only files, run by a user file permissions apply to: works on its copy (exit 0), leaves DIR as it was, and removes its scratch folder', async () => {
    const { data, store } = await sealed(EXAMPLE, 'mini@v1');
    const tmp = await tempDir('snap-drill-tmp-');
    for (const p of [data, join(store, '..'), keys.dir]) await shareWithEveryone(p);
    await fsp.chmod(keys.key, 0o600);
    await fsp.chmod(tmp, 0o777);
    for (const f of await fsp.readdir(join(data, 'ham'))) await fsp.chmod(join(data, 'ham', f), 0o444);
    await fsp.chmod(join(data, 'ham'), 0o555);
    const before = await picture(data);
    const r = await snapBin(['drill', data, '--against', 'mini@v1', '--pubkey', keys.pub, '--store', store, '--json'], { ...unprivileged(), env: { TMPDIR: tmp } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).verdict).toBe('pass');
    expect(await picture(data)).toEqual(before);
    expect(await fsp.readdir(tmp)).toEqual([]);
    await fsp.chmod(join(data, 'ham'), 0o755); // so that the test's own clean-up can remove it
  }, SLOW);
});

describe('snap drill writes only in its private copy', () => {
  /** {@link picture} with each entry's inode: a file written and put back is no longer the same file. */
  async function pictureWithInodes(root: string): Promise<string[]> {
    const lines = await picture(root);
    return Promise.all(lines.map(async (l) => `${l} ino=${(await fsp.lstat(join(root, l.slice(0, l.indexOf(' ')) === '.' ? '' : l.slice(0, l.indexOf(' '))))).ino}`));
  }

  it('given DIR as a symbolic link to the dataset folder: drills a copy of the folder, never the folder itself (its files are the same files after, untouched)', async () => {
    const { data, store } = await sealed(TABULAR, 'tab@v1');
    const link = join(await tempDir(), 'data-link');
    await fsp.symlink(data, link);
    const before = await pictureWithInodes(data);
    const r = await runDrill(link, store, 'tab@v1', ['--attacks', 'truncate,file-inject,crlf,record-label-flip']);
    expect(r.code, r.stderr).toBe(0);
    expect(await pictureWithInodes(data)).toEqual(before);
  }, SLOW);

  it('never moves a file through a symbolic link of the dataset: a look-alike folder name that is a link to a folder outside is not a folder to plant in (the file\'s own name gets the look-alike)', async () => {
    const outside = await makeTree({ 'a.txt': 'the file outside the dataset\n' });
    const data = await makeTree({ 'spam/a.txt': 'planted by whoever can write the dataset\n' });
    await fsp.symlink(outside, join(data, '\u0455pam')); // "spam" with a Cyrillic s, as the look-alike attack names it
    const store = await newStorePath();
    expect((await snap(['seal', data, '--as', 'lk@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const before = await pictureWithInodes(outside);
    for (const seed of ['1', '2', '3']) {
      const r = await runDrill(data, store, 'lk@v1', ['--attacks', 'lookalike-name', '--seed', seed]);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      // The look-alike goes into the file's own name instead: spam/\u0430.txt.
      expect(r.json.planted.map((p) => [p.path, p.caught])).toEqual([['spam/\u0430.txt', true]]);
    }
    expect(await pictureWithInodes(outside)).toEqual(before);
  }, SLOW);

  it('a link to a folder outside that the snapshot leaves out (--exclude), named as the look-alike folder: the drill stops (IO_ERROR, exit 3) and writes nothing through it', async () => {
    const outside = await makeTree({ 'a.txt': 'the file outside the dataset\n' });
    const data = await makeTree({ 'spam/a.txt': 'planted by whoever can write the dataset\n' });
    await fsp.symlink(outside, join(data, '\u0455pam'));
    const store = await newStorePath();
    expect((await snap(['seal', data, '--as', 'lx@v1', '--key', keys.key, '--store', store, '--exclude', '\u0455pam'])).code).toBe(0);
    const before = await pictureWithInodes(outside);
    const r = await runDrill(data, store, 'lx@v1', ['--attacks', 'lookalike-name']);
    expect(r.code, r.stderr + r.stdout).toBe(3);
    expect((r.json as unknown as { error: { code: string; message: string } }).error.code).toBe('IO_ERROR');
    expect(r.stderr).toMatch(/symbolic link/);
    expect(await pictureWithInodes(outside)).toEqual(before);
  }, SLOW);
});

describe('snap drill keeps its memory to a few times the record file', () => {
  it('plans record attacks on a 4 MiB CSV of 450,000 short records in a 64 MiB heap: no out-of-memory crash, both caught, nothing left in TMPDIR', async () => {
    const data = await tempDir('snap-drill-rows-');
    const rows = Array.from({ length: 450_000 }, (_, i) => `${i},${i % 2 ? 'spam' : 'ham'}\n`);
    await fsp.writeFile(join(data, 'train.csv'), `id,label\n${rows.join('')}`);
    const store = await newStorePath();
    expect((await snap(['seal', data, '--as', 'rows@v1', '--key', keys.key, '--store', store, '--records', 'train.csv key=id label=label'])).code).toBe(0);
    const tmp = await tempDir('snap-drill-tmp-');
    const r = await snapBin(['drill', data, '--against', 'rows@v1', '--pubkey', keys.pub, '--store', store, '--attacks', 'record-label-flip,record-delete', '--json'], {
      env: { NODE_OPTIONS: heapLimit(64), TMPDIR: tmp },
      timeoutMs: SLOW,
    });
    expect(r.code, r.stderr.slice(0, 400)).toBe(0);
    const report = JSON.parse(r.stdout) as DrillReport;
    expect(report.planted.map((p) => [p.kind, p.caught])).toEqual([['record-label-flip', true], ['record-delete', true]]);
    expect(await fsp.readdir(tmp)).toEqual([]);
  }, SLOW);
});

describe('snap drill indexes each planted record file once a round', () => {
  it("builds one index of a planted record file per round (the record diff's), none in verify, whose record findings the drill never reads; the report is unchanged in what it catches", async () => {
    const { data, store } = await sealed(TABULAR, 'once@v1');
    const builds = vi.spyOn(RecordIndexPool.prototype, 'index');
    try {
      const r = await runDrill(data, store, 'once@v1', ['--attacks', 'record-label-flip,record-delete,crlf,truncate']);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      // The record diff indexes each record file planted in a record round, once; file rounds index nothing.
      const planted = new Set(r.json.planted.filter((p) => RECORD_KINDS.has(p.kind as never)).map((p) => `${p.round} ${p.path}`));
      expect(planted.size).toBeGreaterThan(0);
      const rel = builds.mock.calls.map(([o]) => o.rel);
      expect(rel.length).toBe(planted.size);
      expect(new Set(rel)).toEqual(new Set([...planted].map((x) => x.slice(x.indexOf(' ') + 1))));
    } finally {
      builds.mockRestore();
    }
  }, SLOW);
});

describe("snap drill judges record attacks with the signed snapshot's own check thresholds", () => {
  /** examples/tabular with its snap.json `check` member replaced, sealed as `as`. */
  async function sealedWithCheck(as: string, check: Record<string, unknown>) {
    const data = await copyTree(TABULAR);
    const config = JSON.parse(await fsp.readFile(join(data, 'snap.json'), 'utf8'));
    await fsp.writeFile(join(data, 'snap.json'), JSON.stringify({ ...config, check }));
    const store = await newStorePath();
    const r = await snap(['seal', data, '--as', as, '--key', keys.key, '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    return { data, store };
  }
  const byOf = (r: { json: DrillReport }, kind: string) => r.json.planted.find((p) => p.kind === kind)?.by ?? [];

  it('a snapshot that allows label changes: a flip is named by the record diff, not by check', async () => {
    const { data, store } = await sealedWithCheck('lax@v1', { maxLabelChanges: 1000000, maxShift: 1 });
    const r = await runDrill(data, store, 'lax@v1', ['--attacks', 'record-label-flip']);
    expect(r.code, r.stdout).toBe(0);
    expect(byOf(r, 'record-label-flip')).toContain('records:flipped');
    expect(byOf(r, 'record-label-flip')).not.toContain('check:maxLabelChanges');
  }, SLOW);

  it("a snapshot that allows label changes, its snap.json object deleted or replaced in the store: still judged by the signed thresholds (read from the verified copy), not check's defaults", async () => {
    const { data, store } = await sealedWithCheck('lax2@v1', { maxLabelChanges: 1000000, maxShift: 1 });
    const hex = createHash('sha256').update(await fsp.readFile(join(data, 'snap.json'))).digest('hex');
    const object = join(store, 'objects', 'sha256', hex.slice(0, 2), hex.slice(2));
    await fsp.rm(object);
    const gone = await runDrill(data, store, 'lax2@v1', ['--attacks', 'record-label-flip']);
    expect(gone.code, gone.stdout).toBe(0);
    expect(byOf(gone, 'record-label-flip')).toContain('records:flipped');
    expect(byOf(gone, 'record-label-flip')).not.toContain('check:maxLabelChanges');
    await fsp.writeFile(object, JSON.stringify({ check: { maxLabelChanges: 0 } }));
    const replaced = await runDrill(data, store, 'lax2@v1', ['--attacks', 'record-label-flip']);
    expect(replaced.code, replaced.stdout).toBe(0);
    expect(byOf(replaced, 'record-label-flip')).not.toContain('check:maxLabelChanges');
  }, SLOW);

  it('the defaults: the same flip breaches check:maxLabelChanges', async () => {
    const { data, store } = await sealedWithCheck('dflt@v1', {});
    const r = await runDrill(data, store, 'dflt@v1', ['--attacks', 'record-label-flip']);
    expect(r.code, r.stdout).toBe(0);
    expect(byOf(r, 'record-label-flip')).toEqual(expect.arrayContaining(['records:flipped', 'check:maxLabelChanges']));
  }, SLOW);

  it('a snapshot that allows no added records: an injection breaches check:maxAddedShare', async () => {
    const { data, store } = await sealedWithCheck('strict@v1', { maxAddedShare: 0 });
    const r = await runDrill(data, store, 'strict@v1', ['--attacks', 'record-inject']);
    expect(r.code, r.stdout).toBe(0);
    expect(byOf(r, 'record-inject')).toContain('check:maxAddedShare');
    const d = await sealedWithCheck('dflt2@v1', {});
    const rd = await runDrill(d.data, d.store, 'dflt2@v1', ['--attacks', 'record-inject']);
    expect(byOf(rd, 'record-inject')).not.toContain('check:maxAddedShare');
  }, SLOW);
});

describe('snap drill usage', () => {
  it('refuses bad --attacks, bad --seed and a missing --against with exit 2', async () => {
    const data = await makeTree({ 'a.txt': 'a\n' });
    const store = await newStorePath();
    const base = ['drill', data, '--pubkey', keys.pub, '--store', store];
    for (const extra of [['--attacks', 'nope'], ['--attacks', 'crlf,,truncate'], ['--attacks', 'crlf,crlf'], ['--seed', '-1'], ['--seed', 'abc'], ['--seed', '1.5'], ['--seed', '1e3'], ['--seed', '1', '--seed', '2'], []]) {
      const args = extra.length === 0 ? base : [...base, '--against', 'x@v1', ...extra];
      const r = await snap(args);
      expect(r.code, `${extra.join(' ')}: ${r.stderr}`).toBe(2);
    }
  });

  it('exits 1 when DIR does not pass verify before anything is planted, and 3 when the ref is unknown', async () => {
    const { data, store } = await sealed(EXAMPLE, 'mini@v1');
    await fsp.writeFile(join(data, 'ham', 'extra.txt'), 'x');
    const r = await snap(['drill', data, '--against', 'mini@v1', '--pubkey', keys.pub, '--store', store]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/before any change was planted/);
    const u = await snap(['drill', data, '--against', 'nope@v9', '--pubkey', keys.pub, '--store', store]);
    expect(u.code).toBe(3);
  }, SLOW);

  it('exits 1 when DIR holds a FIFO or a name that is not UTF-8, which verify names as extra (the copy leaves them out, and passed), and drills when the snapshot excludes them', async () => {
    const { data, store } = await sealed(EXAMPLE, 'fifo@v1');
    spawnSync('mkfifo', [join(data, 'spam', 'pipe')]);
    expect((await fsp.lstat(join(data, 'spam', 'pipe'))).isFIFO()).toBe(true);
    expect((await snap(['verify', data, '--against', 'fifo@v1', '--pubkey', keys.pub, '--store', store])).code).toBe(1);
    const r = await runDrill(data, store, 'fifo@v1');
    expect(r.code, r.stdout).toBe(1);
    expect((r.json as unknown as { error: unknown }).error).toMatchObject({ code: 'INTEGRITY_FAILURE', message: expect.stringContaining('before any change was planted (extra: spam/pipe, a FIFO (named pipe); verify names it') });
    // So is a name that is not UTF-8 (left out of the copy too).
    await fsp.rm(join(data, 'spam', 'pipe'));
    await fsp.writeFile(Buffer.concat([Buffer.from(join(data, 'ham', 'bad')), Buffer.from([0xff])]), 'x');
    const n = await runDrill(data, store, 'fifo@v1');
    expect(n.code, n.stdout).toBe(1);
    expect((n.json as unknown as { error: { message: string } }).error.message).toContain('(extra: ham/bad\\xff: its name is not valid UTF-8');
    await fsp.rm(Buffer.concat([Buffer.from(join(data, 'ham', 'bad')), Buffer.from([0xff])]));
    spawnSync('mkfifo', [join(data, 'spam', 'pipe')]);
    expect((await snap(['seal', data, '--as', 'fifo@v2', '--exclude', 'spam/pipe', '--key', keys.key, '--store', store])).code).toBe(0);
    const x = await runDrill(data, store, 'fifo@v2', ['--attacks', 'truncate']);
    expect(x.code, x.stderr).toBe(0);
  }, SLOW);

  it('plants no name longer than a file name can be (255 bytes): a look-alike or injected name that would not fit is not planted, and the drill never stops with INTERNAL', async () => {
    const long = 'a'.repeat(255); // a look-alike letter takes 2 bytes: 256
    const dotted = `x.${'b'.repeat(253)}`; // injected-1 + this extension: 264
    const data = await makeTree({ [long]: 'one\n', [dotted]: 'two\n' });
    const store = await newStorePath();
    expect((await snap(['seal', data, '--as', 'long@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    for (const seed of ['1', '2', '3']) {
      const r = await runDrill(data, store, 'long@v1', ['--attacks', 'lookalike-name,file-inject', '--seed', seed]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.notApplicable.map((n) => n.kind)).toEqual(['lookalike-name']);
      const inject = r.json.planted.find((p) => p.kind === 'file-inject');
      expect(inject?.caught).toBe(true);
      for (const seg of (inject?.path ?? '').split('/')) expect(Buffer.byteLength(seg)).toBeLessThanOrEqual(255);
    }
  }, SLOW);

  it('a file system error in its private copy (a path too long there, though not where the dataset lies) is IO_ERROR, exit 3, not INTERNAL', async () => {
    const data = await tempDir();
    // Names of 250 bytes down to a file whose absolute path is 4094 bytes: seal can read it, but
    // the private copy under a longer TMPDIR cannot hold it.
    const room = 4094 - Buffer.byteLength(data) - 1;
    const segs: string[] = [];
    let used = 0;
    while (room - used > 251 + 20) {
      segs.push('d'.repeat(250));
      used += 251;
    }
    segs.push('f'.repeat(room - used));
    await fsp.mkdir(join(data, ...segs.slice(0, -1)), { recursive: true });
    await fsp.writeFile(join(data, ...segs), 'x');
    const store = await newStorePath();
    const s = await snap(['seal', data, '--as', 'deep@v1', '--key', keys.key, '--store', store]);
    expect(s.code, s.stderr).toBe(0);
    const r = await runDrill(data, store, 'deep@v1');
    expect(r.code, r.stderr).toBe(3);
    expect((r.json as unknown as { error: { code: string } }).error.code).toBe('IO_ERROR');
    expect(r.stderr).toMatch(/ENAMETOOLONG/);
  }, SLOW);

  it('drills a dataset that verifies with a name that is not UTF-8 left out by --exclude (the name is not copied; exit 0)', async () => {
    const data = await makeTree({ 'ham/a.txt': 'hello\n', 'spam/b.txt': 'buy now\n' });
    await fsp.writeFile(Buffer.concat([Buffer.from(`${data}/`), Buffer.from('626164ff2e747874', 'hex')]), 'x'); // bad\xff.txt
    const store = await newStorePath();
    expect((await snap(['seal', data, '--as', 'nu@v1', '--key', keys.key, '--store', store, '--exclude', 'bad*'])).code).toBe(0);
    expect((await snap(['verify', data, '--against', 'nu@v1', '--pubkey', keys.pub, '--store', store])).code).toBe(0);
    const r = await runDrill(data, store, 'nu@v1', ['--attacks', 'truncate,file-inject']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.verdict).toBe('pass');
  }, SLOW);

  it('plants a file where the copy holds a folder the snapshot leaves out (--exclude injected-*): no INTERNAL; the miss is reported, since verify does not look there', async () => {
    const data = await makeTree({ 'a.txt': 'hi\n', 'injected-1.txt/f': 'left out\n' });
    const store = await newStorePath();
    expect((await snap(['seal', data, '--as', 'ex@v1', '--key', keys.key, '--store', store, '--exclude', 'injected-*'])).code).toBe(0);
    const before = await picture(data);
    const r = await runDrill(data, store, 'ex@v1', ['--attacks', 'file-inject']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.planted.map((p) => [p.path, p.caught, p.reason])).toEqual([['injected-1.txt', false, 'verify did not name injected-1.txt']]);
    expect(await picture(data)).toEqual(before);
  }, SLOW);

  it('lists every attack kind in --help', async () => {
    const r = await snap(['drill', '--help']);
    expect(r.code).toBe(0);
    const flat = r.stdout.replace(/\s+/g, ' ');
    for (const k of ATTACK_KINDS) expect(flat, k).toContain(k);
  });
});
