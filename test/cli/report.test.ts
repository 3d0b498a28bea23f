/**
 * `snap report A B -o FILE` and `snap report --drill FILE -o FILE`: exit 0 when the report says
 * clean (a drill: all caught), 1 when it says changed or untrusted (a drill: a miss) — the report is
 * written either way — 2 for usage, 3 for bad input; the same inputs give the same bytes.
 */
import { promises as fsp } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLE, copyTree, makeKeyPair, snap, snapBin, snapJson, tempDir, useKeyPair, writeTree, REPO } from '../helpers/tree.js';
import { sealTree, useStore } from '../helpers/store.js';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { useS3Server } from '../helpers/s3-server.js';
import { clientFor, newBucket } from '../store/s3-fixture.js';

const keys = useKeyPair();
const shared = useStore();
const DRILL = join(REPO, 'test', 'fixtures', 'report', 'drill-fail.json');

const TREE = { 'ham/a.eml': 'hello\n', 'ham/b.eml': 'lunch?\n', 'spam/c.eml': 'WIN $$$\n', 'spam/d.eml': 'cheap pills\n', 'README': 'labels are folders\n' };

async function sealV2(data: string, store: string, as: string): Promise<void> {
  const r = await snap(['seal', data, '--as', as, '--key', keys.key, '--store', store]);
  expect(r.code, r.stderr).toBe(0);
}

