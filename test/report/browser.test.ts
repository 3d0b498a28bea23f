/**
 * The incident report in a real browser (issue 10, item 3): the demo's incident (seal v1, move one
 * spam e-mail into ham/ and plant ham/injected.eml, seal v2, report v1 → v2) opened from disk in
 * Debian's headless Chromium, started here with playwright-core. The page must render without a
 * console error, show the verdict and the chart with the right ham/spam counts before and after,
 * name the flipped e-mail and the injected file, and make no request but the one for itself. A
 * screenshot is taken. If Chromium cannot be started the test fails: it is never skipped.
 */
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext } from 'playwright-core';
import { EXAMPLE, copyTree, snap, tempDir, useKeyPair } from '../helpers/tree.js';
import type { DiffReport } from '../../src/ops/diff.js';
import type { DrillResult } from '../../src/report/drill-facts.js';
import { MAX_SHOWN_CHARS, incidentFacts } from '../../src/report/incident-facts.js';
import { renderDrillHtml } from '../../src/report/render-drill.js';
import { renderIncidentHtml } from '../../src/report/render-incident-html.js';

/** Debian's chromium package (.ci/run installs it). */
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const keys = useKeyPair('demo');
let browser: BrowserContext;
let userDataDir: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium); this test is never skipped`);
  userDataDir = await tempDir('snap-chromium-');
  // A fresh user-data dir (nothing from an earlier run or the user's profile), removed with the test file.
  browser = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, args: ARGS, timeout: 90_000 });
});

afterAll(async () => {
  await browser?.close();
});

/** The demo's incident: v1 clean, v2 with one spam e-mail moved into ham/ and ham/injected.eml planted. */
async function demoIncident(): Promise<{ dir: string; store: string; flipped: string }> {
  const dir = await tempDir('snap-demo-');
  const data = await copyTree(EXAMPLE);
  const store = join(dir, 'store');
  expect((await snap(['seal', data, '--as', 'spam-mini@v1', '--key', keys.key, '--store', store])).code).toBe(0);
  const first = (await fsp.readdir(join(data, 'spam'))).sort()[0] as string;
  await fsp.rename(join(data, 'spam', first), join(data, 'ham', first));
  await fsp.writeFile(join(data, 'ham', 'injected.eml'), 'Subject: totally legit\n\nThis message was planted in ham/ after the data was sealed.\n');
  expect((await snap(['seal', data, '--as', 'spam-mini@v2', '--key', keys.key, '--store', store])).code).toBe(0);
  return { dir, store, flipped: first };
}

/** A diff of two trusted snapshots in which one file was modified (facts for a page made without the CLI). */
function incidentDiff(): DiffReport {
  const side = (ref: string) => ({ ref, snapshot: `sha256:${'ab'.repeat(32)}`, createdAt: '2026-01-01T00:00:00Z', signers: [{ keyid: 'cd'.repeat(32), trusted: true }], trusted: true });
  const file = (sha: string) => ({ path: 'x.bin', sha256: sha.repeat(32), size: 1 });
  return {
    a: side('spam@v1'),
    b: side('spam@v2'),
    added: [],
    removed: [],
    modified: [{ path: 'x.bin', a: file('ab'), b: file('ef') }],
    renamed: [],
    extra: [],
    summary: { added: 0, removed: 0, modified: 1, renamed: 0, extra: 0, unchanged: 3, bytesAdded: 0, bytesRemoved: 0 },
  };
}

/** `page` opened from a file in Chromium; what `read` returns there. The page must make no request but for itself, and log nothing. */
async function onPage<T>(page: string, read: () => T): Promise<T> {
  const file = join(await tempDir('snap-page-'), 'page.html');
  await fsp.writeFile(file, page);
  const tab = await browser.newPage();
  const requests: string[] = [];
  const problems: string[] = [];
  tab.on('request', (q) => requests.push(q.url()));
  tab.on('console', (m) => problems.push(`${m.type()}: ${m.text()}`));
  tab.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await tab.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  const seen = await tab.evaluate(read);
  await tab.close();
  expect(problems).toEqual([]);
  expect(requests).toEqual([pathToFileURL(file).href]);
  return seen;
}

/** How many files each label folder of the example holds. */
async function countLabels(): Promise<{ ham: number; spam: number }> {
  return { ham: (await fsp.readdir(join(EXAMPLE, 'ham'))).length, spam: (await fsp.readdir(join(EXAMPLE, 'spam'))).length };
}

describe('the incident report in headless Chromium', () => {
  it('renders the demo incident with its verdict, chart counts, the flipped e-mail and the injected file, and makes no network request', async () => {
    const { dir, store, flipped } = await demoIncident();
    const out = join(dir, 'incident.html');
    const r = await snap(['report', 'spam-mini@v1', 'spam-mini@v2', '--store', store, '--pubkey', keys.pub, '-o', out]);
    expect(r.code, r.stderr).toBe(1); // the sides differ
    const url = pathToFileURL(out).href;

    const page = await browser.newPage();
    const requests: string[] = [];
    const problems: string[] = [];
    page.on('request', (q) => requests.push(q.url()));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.goto(url, { waitUntil: 'load' });

    // The verdict, first and visible.
    const verdict = page.locator('#verdict');
    await expect.poll(() => verdict.isVisible()).toBe(true);
    expect(await verdict.getAttribute('data-verdict')).toBe('changed');
    expect(await verdict.innerText()).toContain('CHANGED');
    const firstSection = await page.evaluate(() => document.querySelector('body > section')?.id);
    expect(firstSection).toBe('verdict');

    // The chart: an SVG whose bar groups carry the ham/spam counts before (a) and after (b).
    const chart = page.locator('#label-chart svg');
    expect(await chart.count()).toBe(1);
    expect(await chart.isVisible()).toBe(true);
    const counts = await page.evaluate(() =>
      Object.fromEntries(
        [...document.querySelectorAll('#label-chart g.label-row')].map((g) => [
          g.getAttribute('data-label'),
          { a: Number(g.querySelector('text.count[data-side="a"]')?.textContent), b: Number(g.querySelector('text.count[data-side="b"]')?.textContent) },
        ]),
      ),
    );
    const before = await countLabels();
    expect(counts).toEqual({ ham: { a: before.ham, b: before.ham + 2 }, spam: { a: before.spam, b: before.spam - 1 } });
    const bars = await page.locator('#label-chart rect.bar').count();
    expect(bars).toBe(2 + 4); // two legend swatches, two bars per label

    // The flipped e-mail (spam → ham) and the injected file are named.
    const flips = await page.locator('#label-flips tbody tr').allInnerTexts();
    expect(flips).toHaveLength(1);
    expect(flips[0]).toContain(`ham/${flipped}`);
    expect(flips[0]).toMatch(/spam\s+→ ham/);
    expect(await page.locator('#added-files').innerText()).toContain('ham/injected.eml');
    expect(await page.locator('#restore-command').innerText()).toContain('restore spam-mini@v1');

    // A screenshot, as a non-empty PNG.
    const shot = join(await tempDir('snap-shot-'), 'incident.png');
    await page.screenshot({ path: shot, fullPage: true });
    const png = await fsp.readFile(shot);
    expect(png.length).toBeGreaterThan(1000);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

    await page.close();
    expect(problems).toEqual([]);
    expect(requests).toEqual([url]); // the page itself, and nothing else
  });

  it('shows hostile names as text: no element, attribute or script comes from a name', async () => {
    const data = await tempDir('snap-hostile-');
    const names = ['ham/<img src=x onerror=alert(1)>.eml', `ham/"><svg onload=alert(2)>.eml`, 'ham/<script>alert(3).eml'];
    for (const n of names) {
      await fsp.mkdir(join(data, 'ham'), { recursive: true });
      await fsp.writeFile(join(data, n), `${n}\n`);
    }
    const store = join(await tempDir('snap-store-'), 'store');
    expect((await snap(['seal', data, '--as', 'h@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    await fsp.mkdir(join(data, 'spam'));
    for (const n of names) await fsp.rename(join(data, n), join(data, n.replace('ham/', 'spam/')));
    const out = join(await tempDir('snap-page-'), 'hostile.html');
    expect((await snap(['report', 'h@v1', data, '--store', store, '-o', out])).code).toBe(1);
    const page = await browser.newPage();
    const requests: string[] = [];
    const problems: string[] = [];
    page.on('request', (q) => requests.push(q.url()));
    page.on('console', (m) => problems.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('dialog', (d) => problems.push(`dialog: ${d.message()}`));
    await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });
    const found = await page.evaluate(() => ({
      scripts: document.querySelectorAll('script, img, iframe, object, embed, svg svg, foreignObject').length,
      handlers: [...document.querySelectorAll('*')].filter((e) => [...e.attributes].some((a) => a.name.startsWith('on'))).length,
      flips: [...document.querySelectorAll('#label-flips tbody tr td:first-child')].map((td) => td.textContent),
    }));
    await page.close();
    expect(found.scripts).toBe(0);
    expect(found.handlers).toBe(0);
    // Each as diff prints a path holding a parenthesis or a double quote: between double quotes, `"` as `\"`.
    expect(found.flips.sort()).toEqual(['"spam/<img src=x onerror=alert(1)>.eml"', '"spam/\\"><svg onload=alert(2)>.eml"', '"spam/<script>alert(3).eml"'].sort());
    expect(problems).toEqual([]);
    expect(requests).toEqual([pathToFileURL(out).href]);
  });

  it('shows a path and a label that could pass for others as the CLI prints them: quoted, non-ASCII escaped once, in the page and in the Markdown', async () => {
    // train.jsonl beside tr\u0430in.jsonl (a Cyrillic а), and cat/2.txt moved into c\u0430t/: a
    // label folder whose name reads as "cat".
    const data = await tempDir('snap-lookalike-');
    await fsp.mkdir(join(data, 'cat'));
    await fsp.mkdir(join(data, 'dog'));
    await fsp.writeFile(join(data, 'train.jsonl'), '{"x":1}\n');
    await fsp.writeFile(join(data, 'cat', '1.txt'), 'one\n');
    await fsp.writeFile(join(data, 'cat', '2.txt'), 'two\n');
    await fsp.writeFile(join(data, 'dog', '3.txt'), 'three\n');
    const store = join(await tempDir('snap-store-'), 'store');
    expect((await snap(['seal', data, '--as', 'l@v1', '--key', keys.key, '--store', store])).code).toBe(0);
    await fsp.writeFile(join(data, 'tr\u0430in.jsonl'), '{"x":2}\n');
    await fsp.mkdir(join(data, 'c\u0430t'));
    await fsp.rename(join(data, 'cat', '2.txt'), join(data, 'c\u0430t', '2.txt'));
    const dir = await tempDir('snap-page-');
    const out = join(dir, 'lookalike.html');
    const md = join(dir, 'lookalike.md');
    for (const o of [out, md]) expect((await snap(['report', 'l@v1', data, '--store', store, '-o', o])).code).toBe(1);

    const page = await browser.newPage();
    await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });
    const seen = await page.evaluate(() => ({
      added: [...document.querySelectorAll('#added-files tbody tr td:first-child')].map((td) => (td as HTMLElement).innerText),
      renamed: [...document.querySelectorAll('#renamed-files tbody tr')].map((tr) => [...tr.querySelectorAll('td')].slice(0, 2).map((td) => td.innerText)),
      flips: [...document.querySelectorAll('#label-flips tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.innerText)),
      chartLabels: [...document.querySelectorAll('#label-chart g.label-row')].map((g) => g.getAttribute('data-label')),
      chartText: [...document.querySelectorAll('#label-chart text.label')].map((t) => t.textContent),
      counts: [...document.querySelectorAll('#label-counts tbody tr td:first-child')].map((td) => (td as HTMLElement).innerText),
      body: document.body.innerText,
    }));
    await page.close();
    expect(seen.added).toEqual(['"tr\\u0430in.jsonl"']);
    expect(seen.renamed).toEqual([['cat/2.txt', '"c\\u0430t/2.txt"']]);
    expect(seen.flips).toEqual([['"c\\u0430t/2.txt"', 'cat', '→ "c\\u0430t"']]);
    expect(seen.chartLabels).toEqual(['cat', '"c\\u0430t"', 'dog']);
    expect(seen.chartText).toEqual(['cat', '"c\\u0430t"', 'dog']);
    expect(seen.counts).toEqual(['cat', '"c\\u0430t"', 'dog']);
    expect(seen.body).not.toContain('\u0430'); // no Cyrillic letter is shown bare
    expect(seen.body).not.toContain('\\\\u0430'); // nor an escape escaped twice

    // The Markdown, read as a renderer reads it (CommonMark §2.4: a backslash escape is the character it escapes).
    const text = (await fsp.readFile(md, 'utf8')).replace(/<!-- -->/g, '').replace(/\\(.)/g, '$1');
    expect(text).toContain('| "tr\\u0430in.jsonl" | 8 B |');
    expect(text).toContain('| "c\\u0430t/2.txt" | cat | → "c\\u0430t" |');
    expect(text).toContain('| "c\\u0430t" | 0 | 1 | +1 |');
    expect(text).not.toContain('\u0430');
  });

  it("shows record keys and paths that imitate other lines as diff and verify print them: quoted, escaped, each in its own cell, in the page and in the Markdown", async () => {
    // A record set named like a verdict, a label folder file named like a flip, a data file whose
    // name reads as a record and a second file; keys like a flip, holding a line break and markup
    // that would close the row, read backwards (U+202E), holding a comma.
    const table = 'x.csv: 3 labels flipped (a → b)';
    const moved = 'y.txt: spam → ham';
    const data = await tempDir('snap-lines-');
    await fsp.mkdir(join(data, 'ham'));
    await fsp.mkdir(join(data, 'spam'));
    await fsp.writeFile(join(data, table), 'id,label\n1,a\n2,b\n');
    await fsp.writeFile(join(data, 'ham', moved), 'h\n');
    await fsp.writeFile(join(data, 'spam', 'z.txt'), 'z\n');
    const store = join(await tempDir('snap-store-'), 'store');
    const rules = ['--records', 'x.csv* format=csv key=id label=label', '--records', '*/* format=files label-segment=0'];
    expect((await snap(['seal', data, '--as', 'k@v1', '--key', keys.key, '--store', store, ...rules])).code).toBe(0);
    await fsp.writeFile(join(data, table), `id,label\n1,b\n2,b\nx: cat → dog,a\n"k\n</code></td></tr><tr><td>1",a\nevil\u202egnp,a\n"k, 7",a\n`);
    await fsp.rename(join(data, 'ham', moved), join(data, 'spam', moved));
    await fsp.writeFile(join(data, 'other (row 2), z.csv'), 'a,b\n');
    const dir = await tempDir('snap-page-');
    const out = join(dir, 'lines.html');
    const md = join(dir, 'lines.md');
    for (const o of [out, md]) expect((await snap(['report', 'k@v1', data, '--store', store, '--pubkey', keys.pub, '-o', o])).code).toBe(1);

    const page = await browser.newPage();
    await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });
    const seen = await page.evaluate(() => {
      const cells = (tr: Element) => [...tr.querySelectorAll('td')].map((td) => (td as HTMLElement).innerText);
      return {
        sets: [...document.querySelectorAll('#records ~ h3 code')].map((c) => c.textContent),
        flips: [...document.querySelectorAll('#label-flips tbody tr')].map(cells),
        added: [...document.querySelectorAll('#added-files tbody tr')].map(cells),
        renamed: [...document.querySelectorAll('#renamed-files tbody tr')].map((tr) => cells(tr).slice(0, 2)),
        modified: [...document.querySelectorAll('#modified-files tbody tr td:first-child')].map((td) => (td as HTMLElement).innerText),
        rows: [...document.querySelectorAll('#records ~ table tbody tr')].map(cells),
        injected: document.querySelectorAll('td td, tr tr').length,
        body: document.body.innerText,
      };
    });
    await page.close();
    const setShown = '"x.csv: 3 labels flipped (a → b)"';
    expect(seen.sets).toContain(setShown);
    expect(seen.flips).toEqual(
      expect.arrayContaining([
        ['1', setShown, 'a', '→ b'],
        ['"y.txt: spam → ham"', '*/*', 'ham', '→ spam'],
      ]),
    );
    expect(seen.added).toEqual([['"other (row 2), z.csv"', '4 B']]);
    expect(seen.renamed).toEqual([['"ham/y.txt: spam → ham"', '"spam/y.txt: spam → ham"']]);
    expect(seen.modified).toEqual([setShown]);
    // Each added record one row of its own, its key quoted or escaped as diff writes it; the markup
    // in a key made no row or cell.
    const added = seen.rows.filter((r) => r.length === 2 && r[1] === 'a').map((r) => r[0]);
    expect(added.sort()).toEqual(['"k, 7"', 'k\\n</code></td></tr><tr><td>1', '"x: cat → dog"', 'evil\\u202egnp'].sort());
    expect(seen.injected).toBe(0);
    expect(seen.body).not.toContain('\u202e');

    // The Markdown, read as a renderer reads it (CommonMark §2.4: a backslash escape is the character it escapes).
    const text = (await fsp.readFile(md, 'utf8')).replace(/<!-- -->/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/\\(.)/g, '$1');
    expect(text).toContain(`**${setShown}**: 4 added, 0 removed, 0 modified, 1 flipped`);
    expect(text).toContain('| "other (row 2), z.csv" | 4 B |');
    expect(text).toContain('| "ham/y.txt: spam → ham" | "spam/y.txt: spam → ham" |');
    expect(text).toContain('| "x: cat → dog" | a |');
    expect(text).toContain('| k\\n</code></td></tr><tr><td>1 | a |');
    expect(text).not.toContain('\u202e');
  });

  it('keeps a long name without a break inside the page: no table grows past the window and pushes the verdicts out of sight', async () => {
    const word = 'w'.repeat(MAX_SHOWN_CHARS); // a name of 300 letters: no space, no hyphen
    const drill = JSON.parse(readFileSync(new URL('../fixtures/report/drill-fail.json', import.meta.url), 'utf8')) as DrillResult;
    drill.dataset = word;
    for (const p of drill.planted) p.detail = `${word} → ${word}`;
    (drill.planted[2] as DrillResult['planted'][number]).reason = `not configured: ${word}`;
    (drill.notApplicable[0] as DrillResult['notApplicable'][number]).reason = word;
    const incident = incidentFacts({
      a: { ref: 'spam@v1', snapshot: `sha256:${'ab'.repeat(32)}`, createdAt: '2026-01-01T00:00:00Z', signers: [{ keyid: 'cd'.repeat(32), trusted: true }], trusted: true },
      b: { folder: word },
      added: [],
      removed: [],
      modified: [],
      renamed: [],
      extra: [{ side: 'b', path: word, code: 'PATH_INVALID_UTF8', reason: `its name is not UTF-8: ${word}` }],
      summary: { added: 0, removed: 0, modified: 0, renamed: 0, extra: 1, unchanged: 3, bytesAdded: 0, bytesRemoved: 0 },
    });
    const dir = await tempDir('snap-page-');
    const width = 1024;
    for (const [name, page] of [['drill.html', renderDrillHtml(drill, 50)], ['incident.html', renderIncidentHtml(incident)]] as const) {
      await fsp.writeFile(join(dir, name), page);
      const tab = await browser.newPage();
      await tab.setViewportSize({ width, height: 800 });
      await tab.goto(pathToFileURL(join(dir, name)).href, { waitUntil: 'load' });
      const seen = await tab.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        widest: Math.max(...[...document.querySelectorAll('body > *')].map((e) => e.getBoundingClientRect().right)),
        verdictCells: [...document.querySelectorAll('#drill-planted tbody tr td:nth-child(5)')].map((td) => td.getBoundingClientRect().right),
      }));
      await tab.close();
      expect(seen.scrollWidth, name).toBeLessThanOrEqual(width);
      expect(seen.widest, name).toBeLessThanOrEqual(width);
      for (const right of seen.verdictCells) expect(right, name).toBeLessThanOrEqual(width);
    }
  });

  it('shows a label named like the bar that sums the other labels as a label: no two rows of the chart or its table read alike', async () => {
    // 22 labels: the chart draws 20 and sums 2 into one bar, "2 other labels" as it read; one of
    // the 20, the largest, is a label whose name is exactly that text.
    const a: Record<string, number> = { '2 other labels': 900 };
    const b: Record<string, number> = { '2 other labels': 5 };
    for (let i = 0; i < 21; i++) {
      a[`l${String(i).padStart(2, '0')}`] = 100 + i;
      b[`l${String(i).padStart(2, '0')}`] = 100 + i;
    }
    const f = incidentFacts(incidentDiff(), { folderLabels: { a, b } });
    const seen = await onPage(renderIncidentHtml(f), () => ({
      chart: [...document.querySelectorAll('#label-chart text.label')].map((t) => t.textContent),
      table: [...document.querySelectorAll('#label-counts tbody tr td:first-child')].map((td) => (td as HTMLElement).innerText),
    }));
    expect(seen.chart).toHaveLength(21);
    expect(new Set(seen.chart).size).toBe(seen.chart.length);
    expect(new Set(seen.table).size).toBe(seen.table.length);
  });

  it('shows labels that print alike as different names: one not in NFC (cafe + U+0301 beside caf\u00e9), one with a mark drawn over an ASCII letter', async () => {
    const a: Record<string, number> = { 'caf\u00e9': 10, ham: 10 };
    const b: Record<string, number> = { 'caf\u00e9': 5, 'cafe\u0301': 5, ham: 5, 'ham\u0338': 5 };
    const seen = await onPage(renderIncidentHtml(incidentFacts(incidentDiff(), { folderLabels: { a, b } })), () => ({
      chart: [...document.querySelectorAll('#label-chart text.label')].map((t) => t.textContent ?? ''),
      table: [...document.querySelectorAll('#label-counts tbody tr td:first-child')].map((td) => (td as HTMLElement).innerText),
    }));
    for (const shown of [seen.chart, seen.table]) {
      expect(shown).toHaveLength(4);
      // What a reader sees: the composed form of each; no two alike, and no mark drawn on an ASCII letter.
      expect(new Set(shown.map((t) => t.normalize('NFC'))).size).toBe(4);
      for (const t of shown) expect(t).not.toMatch(/[\x00-\x7f]\p{M}/u);
    }
    expect(seen.table).toEqual(['"cafe\\u0301"', 'caf\u00e9', 'ham', '"ham\\u0338"']);
  });

  it("says which paths of a folder side it did not compare: a file under the snapshot's --exclude pattern is not passed over in silence", async () => {
    const data = await tempDir('snap-exclude-');
    await fsp.writeFile(join(data, 'a.txt'), 'a\n');
    const store = join(await tempDir('snap-store-'), 'store');
    expect((await snap(['seal', data, '--as', 'q@v1', '--key', keys.key, '--store', store, '--exclude', '*.tmp'])).code).toBe(0);
    await fsp.writeFile(join(data, 'evil.tmp'), 'planted after the seal\n');
    const out = join(await tempDir('snap-page-'), 'exclude.html');
    const r = await snap(['report', 'q@v1', data, '--pubkey', keys.pub, '--store', store, '-o', out]);
    expect(r.code, r.stderr).toBe(0); // as verify: the signed snapshot leaves *.tmp out
    expect(r.stdout).toContain('*.tmp');
    const page = await browser.newPage();
    await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });
    const verdict = await page.evaluate(() => (document.querySelector('#verdict') as HTMLElement).innerText);
    await page.close();
    expect(verdict).toMatch(/^CLEAN/);
    expect(verdict).toContain('not compared');
    expect(verdict).toContain('*.tmp');
  });

  it('says how many new and vanished labels it does not name, as every capped list of the page does', async () => {
    const a: Record<string, number> = { ham: 10 };
    const b: Record<string, number> = { ham: 10 };
    for (let i = 0; i < 25; i++) {
      a[`gone${String(i).padStart(2, '0')}`] = 1;
      b[`new${String(i).padStart(2, '0')}`] = 1;
    }
    const f = incidentFacts(incidentDiff(), { folderLabels: { a, b } });
    const rows = await onPage(renderIncidentHtml(f), () => [...document.querySelectorAll('#shift-stats tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => (td as HTMLElement).innerText)));
    const row = (name: string) => rows.find((r) => r[0] === name) ?? [];
    for (const [name, prefix] of [['new labels', 'new'], ['vanished labels', 'gone']] as const) {
      expect(row(name)[1]).toBe('25');
      expect(row(name)[2]).toContain(`${prefix}19`);
      expect(row(name)[2]).not.toContain(`${prefix}20`);
      expect(row(name)[2]).toMatch(/, … and 5 more \(the first 20 are shown\)$/);
    }
  });

  it('says in its verdict that a record set was not compared, where "0 flipped" would read as no record moved', async () => {
    // B was sealed without a record index for train.csv (seal --no-records), whose labels it flipped.
    const zero = { sets: 0, unchanged: 0, added: 0, removed: 0, modified: 0, flipped: 0, relabelled: 0, labelChanges: 0, duplicates: { a: 0, b: 0 }, conflicts: { a: 0, b: 0 } };
    const d: DiffReport = { ...incidentDiff(), records: { sets: [], unavailable: [{ name: 'train.csv', side: 'b', reason: 'this snapshot has no record index for it' }], summary: zero } };
    const verdict = await onPage(renderIncidentHtml(incidentFacts(d)), () => (document.querySelector('#verdict') as HTMLElement).innerText);
    expect(verdict).toContain('records: 0 added, 0 removed, 0 flipped, 0 modified');
    expect(verdict).toContain('1 record set(s) not compared');
  });

  it('draws two long labels that begin alike as two different names in the chart, each whole and inside its own row', async () => {
    // The chart cut a label at 22 characters: a poisoner's new "positive_sentiment_higX" read as the real "positive_sentiment_high".
    const f = incidentFacts(incidentDiff(), { folderLabels: { a: { positive_sentiment_high: 50, neg: 50 }, b: { positive_sentiment_high: 50, positive_sentiment_higX: 9, neg: 41 } } });
    const seen = await onPage(renderIncidentHtml(f), () =>
      [...document.querySelectorAll('#label-chart g.label-row')].map((g) => {
        const box = (e: Element | null) => (e as SVGGraphicsElement).getBBox();
        const label = box(g.querySelector('text.label'));
        const bars = [...g.querySelectorAll('rect.bar')].map((r) => box(r));
        return { text: g.querySelector('text.label')?.textContent, top: Math.min(label.y, ...bars.map((b) => b.y)), bottom: Math.max(label.y + label.height, ...bars.map((b) => b.y + b.height)) };
      }),
    );
    expect(seen.map((r) => r.text)).toEqual(['neg', 'positive_sentiment_higX', 'positive_sentiment_high']);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.top, `row ${i} overlaps the row above`).toBeGreaterThanOrEqual(seen[i - 1]!.bottom);
  });

  it('keeps every space of a name: a label or path with two spaces in a row does not read as the one with one', async () => {
    // HTML collapses a run of spaces into one: a poisoner's new label "very  good" read in the
    // chart and its table as a second "very good", a flip to it as "very good → very good" (no
    // change), and the file "very  good/1.txt" as "very good/1.txt", which is another file.
    const d: DiffReport = {
      ...incidentDiff(),
      modified: [],
      renamed: [{ from: 'very good/1.txt', to: 'very  good/1.txt', sha256: 'ab'.repeat(32), size: 1 }],
      added: [{ path: 'very   good/2.txt', sha256: 'cd'.repeat(32), size: 1 }],
      summary: { added: 1, removed: 0, modified: 0, renamed: 1, extra: 0, unchanged: 3, bytesAdded: 1, bytesRemoved: 0 },
    };
    const f = incidentFacts(d, { folderLabels: { a: { 'very good': 5, bad: 5 }, b: { 'very good': 4, 'very  good': 1, 'very   good': 1, bad: 5 } } });
    const seen = await onPage(renderIncidentHtml(f), () => {
      const text = (sel: string) => [...document.querySelectorAll(sel)].map((e) => (e as HTMLElement).innerText);
      return {
        table: text('#label-counts tbody tr td:first-child'),
        flips: [...document.querySelectorAll('#label-flips tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.innerText)),
        added: text('#added-files tbody tr td:first-child'),
        // The chart's labels as drawn: their widths (textContent keeps spaces a renderer collapses).
        chart: [...document.querySelectorAll('#label-chart text.label')].map((t) => [t.textContent, Math.round((t as SVGTextElement).getComputedTextLength())] as const),
      };
    });
    expect(seen.table).toEqual(['bad', 'very   good', 'very  good', 'very good']);
    expect(seen.flips).toEqual([['very  good/1.txt', 'very good', '→ very  good']]);
    expect(seen.added).toEqual(['very   good/2.txt']);
    const width = new Map(seen.chart);
    expect(width.get('very  good')).toBeGreaterThan(width.get('very good') as number);
    expect(width.get('very   good')).toBeGreaterThan(width.get('very  good') as number);
  });

  it('shows a character drawn as a blank space, not a space, as its escape: a braille blank (U+2800) in a label or path', async () => {
    // U+2800 has no compatibility form and is no white space to Unicode, yet it is drawn blank:
    // "very\u2800good" read in the chart, its table and the file list as the label "very good".
    const d: DiffReport = {
      ...incidentDiff(),
      modified: [],
      added: [{ path: 'very\u2800good/2.txt', sha256: 'cd'.repeat(32), size: 1 }],
      summary: { added: 1, removed: 0, modified: 0, renamed: 0, extra: 0, unchanged: 3, bytesAdded: 1, bytesRemoved: 0 },
    };
    const f = incidentFacts(d, { folderLabels: { a: { 'very good': 5 }, b: { 'very good': 5, 'very\u2800good': 1, 'ogham\u1680mark': 1 } } });
    const seen = await onPage(renderIncidentHtml(f), () => ({
      table: [...document.querySelectorAll('#label-counts tbody tr td:first-child')].map((td) => (td as HTMLElement).innerText),
      chart: [...document.querySelectorAll('#label-chart text.label')].map((t) => t.textContent),
      added: [...document.querySelectorAll('#added-files tbody tr td:first-child')].map((td) => (td as HTMLElement).innerText),
      body: document.body.innerText,
    }));
    expect(seen.table).toEqual(['"ogham\\u1680mark"', 'very good', '"very\\u2800good"']); // in the order of the labels themselves
    expect(seen.chart).toEqual(seen.table);
    expect(seen.added).toEqual(['"very\\u2800good/2.txt"']);
    expect(seen.body).not.toMatch(/[\u1680\u2800]/);
  });

  it('draws every name in the order of its characters: letters of a right-to-left script do not reorder a path or a label into another', async () => {
    // The browser's bidirectional algorithm drew "ham/\u05d0/2" (a file 2 in a Hebrew folder) as
    // "ham/2/\u05d0" — exactly as it drew "ham/2/\u05d0" itself —, and "1\u05d0.txt" and
    // "\u05d01.txt" alike: two paths, or two labels, read as one, and a file as another.
    const paths = ['ham/2/\u05d0', 'ham/\u05d0/2', 'ham/1\u05d0.txt', 'ham/\u05d01.txt', 'x/\u0627\u0644 2.csv'];
    const d: DiffReport = {
      ...incidentDiff(),
      modified: [],
      added: paths.map((path) => ({ path, sha256: 'cd'.repeat(32), size: 1 })),
      summary: { added: paths.length, removed: 0, modified: 0, renamed: 0, extra: 0, unchanged: 3, bytesAdded: 5, bytesRemoved: 0 },
    };
    const f = incidentFacts(d, { folderLabels: { a: { '1\u05d0': 5, '\u05d01': 5 }, b: { '1\u05d0': 4, '\u05d01': 6 } } });
    const seen = await onPage(renderIncidentHtml(f), () => {
      // The left edge of each character as drawn, in the order of the characters.
      const lefts = (node: Text) =>
        [...(node.textContent ?? '')].map((_, i) => {
          const r = document.createRange();
          r.setStart(node, i);
          r.setEnd(node, i + 1);
          return Math.round(r.getBoundingClientRect().left * 10) / 10;
        });
      const cells = [...document.querySelectorAll('#added-files tbody td:first-child code, #label-counts tbody td:first-child code')];
      return {
        cells: cells.map((c) => ({ text: c.textContent, lefts: lefts(c.firstChild as Text) })),
        chart: [...document.querySelectorAll('#label-chart text.label tspan')].map((t) => {
          const s = t as SVGTextContentElement;
          return { text: t.textContent, lefts: [...Array(s.getNumberOfChars()).keys()].map((i) => Math.round(s.getStartPositionOfChar(i).x * 10) / 10) };
        }),
      };
    });
    expect(seen.cells.map((c) => c.text)).toEqual(['1\u05d0', '\u05d01', ...paths]);
    expect(seen.chart.map((c) => c.text)).toEqual(['1\u05d0', '\u05d01']);
    for (const c of [...seen.cells, ...seen.chart]) {
      for (let i = 1; i < c.lefts.length; i++) expect(c.lefts[i], `${c.text}: character ${i} drawn left of character ${i - 1}`).toBeGreaterThan(c.lefts[i - 1] as number);
    }
  });

  it('draws every label of the chart inside the chart: a line of wide letters is not cut at its left edge, where two labels would read alike', async () => {
    // A line of 22 "M" (10.4 px each) began 66 px left of the chart, out of sight: the labels
    // "MMM…M" and a poisoner's "WMM…M" were drawn alike, and so were two lines of 22 wide (CJK) letters.
    const m = 'M'.repeat(22);
    const cjk = '\u6b63\u9762\u8a55\u50f9'.repeat(5) + '\u9ad8\u3044';
    const f = incidentFacts(incidentDiff(), { folderLabels: { a: { [m]: 5, [`W${m.slice(1)}`]: 5, [cjk]: 5, [`\u8ca0${cjk.slice(1)}`]: 5 }, b: { [m]: 4, [`W${m.slice(1)}`]: 6, [cjk]: 5, [`\u8ca0${cjk.slice(1)}`]: 5 } } });
    const seen = await onPage(renderIncidentHtml(f), () =>
      [...document.querySelectorAll('#label-chart text.label tspan')].map((t) => {
        const box = (t as SVGGraphicsElement).getBBox();
        return { text: t.textContent, left: box.x };
      }),
    );
    expect(seen.length).toBeGreaterThanOrEqual(4);
    for (const line of seen) expect(line.left, `${line.text} begins left of the chart`).toBeGreaterThanOrEqual(0);
  });

  it('sees a request a page makes (the network check can fail)', async () => {
    const dir = await tempDir('snap-page-');
    const file = join(dir, 'leaky.html');
    await fsp.writeFile(file, '<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png"></body></html>');
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (q) => requests.push(q.url()));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    await page.close();
    expect(requests).toContain('http://127.0.0.1:9/x.png');
  });
});
