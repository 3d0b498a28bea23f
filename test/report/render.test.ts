/**
 * The report's pure half: facts made from a diff (caps, labels, verdict, the restore command) and
 * the HTML and Markdown renderers (escaping of hostile names everywhere, determinism, size).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DiffReport, DiffSide } from '../../src/ops/diff.js';
import type { RecordsReport } from '../../src/records/diff-sets.js';
import { labelShift } from '../../src/records/stats.js';
import { html, markdown, markdownMessage, shellWord } from '../../src/report/escape.js';
import { MAX_CHART_LABELS, chartRows, clip, incidentFacts, MAX_SHOWN_CHARS } from '../../src/report/incident-facts.js';
import { renderIncidentHtml } from '../../src/report/render-incident-html.js';
import { renderIncidentMarkdown } from '../../src/report/render-incident-markdown.js';

const SHA = 'ab'.repeat(32);

const side = (ref: string, trusted?: boolean): DiffSide => ({
  ref,
  snapshot: `sha256:${SHA}`,
  createdAt: '2026-01-01T00:00:00Z',
  signers: [{ keyid: 'cd'.repeat(32), ...(trusted !== undefined ? { trusted } : {}) }],
  ...(trusted !== undefined ? { trusted } : {}),
  ...(trusted === false ? { failure: { code: 'SIGNATURE_INVALID', message: 'no trusted key signed it' } } : {}),
});

function report(over: Partial<DiffReport> = {}): DiffReport {
  const d: DiffReport = {
    a: side('spam@v1'),
    b: side('spam@v2'),
    added: [],
    removed: [],
    modified: [],
    renamed: [],
    extra: [],
    summary: { added: 0, removed: 0, modified: 0, renamed: 0, extra: 0, unchanged: 10, bytesAdded: 0, bytesRemoved: 0 },
    ...over,
  };
  d.summary = { ...d.summary, added: d.added.length, removed: d.removed.length, modified: d.modified.length, renamed: d.renamed.length, extra: d.extra.length };
  return d;
}

/** Hostile names: markup, quotes, a terminal escape, a line break, a bidi override, a byte that is not UTF-8 (PEP 383 surrogate). */
const HOSTILE = ['<script>alert(1)</script>', `"'><svg onload=alert(1)>`, 'a\x1b[31mred\x1b[0m', 'two\nlines|`x`', 'invoice\u202egpj.exe', 'bad\udcffbyte', '&amp;<img src=x>'];

/** Every tag a report may contain: anything else in the output came from a name. */
const TAGS = new Set(['!DOCTYPE', 'html', 'head', 'meta', 'title', 'style', 'body', 'footer', 'h1', 'h2', 'h3', 'p', 'section', 'strong', 'em', 'small', 'code', 'pre', 'br', 'span', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'figure', 'svg', 'rect', 'text', 'tspan', 'g']);