describe('snap report A B', () => {
  it('exits 0 and writes a CLEAN page when A and B are the same and trusted', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await sealV2(s.data, s.store, `${s.name}@v2`);
    const out = join(await tempDir(), 'r.html');
    const r = await snapJson(['report', s.ref, `${s.name}@v2`, '--store', s.store, '--pubkey', keys.pub, '-o', out]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ out, format: 'html', verdict: 'identical' });
    const page = await fsp.readFile(out, 'utf8');
    expect(page).toContain('data-verdict="identical"');
    expect(page).toContain('<strong>CLEAN</strong>');
    expect(r.json.bytes).toBe(Buffer.byteLength(page));
  });

  it('exits 1 and still writes the page when B differs: the moved file is a label flip, the planted one is added', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await fsp.rename(join(s.data, 'spam/c.eml'), join(s.data, 'ham/c.eml'));
    await writeTree(s.data, { 'ham/injected.eml': 'planted\n' });
    await sealV2(s.data, s.store, `${s.name}@v2`);
    const out = join(await tempDir(), 'incident.html');
    const r = await snap(['report', s.ref, `${s.name}@v2`, '--store', s.store, '--pubkey', keys.pub, '-o', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('CHANGED');
    const page = await fsp.readFile(out, 'utf8');
    expect(page).toContain('data-verdict="changed"');
    expect(page).toMatch(/<table id="label-flips">[\s\S]*<code>ham\/c\.eml<\/code><\/td><td><code>spam<\/code><\/td><td>→ <code>ham<\/code>/);
    expect(page).toMatch(/<table id="added-files">[\s\S]*ham\/injected\.eml/);
    expect(page).toMatch(/<g class="label-row" data-label="ham">[\s\S]*?data-side="a"[^>]*>2<\/text>[\s\S]*?data-side="b"[^>]*>4<\/text>/);
    expect(page).toMatch(/<g class="label-row" data-label="spam">[\s\S]*?data-side="a"[^>]*>2<\/text>[\s\S]*?data-side="b"[^>]*>1<\/text>/);
    expect(page).toContain(`snap restore ${s.ref} ${s.name}-v1-restored --pubkey ${keys.pub} --store ${s.store}`);
  });

  it('gives the same bytes for the same inputs', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await writeTree(s.data, { 'spam/e.eml': 'more\n' });
    await sealV2(s.data, s.store, `${s.name}@v2`);
    const dir = await tempDir();
    for (const n of ['1', '2']) expect((await snap(['report', s.ref, `${s.name}@v2`, '--store', s.store, '--pubkey', keys.pub, '-o', join(dir, `${n}.html`)])).code).toBe(1);
    expect(await fsp.readFile(join(dir, '1.html'))).toEqual(await fsp.readFile(join(dir, '2.html')));
    for (const n of ['1', '2']) expect((await snap(['report', s.ref, s.data, '--store', s.store, '-o', join(dir, `${n}.md`)])).code).toBe(1);
    expect(await fsp.readFile(join(dir, '1.md'))).toEqual(await fsp.readFile(join(dir, '2.md')));
  });

  it('writes Markdown for -o *.md or --format markdown, and to standard output for -o -', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    await writeTree(s.data, { 'spam/e.eml': 'more\n' });
    const out = join(await tempDir(), 'summary.md');
    expect((await snap(['report', s.ref, s.data, '--store', s.store, '-o', out])).code).toBe(1);
    const md = await fsp.readFile(out, 'utf8');
    expect(md).toMatch(/^## snap incident report/);
    expect(md).toContain('| spam/e\\.eml |'.replace('\\.', '.'));
    const r = await snap(['report', s.ref, s.data, '--store', s.store, '--format', 'markdown', '-o', '-']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(md);
  });

  it('reports a side the keys do not trust as UNTRUSTED and exits 1, even with identical contents', async () => {
    const stranger = await makeKeyPair('stranger');
    const s = await sealTree(TREE, keys, { store: shared.path });
    expect((await snap(['seal', s.data, '--as', `${s.name}@v2`, '--key', stranger.key, '--store', s.store])).code).toBe(0);
    const out = join(await tempDir(), 'r.html');
    const r = await snapJson(['report', s.ref, `${s.name}@v2`, '--store', s.store, '--pubkey', keys.pub, '-o', out]);
    expect(r.code).toBe(1);
    expect(r.json.verdict).toBe('untrusted');
    const page = await fsp.readFile(out, 'utf8');
    expect(page).toContain('<span class="untrusted">NOT trusted</span>');
    expect(page).toContain('<code>SIGNATURE_INVALID</code>');
  });

  it('lists flipped records by key for a dataset with record indexes', async () => {
    const data = await copyTree(join(REPO, 'examples', 'tabular'));
    const store = join(await tempDir(), 'store');
    expect((await snap(['seal', data, '--as', 'tab@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const csv = await fsp.readFile(join(data, 'iris.csv'), 'utf8');
    const lines = csv.split('\n');
    lines[1] = (lines[1] as string).replace('setosa', 'virginica');
    await fsp.writeFile(join(data, 'iris.csv'), lines.join('\n'));
    expect((await snap(['seal', data, '--as', 'tab@v2', '--key', keys.key, '--store', store])).code).toBe(0);
    const out = join(await tempDir(), 'r.html');
    expect((await snap(['report', 'tab@v1', 'tab@v2', '--store', store, '-o', out])).code).toBe(1);
    const page = await fsp.readFile(out, 'utf8');
    expect(page).toContain('Labels of the record indexes');
    expect(page).toMatch(/<table id="label-flips">[\s\S]*<code>row 1 \(features [0-9a-f]{12}…\)<\/code><\/td><td><code>iris\.csv<\/code><\/td><td><code>setosa<\/code><\/td><td>→ <code>virginica<\/code>/);
  });

  it('exits 2 for usage mistakes', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const out = join(await tempDir(), 'r.html');
    expect((await snap(['report', s.ref, s.ref, '--store', s.store])).code).toBe(2); // no -o
    expect((await snap(['report', s.ref, '--store', s.store, '-o', out])).code).toBe(2); // no B
    expect((await snap(['report', s.ref, s.ref, '--drill', DRILL, '-o', out])).code).toBe(2);
    expect((await snap(['report', '--drill', DRILL, '--pubkey', keys.pub, '-o', out])).code).toBe(2);
    const stateDir = await snapJson(['report', '--drill', DRILL, '--state-dir', join(out, '..', 'state'), '-o', out]); // a trust flag: it was taken and ignored
    expect([stateDir.code, stateDir.json.error?.code, stateDir.json.error?.message]).toEqual([2, 'USAGE', '--state-dir: trust flags apply to an incident report (A B), not to --drill']);
    expect((await snap(['report', s.ref, s.ref, '--store', s.store, '-o', out, '--format', 'pdf'])).code).toBe(2);
    expect((await snap(['report', s.ref, s.ref, '--store', s.store, '-o', out, '--max-items', '0'])).code).toBe(2);
    expect((await snap(['report', s.ref, 'Not@A@Ref', '--store', s.store, '-o', out])).code).toBe(2);
    // --json and -o - would both write to standard output: refused, not a report where JSON was asked for.
    const both = await snap(['report', s.ref, s.ref, '--store', s.store, '-o', '-', '--json']);
    expect(both.code).toBe(2);
    expect(JSON.parse(both.stdout).error).toMatchObject({ code: 'USAGE', message: expect.stringContaining('--json and -o - both want standard output') });
    await expect(fsp.access(out)).rejects.toThrow();
  });

  it('exits 3 for an unknown ref or a folder to write into that does not exist, and writes nothing', async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const dir = await tempDir();
    const r = await snapJson(['report', s.ref, `${s.name}@v9`, '--store', s.store, '-o', join(dir, 'r.html')]);
    expect(r.code).toBe(3);
    expect(r.json.error.code).toBe('REF_NOT_FOUND');
    const w = await snapJson(['report', s.ref, s.ref, '--store', s.store, '-o', join(dir, 'no', 'such', 'r.html')]);
    expect(w.code).toBe(3);
    expect(w.json.error.code).toBe('NOT_FOUND');
    expect(await fsp.readdir(dir)).toEqual([]);
  });
});

describe('snap report A s3://BUCKET/PREFIX (moto)', () => {
  const server = useS3Server('moto');

  it('names the S3 side a dataset in S3, not a folder, in the verdict, the trust row and the next step', { timeout: 120_000 }, async () => {
    const s = await sealTree(TREE, keys, { store: shared.path });
    const c = clientFor(server);
    const bucket = await newBucket(c, 'plain');
    for (const [path, body] of Object.entries({ ...TREE, 'spam/e.eml': 'planted\n' })) await c.send(new PutObjectCommand({ Bucket: bucket, Key: `data/${path}`, Body: body }));
    const url = `s3://${bucket}/data/`;
    for (const [a, b, which] of [[s.ref, url, 'B'], [url, s.ref, 'A']] as const) {
      const out = join(await tempDir(), 'r.md');
      const r = await snapJson(['report', a, b, '--store', shared.path, '--pubkey', keys.pub, '-o', out], { env: server.env });
      expect(r.code, r.stderr).toBe(1);
      const md = await fsp.readFile(out, 'utf8');
      expect(md).toContain(`${which} is a dataset in S3 (unsigned)`);
      expect(md).toContain('a dataset in S3 (not signed)');
      expect(md).not.toContain('a folder (');
      if (which === 'A') expect(md).toContain('A is a dataset in S3, not a signed snapshot');
    }
  });
});

describe('snap report --drill', () => {
  it('writes the drill report and exits 1 when the drill missed a planted change', async () => {
    const out = join(await tempDir(), 'drill.html');
    const r = await snapJson(['report', '--drill', DRILL, '-o', out]);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ verdict: 'fail', format: 'html' });
    expect(await fsp.readFile(out, 'utf8')).toContain('<strong>FAIL</strong>');
  });

  it('exits 0 for a drill that caught everything', async () => {
    const d = JSON.parse(await fsp.readFile(DRILL, 'utf8'));
    d.planted = d.planted.filter((p: { caught: boolean }) => p.caught);
    d.summary = d.summary.map((x: { caught: number }) => ({ ...x, planted: x.caught, missed: 0, notConfigured: 0 }));
    d.verdict = 'pass';
    d.ok = true;
    const dir = await tempDir();
    await fsp.writeFile(join(dir, 'pass.json'), JSON.stringify(d));
    const r = await snap(['report', '--drill', join(dir, 'pass.json'), '-o', join(dir, 'drill.md')]);
    expect(r.code).toBe(0);
    expect(await fsp.readFile(join(dir, 'drill.md'), 'utf8')).toContain('**PASS**');
  });

  it('exits 3 for a malformed drill file or a missing one, and keeps an old report', async () => {
    const dir = await tempDir();
    const out = join(dir, 'drill.html');
    await fsp.writeFile(out, 'old report');
    await fsp.writeFile(join(dir, 'bad.json'), '{"drill": 1, "verdict": "pass"}');
    const bad = await snapJson(['report', '--drill', join(dir, 'bad.json'), '-o', out]);
    expect(bad.code).toBe(3);
    expect(bad.json.error.code).toBe('DRILL_REPORT_MALFORMED');
    const gone = await snapJson(['report', '--drill', join(dir, 'gone.json'), '-o', out]);
    expect(gone.code).toBe(3);
    expect(gone.json.error.code).toBe('NOT_FOUND');
    const folder = await snapJson(['report', '--drill', dir, '-o', out]);
    expect(folder.code).toBe(3);
    expect(await fsp.readFile(out, 'utf8')).toBe('old report');
    expect((await fsp.readdir(dir)).sort()).toEqual(['bad.json', 'drill.html']);
  });
});

describe('snap report --drill of a file that is not a regular file', () => {
  it('refuses a FIFO at once (DRILL_REPORT_MALFORMED, exit 3), and a link to /dev/zero: it waited for a writer for ever, deaf to SIGTERM', async () => {
    const dir = await tempDir();
    const out = join(dir, 'drill.html');
    spawnSync('mkfifo', [join(dir, 'drill.json')]);
    await fsp.symlink('/dev/zero', join(dir, 'zero.json'));
    for (const name of ['drill.json', 'zero.json']) {
      const r = await snapBin(['report', '--drill', join(dir, name), '-o', out, '--json'], { timeoutMs: 15_000 });
      expect(r.signal, `report hung on ${name}`).toBeNull();
      expect(r.code, r.stderr).toBe(3);
      expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'DRILL_REPORT_MALFORMED', message: expect.stringContaining('not a regular file') });
    }
    expect((await fsp.readdir(dir)).sort()).toEqual(['drill.json', 'zero.json']);
  });
});

describe('snap report -o a path that is not a regular file', () => {
  it('exits 3 (FILE_UNSUPPORTED_TYPE) and leaves a FIFO there as it was, instead of renaming the report over it', async () => {
    const dir = await tempDir();
    const fifo = join(dir, 'r.html');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const r = await snapJson(['report', '--drill', DRILL, '-o', fifo]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.error.code).toBe('FILE_UNSUPPORTED_TYPE');
    expect((await fsp.lstat(fifo)).isFIFO()).toBe(true);
    expect(await fsp.readdir(dir)).toEqual(['r.html']);
  });
});