function assertSafeHtml(page: string): void {
  for (const m of page.matchAll(/<\/?([!A-Za-z][A-Za-z0-9]*)/g)) expect(TAGS, `tag <${m[1]}>`).toContain(m[1]);
  for (const tag of page.matchAll(/<[A-Za-z][^>]*>/g)) {
    // every attribute is name="value" with a known name; none is an event handler
    const attrs = tag[0].replace(/^<[A-Za-z0-9]+/, '').replace(/\/?>$/, '');
    expect(attrs.replace(/\s+[A-Za-z-]+="[^"]*"/g, '').trim(), tag[0]).toBe('');
    for (const a of attrs.matchAll(/\s([A-Za-z-]+)="/g)) expect(a[1], tag[0]).not.toMatch(/^on/i);
  }
  expect(page).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]/);
  expect(Buffer.from(page, 'utf8').toString('utf8')).toBe(page); // no lone surrogate: valid UTF-8
  expect(page).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg")/); // no URL but the SVG namespace
}

const hostileReport = () =>
  report({
    a: { ...side(HOSTILE[0] as string, true), signers: [{ keyid: HOSTILE[1] as string, trusted: true }] },
    b: { ...side(HOSTILE[4] as string, false), failure: { code: 'SIGNATURE_INVALID', message: `signed by ${HOSTILE[2]}` } },
    added: HOSTILE.map((n) => ({ path: `${n}/${n}`, sha256: SHA, size: 1 })),
    removed: HOSTILE.map((n) => ({ path: `x/${n}`, target: n, type: 'symlink' as const })),
    renamed: HOSTILE.map((n) => ({ from: `${n}/f`, to: `ham/${n}`, sha256: SHA, size: 3 })),
    extra: [{ side: 'b', path: HOSTILE[5] as string, code: 'PATH_INVALID_UTF8', reason: 'its name is not UTF-8' }],
  });

describe('escaping outside text', () => {
  it('writes the five HTML-special characters as references and control, bidi and non-UTF-8 characters visibly', () => {
    expect(html(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(html('a\x1bb\u202ec\udcffd\ne')).toBe('a\\x1bb\\u202ec\\xffd\\ne');
  });

  it('keeps a Markdown cell one cell: pipes, backticks, brackets escaped, < and & as references, no line break', () => {
    const cell = markdown('a|b`c`[l](javascript:x)<b>&\nnext');
    expect(cell).toBe('a\\|b\\`c\\`\\[l\\](javascript\\:x)&lt;b&gt;&amp;\\\\nnext');
    expect(cell).not.toMatch(/(^|[^\\])\|/);
    expect(cell).not.toContain('\n');
  });

  it('lets no outside text become a link in Markdown: URLs, www. names and e-mail addresses read as the text they are', () => {
    // GFM turns `<http://x>`, `http://x`, `www.x.y` and `a@b.c` into links even in plain text (GFM
    // spec §6.5, §6.9); GitHub's renderer finds e-mail addresses after escapes are read back, so
    // `a\\@b.c` is a link there too. Each trigger must be cut by a node that is not text.
    const names = ['<http://evil.example>', 'http://evil.example/x', 'HTTPS://evil.example', 'ftp://evil.example', 'www.evil.example', 'x WWW.evil.example', 'user@evil.example', 'a/mailto:user@evil.example', 'xmpp:u@evil.example', '[x](http://evil.example)', '![x](http://evil.example/i.png)', '[x]: http://evil.example'];
    for (const n of names) {
      for (const cell of [markdown(n), markdownMessage(`file ${n} changed`)]) {
        const pieces = cell.split('<!-- -->'); // the text nodes a renderer sees
        for (const p of pieces) {
          expect(p, cell).not.toMatch(/\/\//); // no scheme://, no protocol-relative //host
          expect(p, cell).not.toMatch(/www\./i);
          expect(p, cell).not.toMatch(/@[-.\w\\]*\.[A-Za-z0-9]/); // no user@domain.tld
          expect(p, cell).not.toMatch(/(^|[^\\])[[<]/); // no bracket or tag opens
        }
        // What a reader sees: the comments gone, the escapes and references read back.
        const seen = pieces.join('').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').replace(/\\(.)/g, '$1');
        expect(seen).toBe(cell === markdown(n) ? n : `file ${n} changed`);
      }
    }
    expect(markdown('spam@v1')).toBe('spam@v1'); // a ref is not an address: left as it is
  });

  it('keeps every space of a run in Markdown: each after the first is a no-break space, which no renderer collapses', () => {
    // A renderer writes text as HTML, which shows a run of spaces as one: "very  good" read as "very good".
    expect(markdown('very  good')).toBe('very &nbsp;good');
    expect(markdown('a   b c')).toBe('a &nbsp;&nbsp;b c');
    expect(markdownMessage('label very  good is new')).toBe('label very &nbsp;good is new');
    const md = renderIncidentMarkdown(incidentFacts(report(), { folderLabels: { a: { 'very good': 2 }, b: { 'very good': 1, 'very  good': 1 } } }));
    expect(md).toContain('| very &nbsp;good | 0 | 1 | +1 |');
    expect(md).toContain('| very good | 2 | 1 | -1 |');
  });

  it('quotes shell words so that the shell gives back exactly the string', () => {
    expect(shellWord('spam-mini@v1')).toBe('spam-mini@v1');
    expect(shellWord('my keys/ci.pub')).toBe(`'my keys/ci.pub'`);
    expect(shellWord(`it's`)).toBe(`'it'\\''s'`);
    expect(shellWord('')).toBe(`''`);
    for (const s of ['plain', 'with space', `quote ' and "double" $HOME \`cmd\``, 'esc\x1b[31m', 'line\nbreak', 'rtl\u202eabc', 'emoji 😀', 'tab\there', 'zero\u200bwidth', 'tag\u{e0041}char']) {
      const r = spawnSync('bash', ['-c', `printf '%s' ${shellWord(s)}`], { encoding: 'utf8' });
      expect(r.stdout, JSON.stringify(s)).toBe(s);
    }
    expect(shellWord('zero\u200bwidth')).toBe(`$'zero\\xe2\\x80\\x8bwidth'`); // a character one cannot see is written as its bytes
    const raw = spawnSync('bash', ['-c', `printf '%s' ${shellWord('a\udcffb')}`]);
    expect(raw.stdout).toEqual(Buffer.from([0x61, 0xff, 0x62])); // the byte that is not UTF-8, exactly
  });
});

describe('the incident facts', () => {
  it('calls two identical, unchecked sides clean, with nothing to restore', () => {
    const f = incidentFacts(report());
    expect(f.verdict).toBe('identical');
    expect(f.a.trust).toBe('unchecked');
    expect(f.next.action).toBe('none');
  });

  it('calls any difference changed and names the restore command of A, with the trust and store words given', () => {
    const f = incidentFacts(report({ a: side('spam@v1', true), b: side('spam@v2', true), added: [{ path: 'ham/x', sha256: SHA, size: 1 }] }), { trustWords: ['--pubkey', 'keys/ci pub'], storeWords: ['--store', 'st'] });
    expect(f.verdict).toBe('changed');
    expect(f.next).toMatchObject({ action: 'restore', command: `snap restore spam@v1 spam-v1-restored --pubkey 'keys/ci pub' --store st` });
  });

  it('names A whole in the restore command, however long its ref (an archive deep in folders): only the sides table cuts it', () => {
    const archive = `${'/deep'.repeat(80)}/spam@v1.snap.tar`; // 416 characters, over MAX_SHOWN_CHARS
    const f = incidentFacts(report({ a: side(archive, true), b: side('spam@v2', true), added: [{ path: 'ham/x', sha256: SHA, size: 1 }] }), { trustWords: ['--pubkey', 'ci.pub'] });
    expect(f.a.ref).toBe(clip(archive));
    expect(f.next.command).toBe(`snap restore ${archive} spam-v1-restored --pubkey ci.pub`);
  });

  it('calls a side that failed its trust check untrusted whatever the contents, and never offers to restore an untrusted A', () => {
    expect(incidentFacts(report({ a: side('spam@v1', true), b: side('spam@v2', false) })).verdict).toBe('untrusted');
    const f = incidentFacts(report({ a: side('spam@v1', false), b: side('spam@v2', true), added: [{ path: 'x', sha256: SHA, size: 1 }] }));
    expect(f.verdict).toBe('untrusted');
    expect(f.next.action).toBe('review');
    expect(f.next.command).toBeUndefined();
  });

  it('has no snapshot to restore when A is a folder', () => {
    const f = incidentFacts(report({ a: { folder: '/data' }, added: [{ path: 'x', sha256: SHA, size: 1 }] }));
    expect(f.next.action).toBe('review');
  });

  it('treats a file moved between label folders as a label flip naming the file, with the folder counts as the distribution', () => {
    const f = incidentFacts(
      report({ renamed: [{ from: 'spam/1.eml', to: 'ham/1.eml', sha256: SHA, size: 9 }, { from: 'ham/a/2.eml', to: 'ham/b/2.eml', sha256: SHA, size: 9 }], added: [{ path: 'ham/injected.eml', sha256: SHA, size: 5 }] }),
      { folderLabels: { a: { ham: 80, spam: 40 }, b: { ham: 82, spam: 39 } } },
    );
    expect(f.labels?.source).toBe('folders');
    expect(f.labels?.flips).toEqual({ total: 1, items: [{ name: 'ham/1.eml', from: 'spam', to: 'ham' }] });
    expect(f.labels?.chart).toEqual([{ label: 'ham', a: 80, b: 82 }, { label: 'spam', a: 40, b: 39 }]);
    expect(f.labels?.shift.lInf).toBeCloseTo(Math.abs(40 / 120 - 39 / 121), 12);
  });

  it('prefers the record index labels, listing flipped records as key, old → new', () => {
    const records: RecordsReport = {
      sets: [
        {
          name: 'iris.csv', format: 'csv', identity: 'position', label: 'species',
          a: { records: 3, labels: { setosa: 2, virginica: 1 } }, b: { records: 3, labels: { setosa: 1, virginica: 2 } },
          summary: { unchanged: 2, added: 0, removed: 0, modified: 0, flipped: 1, relabelled: 0, labelChanges: 1, duplicates: { a: 0, b: 0 }, conflicts: { a: 0, b: 0 } },
          added: [], removed: [], modified: [], duplicates: [], conflicts: [], relabelled: [],
          flipped: [{ key: 2, from: 'setosa', to: 'virginica', a: { row: 2 }, b: { row: 2 } }],
          shift: labelShift({ setosa: 2, virginica: 1 }, { setosa: 1, virginica: 2 }),
        },
      ],
      unavailable: [],
      summary: { sets: 1, unchanged: 2, added: 0, removed: 0, modified: 0, flipped: 1, relabelled: 0, labelChanges: 1, duplicates: { a: 0, b: 0 }, conflicts: { a: 0, b: 0 } },
      dataset: labelShift({ setosa: 2, virginica: 1 }, { setosa: 1, virginica: 2 }),
    };
    const f = incidentFacts(report({ modified: [{ path: 'iris.csv', a: { path: 'iris.csv', sha256: SHA, size: 1 }, b: { path: 'iris.csv', sha256: 'ef'.repeat(32), size: 1 } }], records }), { folderLabels: { a: { x: 1 }, b: { x: 1 } } });
    expect(f.labels?.source).toBe('records');
    // A record of identity position is named as diff names it: by its row.
    expect(f.labels?.flips.items).toEqual([{ name: 'row 2', set: 'iris.csv', from: 'setosa', to: 'virginica' }]);
    expect(f.records?.sets.items[0]?.flipped.items).toEqual([{ key: 'row 2', from: 'setosa', to: 'virginica' }]);
    const page = renderIncidentHtml(f);
    expect(page).toContain('<code>setosa</code>');
  });

  it('quotes a label that would print like another (a space at an end, empty, a comma), in the flips, the record lists and the chart, in HTML and Markdown', () => {
    const labelsA = { spam: 2, '': 1 };
    const labelsB = { 'spam ': 2, 'a, b': 1 };
    const records: RecordsReport = {
      sets: [
        {
          name: 't.csv', format: 'csv', identity: 'key', key: ['id'], label: 'y',
          a: { records: 3, labels: labelsA }, b: { records: 3, labels: labelsB },
          summary: { unchanged: 0, added: 0, removed: 0, modified: 0, flipped: 3, relabelled: 0, labelChanges: 3, duplicates: { a: 0, b: 0 }, conflicts: { a: 0, b: 0 } },
          added: [], removed: [], modified: [], duplicates: [], conflicts: [], relabelled: [],
          flipped: [
            { key: ['1'], from: 'spam', to: 'spam ', a: { row: 1 }, b: { row: 1 } },
            { key: ['2'], from: 'spam', to: 'spam ', a: { row: 2 }, b: { row: 2 } },
            { key: ['3'], from: '', to: 'a, b', a: { row: 3 }, b: { row: 3 } },
          ],
          shift: labelShift(labelsA, labelsB),
        },
      ],
      unavailable: [],
      summary: { sets: 1, unchanged: 0, added: 0, removed: 0, modified: 0, flipped: 3, relabelled: 0, labelChanges: 3, duplicates: { a: 0, b: 0 }, conflicts: { a: 0, b: 0 } },
      dataset: labelShift(labelsA, labelsB),
    };
    const f = incidentFacts(report({ modified: [{ path: 't.csv', a: { path: 't.csv', sha256: SHA, size: 1 }, b: { path: 't.csv', sha256: 'ef'.repeat(32), size: 1 } }], records }), { folderLabels: { a: {}, b: {} } });
    expect(f.labels?.flips.items[0]).toMatchObject({ from: 'spam', to: '"spam "' });
    expect(f.labels?.flips.items[2]).toMatchObject({ from: '""', to: '"a, b"' });
    // The key as diff writes it (a CSV key's values are strings: 1, not ["1"]).
    expect(f.records?.sets.items[0]?.flipped.items[0]).toEqual({ key: '1', from: 'spam', to: '"spam "' });
    expect(f.labels?.chart.map((r) => r.label)).toEqual(['""', '"a, b"', 'spam', '"spam "']);
    expect(renderIncidentHtml(f)).toContain('<code>&quot;spam &quot;</code>');
    expect(renderIncidentMarkdown(f)).toContain('| spam | → "spam " |');
  });

  it('draws at most MAX_CHART_LABELS labels and sums the rest into one bar', () => {
    const a: Record<string, number> = {};
    const b: Record<string, number> = {};
    for (let i = 0; i < 50; i++) {
      a[`l${String(i).padStart(2, '0')}`] = i + 1;
      b[`l${String(i).padStart(2, '0')}`] = i + 2;
    }
    const rows = chartRows(labelShift(a, b));
    expect(rows).toHaveLength(MAX_CHART_LABELS + 1);
    const other = rows[rows.length - 1];
    expect(other).toMatchObject({ other: true, label: '30 others, summed', a: (30 * 31) / 2, b: (30 * 31) / 2 + 30 });
    expect(rows.slice(0, -1).map((r) => r.label)).toEqual(Array.from({ length: 20 }, (_, i) => `l${i + 30}`));
  });

  it('cuts a very long name, saying how much was left out', () => {
    const long = 'x'.repeat(5000);
    expect(clip(long)).toBe(`${'x'.repeat(MAX_SHOWN_CHARS)}… (${5000 - MAX_SHOWN_CHARS} more characters)`);
    expect(clip('short')).toBe('short');
  });
});

describe('names that could pass for others', () => {
  const CYRILLIC_TRAIN = 'tr\u0430in.jsonl'; // a Cyrillic а
  const file = (path: string, size = 1) => ({ path, sha256: SHA, size });
  /** What a Markdown renderer shows of a cell (CommonMark §2.4 backslash escapes, §6.6 comments, character references read back). */
  const mdSeen = (md: string) => md.replace(/<!-- -->/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').replace(/\\(.)/g, '$1');

  it('writes a path that could pass for another as the CLI does: quoted, each character outside ASCII as \\uXXXX, in HTML and Markdown', () => {
    const f = incidentFacts(report({ added: [file('train.jsonl'), file(CYRILLIC_TRAIN)], renamed: [{ from: 'caf\u00e9.txt', to: 'cafe\u0301.txt', sha256: SHA, size: 2 }] }));
    expect(f.files.added.items.map((e) => e.path)).toEqual(['train.jsonl', '"tr\\u0430in.jsonl"']);
    expect(f.files.renamed.items[0]).toMatchObject({ from: 'caf\u00e9.txt', to: '"cafe\\u0301.txt"' }); // NFC café is nobody's twin: bare
    const page = renderIncidentHtml(f);
    expect(page).toContain('<code>&quot;tr\\u0430in.jsonl&quot;</code>');
    expect(page).toContain('<code>&quot;cafe\\u0301.txt&quot;</code>');
    expect(page).not.toContain(CYRILLIC_TRAIN);
    expect(page).not.toContain('\\\\u0430');
    const md = renderIncidentMarkdown(f);
    expect(mdSeen(md)).toContain('| "tr\\u0430in.jsonl" | 1 B |');
    expect(mdSeen(md)).toContain('| caf\u00e9.txt | "cafe\\u0301.txt" | 2 B |');
    expect(md).not.toContain(CYRILLIC_TRAIN);
  });

  it('shows a look-alike label and record key with their escapes once: "c\\u0430t", not "c\\\\u0430t"', () => {
    const labelsA = { cat: 2 };
    const labelsB = { cat: 1, 'c\u0430t': 1 };
    const records: RecordsReport = {
      sets: [
        {
          name: 't.jsonl', format: 'jsonl', identity: 'key', key: ['id'], label: 'y',
          a: { records: 2, labels: labelsA }, b: { records: 2, labels: labelsB },
          summary: { unchanged: 1, added: 0, removed: 0, modified: 0, flipped: 1, relabelled: 0, labelChanges: 1, duplicates: { a: 0, b: 0 }, conflicts: { a: 0, b: 0 } },
          added: [], removed: [], modified: [], duplicates: [], conflicts: [], relabelled: [],
          flipped: [{ key: ['d\u043eg'], from: 'cat', to: 'c\u0430t', a: { row: 1 }, b: { row: 1 } }],
          shift: labelShift(labelsA, labelsB),
        },
      ],
      unavailable: [],
      summary: { sets: 1, unchanged: 1, added: 0, removed: 0, modified: 0, flipped: 1, relabelled: 0, labelChanges: 1, duplicates: { a: 0, b: 0 }, conflicts: { a: 0, b: 0 } },
      dataset: labelShift(labelsA, labelsB),
    };
    const f = incidentFacts(report({ modified: [{ path: 't.jsonl', a: file('t.jsonl'), b: { ...file('t.jsonl'), sha256: 'ef'.repeat(32) } }], records }));
    expect(f.labels?.flips.items).toEqual([{ name: '"d\\u043eg"', set: 't.jsonl', from: 'cat', to: '"c\\u0430t"' }]);
    expect(f.labels?.chart.map((r) => r.label)).toEqual(['cat', '"c\\u0430t"']);
    const page = renderIncidentHtml(f);
    expect(page).toContain('<td><code>&quot;d\\u043eg&quot;</code></td><td><code>t.jsonl</code></td><td><code>cat</code></td><td>→ <code>&quot;c\\u0430t&quot;</code></td>');
    expect(page).toContain('data-label="&quot;c\\u0430t&quot;"');
    expect(page).toMatch(/text-anchor="end"><tspan [^>]*>&quot;c\\u0430t&quot;<\/tspan><\/text>/);
    expect(page).not.toContain('\\\\u0');
    const md = renderIncidentMarkdown(f);
    expect(mdSeen(md)).toContain('| "d\\u043eg" | t.jsonl | cat | → "c\\u0430t" |');
    expect(mdSeen(md)).toContain('| "c\\u0430t" | 0 | 1 | +1 |');
    expect(mdSeen(md)).not.toContain('\\\\u0');
  });

  it('escapes a long look-alike path whole, then cuts the escaped text, never in the middle of an escape', () => {
    const long = `${'a'.repeat(MAX_SHOWN_CHARS - 4)}\u0430.csv`; // one word mixing Latin and Cyrillic
    const f = incidentFacts(report({ added: [file(long)] }));
    // "aaa…a\u0430.csv": the cut at MAX_SHOWN_CHARS falls inside \u0430, so it comes before it.
    const shown = `"${'a'.repeat(MAX_SHOWN_CHARS - 4)}\\u0430.csv"`;
    expect(f.files.added.items[0]?.path).toBe(`${shown.slice(0, MAX_SHOWN_CHARS - 3)}… (${shown.length - (MAX_SHOWN_CHARS - 3)} more characters)`);
    for (const cut of ['\\u', '\\u0', '\\u04', '\\u043']) expect(f.files.added.items[0]?.path).not.toContain(`${cut}…`);
  });
});

describe('the HTML page', () => {
  it('is one self-contained document: a CSP that loads nothing, no script, no external URL', () => {
    const page = renderIncidentHtml(incidentFacts(report()));
    expect(page).toMatch(/^<!DOCTYPE html>\n<html lang="en">/);
    expect(page).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;; img-src data:">`);
    expect(page).not.toMatch(/<script|<link|<iframe|<object|@import|url\(/i);
    assertSafeHtml(page);
  });

  it('escapes hostile file names, refs, keyids, labels and messages everywhere, SVG text and attributes included', () => {
    const d = hostileReport();
    const labels: Record<string, number> = {};
    for (const n of HOSTILE) labels[n] = 3;
    const f = incidentFacts(d, { folderLabels: { a: labels, b: { ...labels, ham: 7 } } });
    const page = renderIncidentHtml(f);
    assertSafeHtml(page);
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    // (a label with a double quote is written as its JSON string, see labelText: its \" once, not \\")
    expect(page).toContain('data-label="&quot;\\&quot;&#39;&gt;&lt;svg onload=alert(1)&gt;&quot;"');
    expect(page).toContain('invoice\\u202egpj.exe');
    expect(page).toContain('bad\\xffbyte');
    expect(page).toContain('a\\x1b[31mred\\x1b[0m');
    expect(page).toContain('&amp;amp;&lt;img src=x&gt;');
  });

  it('shows the restore command so that, copied into bash, it gives the same words — an archive name with a quote and $(…) runs nothing', () => {
    const words = [`x'$(touch PWNED)'.snap.tar`, 'back\\slash', 'esc\x1b[31m'];
    for (const ref of words) {
      const f = incidentFacts(report({ a: side(ref, true), b: side('spam@v2', true), added: [{ path: 'x', sha256: SHA, size: 1 }] }), { trustWords: ['--pubkey', "o'brien/ci.pub"] });
      const page = renderIncidentHtml(f);
      const shown = /<pre class="cmd" id="restore-command">([^<]*)<\/pre>/.exec(page)?.[1] ?? '';
      // What a reader copies from the page: the text with its character references read back.
      const copied = shown.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
      expect(copied).toBe(f.next.command);
      const r = spawnSync('bash', ['-c', `printf '%s\\0' ${copied.replace(/^snap /, '')}`], { encoding: 'utf8' });
      expect(r.stdout.split('\0').slice(0, -1), JSON.stringify(ref)).toEqual(['restore', ref, expect.any(String), '--pubkey', "o'brien/ci.pub"]);
    }
    assertSafeHtml(renderIncidentHtml(incidentFacts(report({ a: side(words[2] as string, true), added: [{ path: 'x', sha256: SHA, size: 1 }] }))));
  });

  it('is the same, byte for byte, for the same facts', () => {
    const f1 = incidentFacts(hostileReport(), { folderLabels: { a: { ham: 1 }, b: { ham: 2 } } });
    const f2 = incidentFacts(structuredClone(hostileReport()), { folderLabels: { a: { ham: 1 }, b: { ham: 2 } } });
    expect(renderIncidentHtml(f1)).toBe(renderIncidentHtml(f2));
    expect(renderIncidentMarkdown(f1)).toBe(renderIncidentMarkdown(f2));
  });

  it('stays under 1 MB for 100,000 flipped labels and 100,000 added files: counts and the first N of each kind', () => {
    const n = 100_000;
    const renamed = Array.from({ length: n }, (_, i) => ({ from: `spam/${String(i).padStart(6, '0')}.eml`, to: `ham/${String(i).padStart(6, '0')}.eml`, sha256: SHA, size: 100 }));
    const added = Array.from({ length: n }, (_, i) => ({ path: `ham/new-${i}.eml`, sha256: SHA, size: 10 }));
    const f = incidentFacts(report({ renamed, added }), { folderLabels: { a: { ham: n, spam: 2 * n }, b: { ham: 3 * n, spam: n } }, maxItems: 50 });
    expect(f.labels?.flips.total).toBe(n);
    expect(f.labels?.flips.items).toHaveLength(50);
    expect(f.files.added).toMatchObject({ total: n });
    expect(f.files.added.items).toHaveLength(50);
    const page = renderIncidentHtml(f);
    expect(Buffer.byteLength(page)).toBeLessThan(1_000_000);
    expect(page).toContain(`… and ${n - 50} more`);
    expect(Buffer.byteLength(renderIncidentMarkdown(f))).toBeLessThan(1_000_000);
  });

  it('stays under 1 MB for 50 record sets of 60 flipped, added, removed and modified records each, keys and labels long and all "<": the sets share the rows', () => {
    // Each list of each set was cut to --max-items on its own: 50 sets × 4 lists × 50 rows, each
    // name written as up to 1,200 characters of "&lt;", made a 27 MB page and Markdown (a GitHub
    // job summary over 1 MiB is refused whole).
    const label = (i: number) => '<'.repeat(250) + i;
    const key = (s: number, i: string) => ['<'.repeat(290) + `${s}_${i}`];
    const summary = { unchanged: 0, added: 60, removed: 60, modified: 60, flipped: 60, relabelled: 0, labelChanges: 120, duplicates: { a: 0, b: 0 }, conflicts: { a: 0, b: 0 } };
    const sets = Array.from({ length: 50 }, (_, s) => {
      const rows = <T>(f: (i: number) => T) => Array.from({ length: 60 }, (_, i) => f(i));
      return {
        name: `set${s}.csv`, format: 'csv', identity: 'key' as const, key: ['id'], label: 'y',
        a: { records: 180, labels: {} }, b: { records: 180, labels: {} }, summary,
        flipped: rows((i) => ({ key: key(s, `f${i}`), from: label(1), to: label(2), a: { row: i }, b: { row: i } })),
        added: rows((i) => ({ key: key(s, `a${i}`), row: i, label: label(3), fingerprint: SHA })),
        removed: rows((i) => ({ key: key(s, `r${i}`), row: i, label: label(4), fingerprint: SHA })),
        modified: rows((i) => ({ key: key(s, `m${i}`), a: { row: i, label: label(5) }, b: { row: i, label: label(6) }, labelChanged: true })),
        duplicates: [], conflicts: [], relabelled: [],
      };
    });
    const records = { sets, unavailable: [], summary: { sets: 50, unchanged: 0, added: 3000, removed: 3000, modified: 3000, flipped: 3000, relabelled: 0, labelChanges: 6000, duplicates: { a: 0, b: 0 }, conflicts: { a: 0, b: 0 } } } as unknown as RecordsReport;
    const f = incidentFacts(report({ modified: sets.map((x) => ({ path: x.name, a: { path: x.name, sha256: SHA, size: 1 }, b: { path: x.name, sha256: 'ef'.repeat(32), size: 2 } })), records }));
    const page = renderIncidentHtml(f);
    const md = renderIncidentMarkdown(f);
    expect(Buffer.byteLength(page)).toBeLessThan(1_000_000);
    expect(Buffer.byteLength(md)).toBeLessThan(1_000_000);
    // Every set is still counted, and what is not listed is said.
    expect(f.records?.sets.items).toHaveLength(50);
    for (const x of f.records?.sets.items ?? []) expect([x.flipped.total, x.added.total, x.removed.total, x.modified.total]).toEqual([60, 60, 60, 60]);
    expect(page).toContain('… and 60 more (the first 0 are shown; snap diff --json lists all)');
    expect(md).toContain('_Added records: … and 60 more (the first 0 are shown; snap diff --json lists all)_');
  });
});

describe('the Markdown summary', () => {
  it('keeps every table row to its columns, whatever the names hold', () => {
    const md = renderIncidentMarkdown(incidentFacts(hostileReport(), { folderLabels: { a: { '|x|': 1 }, b: { '|x|': 2 } } }));
    for (const line of md.split('\n').filter((l) => l.startsWith('|'))) {
      const cells = line.replace(/\\\\/g, '').split(/(?<!\\)\|/).length - 2;
      const header = line.startsWith('| ---') || line.startsWith('|---');
      if (!header) expect([2, 3, 4], line).toContain(cells);
    }
    const prose = md.replace(/```sh\n[^\n]*\n```/g, ''); // the shell command is code: shown as it is
    expect(prose).not.toMatch(/<(?!br>)[a-z]/i); // no tag but our <br>
    expect(md).toContain('&lt;script&gt;');
    expect(md).not.toMatch(/[\x00-\x09\x0b-\x1f\u202e]/);
  });

  it('counts the duplicate keys and conflicting labels B holds, as the page and diff --json do: a key given a second record with another label is the poisoning', () => {
    // B (a folder) repeats keys 1 and 2, each with the other label: diff counts 2 records added, 2 duplicates and 1 conflicting label group in B.
    const summary = { unchanged: 2, added: 2, removed: 0, modified: 0, flipped: 0, relabelled: 0, labelChanges: 0, duplicates: { a: 0, b: 2 }, conflicts: { a: 0, b: 1 } };
    const records: RecordsReport = {
      sets: [
        {
          name: 't.csv', format: 'csv', identity: 'key', key: ['id'], label: 'label',
          a: { records: 2, labels: { ham: 1, spam: 1 } }, b: { records: 4, labels: { ham: 2, spam: 2 } },
          summary,
          added: [{ key: ['1'], row: 3, label: 'ham', fingerprint: SHA }, { key: ['2'], row: 4, label: 'spam', fingerprint: SHA }],
          removed: [], modified: [], flipped: [], duplicates: [], conflicts: [], relabelled: [],
          shift: labelShift({ ham: 1, spam: 1 }, { ham: 2, spam: 2 }),
        },
      ],
      unavailable: [],
      summary: { sets: 1, ...summary },
      dataset: labelShift({ ham: 1, spam: 1 }, { ham: 2, spam: 2 }),
    };
    const f = incidentFacts(report({ modified: [{ path: 't.csv', a: { path: 't.csv', sha256: SHA, size: 1 }, b: { path: 't.csv', sha256: 'ef'.repeat(32), size: 2 } }], records }));
    expect(renderIncidentHtml(f)).toContain('duplicates in B: 2; conflicting labels in B: 1');
    const md = renderIncidentMarkdown(f);
    expect(md).toContain('1 record set(s): 2 added, 0 removed, 0 modified, 0 flipped; duplicates in B: 2; conflicting labels in B: 1.');
    expect(md).toContain('**t.csv**: 2 added, 0 removed, 0 modified, 0 flipped; duplicates in B: 2; conflicting labels in B: 1');
  });

  it('writes the restore command in a shell code block', () => {
    const md = renderIncidentMarkdown(incidentFacts(report({ a: side('spam@v1', true), b: side('spam@v2', true), added: [{ path: 'x', sha256: SHA, size: 1 }] }), { trustWords: ['--pubkey', 'ci.pub'] }));
    expect(md).toContain('```sh\nsnap restore spam@v1 spam-v1-restored --pubkey ci.pub\n```');
  });
});

describe('the renderers are pure', () => {
  const PURE = ['escape.ts', 'incident-facts.ts', 'chart.ts', 'html-page.ts', 'render-incident-html.ts', 'render-incident-markdown.ts', 'render-drill.ts', 'drill-facts.ts'];
  const FORBIDDEN = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"`](?:node:)?(?:fs|fs\/promises|process|worker_threads|child_process|os|path|crypto|net|http|https)['"`]/;
  it.each(PURE)('src/report/%s loads no I/O module, reads no clock and no environment', (name) => {
    const src = readFileSync(new URL(`../../src/report/${name}`, import.meta.url), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    expect(src).not.toMatch(FORBIDDEN);
    expect(src).not.toMatch(/\bprocess\s*\.|\bDate\b|Math\.random/);
  });
});