describe('snap report of the example dataset', () => {
  it('counts the example ham/spam folders as labels', async () => {
    const data = await copyTree(EXAMPLE);
    const store = join(await tempDir(), 'store');
    expect((await snap(['seal', data, '--as', 'ex@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const r = await snap(['report', 'ex@v1', data, '--store', store, '-o', '-', '--format', 'markdown']);
    expect(r.code).toBe(0);
    const ham = (await fsp.readdir(join(EXAMPLE, 'ham'))).length;
    expect(r.stdout).toContain(`| ham | ${ham} | ${ham} | 0 |`);
  });
});

describe('snap report with hostile names', () => {
  it('escapes names with markup, quotes, a terminal escape, a bidi override and bytes that are not UTF-8', async () => {
    const names = ['ham/<script>alert(1).eml', `ham/"q'uote".eml`, 'ham/invoice\u202egpj.eml', '<b>"label\'/x.eml'];
    const s = await sealTree(Object.fromEntries(names.map((n) => [n, 'x\n'])), keys, { store: shared.path });
    await writeTree(s.data, { 'spam/new\u2066.eml': 'y\n', [`ham/"q'uote".eml`]: 'changed\n', 'ham/invoice\u202egpj.eml': 'changed too\n' });
    await fsp.mkdir(join(s.data, 'spam'), { recursive: true });
    await fsp.rename(join(s.data, names[0] as string), join(s.data, 'spam/<script>alert(1).eml'));
    await fsp.writeFile(Buffer.concat([Buffer.from(join(s.data, 'ham') + '/bad'), Buffer.from([0xff, 0xfe]), Buffer.from('.eml')]), 'z\n');
    await fsp.writeFile(join(s.data, 'ham', 'esc\x1b[31m.eml'), 'w\n');
    const out = join(await tempDir(), 'r.html');
    const r = await snap(['report', s.ref, s.data, '--store', s.store, '-o', out]);
    expect(r.code, r.stderr).toBe(1);
    const page = await fsp.readFile(out, 'utf8');
    expect(page).not.toMatch(/<script|<b>/);
    // Paths as diff prints them: between double quotes when they hold a parenthesis or a double quote (`"` as `\"`).
    expect(page).toMatch(/<table id="label-flips">[\s\S]*<code>&quot;spam\/&lt;script&gt;alert\(1\)\.eml&quot;<\/code><\/td><td><code>ham<\/code><\/td><td>→ <code>spam<\/code>/);
    expect(page).toMatch(/<table id="modified-files">[\s\S]*<code>&quot;ham\/\\&quot;q&#39;uote\\&quot;\.eml&quot;<\/code>/);
    expect(page).toContain('ham/invoice\\u202egpj.eml');
    expect(page).toContain('data-label="&quot;&lt;b&gt;\\&quot;label&#39;&quot;"'); // its JSON string (it holds a double quote), its \" written once
    expect(page).toContain('spam/new\\u2066.eml');
    expect(page).toContain('ham/bad\\xff\\xfe.eml');
    expect(page).toContain('ham/esc\\x1b[31m.eml');
    expect(page).not.toMatch(/[\x00-\x08\x0b-\x1f\u202a-\u202e\u2066-\u2069]/);
    expect(Buffer.from(page, 'utf8').toString('utf8')).toBe(page);
    const md = await snap(['report', s.ref, s.data, '--store', s.store, '-o', '-', '--format', 'markdown']);
    expect(md.stdout).not.toMatch(/<script|<b>|[\x00-\x08\x0b-\x1f\u202a-\u202e\u2066-\u2069]/);
  });
});

describe('snap report --drill of a real drill', () => {
  it('reads what snap drill --json writes, and says PASS when the drill caught everything', async () => {
    const data = await copyTree(EXAMPLE);
    const dir = await tempDir();
    const store = join(dir, 'store');
    expect((await snap(['seal', data, '--as', 'd@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    const drill = await snap(['drill', data, '--against', 'd@v1', '--pubkey', keys.pub, '--store', store, '--seed', '7', '--json']);
    expect(drill.code, drill.stderr).toBe(0);
    await fsp.writeFile(join(dir, 'drill.json'), drill.stdout);
    const r = await snapJson(['report', '--drill', join(dir, 'drill.json'), '-o', join(dir, 'drill.html')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.verdict).toBe('pass');
    const page = await fsp.readFile(join(dir, 'drill.html'), 'utf8');
    expect(page).toContain('<strong>PASS</strong>');
    expect(page).toContain('<code>label-folder-move</code>');
  });
});
