/**
 * `snap report --drill`: the JSON of `snap drill --json` read strictly (the hand-written reader
 * agrees with a JSON Schema checked by ajv, and adds the rules a schema cannot say), and rendered.
 */
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { isSnapError } from '../../src/core/errors.js';
import { MAX_DRILL_BYTES, parseDrillResult, type DrillResult } from '../../src/report/drill-facts.js';
import { MAX_BY_NAMED, renderDrillHtml, renderDrillMarkdown } from '../../src/report/render-drill.js';
import { shellWord } from '../../src/report/escape.js';

const FIXTURE = new URL('../fixtures/report/drill-fail.json', import.meta.url);
const SCHEMA = JSON.parse(readFileSync(new URL('../fixtures/report/drill.schema.json', import.meta.url), 'utf8')) as object;
const validate = new Ajv({ allErrors: true }).compile(SCHEMA);

const fixture = (): DrillResult => JSON.parse(readFileSync(FIXTURE, 'utf8')) as DrillResult;
const bytes = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

function refusedCode(input: Uint8Array): string | undefined {
  try {
    parseDrillResult(input);
    return undefined;
  } catch (e) {
    if (!isSnapError(e)) throw e;
    return e.code;
  }
}

/** Changes that break the shape: the schema and the reader must both refuse each. */
const BROKEN: [string, (d: Record<string, any>) => void][] = [
  ['an unknown version', (d) => (d.drill = 2)],
  ['a missing member', (d) => delete d.summary],
  ['an extra member', (d) => (d.generatedAt = 'now')],
  ['an extra member in a planted change', (d) => (d.planted[0].score = 1)],
  ['a verdict that is neither pass nor fail', (d) => (d.verdict = 'ok')],
  ['a seed that is not a whole number', (d) => (d.seed = 1.5)],
  ['a negative count', (d) => (d.summary[0].caught = -1)],
  ['caught that is not a boolean', (d) => (d.planted[0].caught = 'yes')],
  ['notConfigured that is not a boolean', (d) => (d.planted[2].notConfigured = 1)],
  ['a round that is not a whole number', (d) => (d.planted[0].round = -1)],
  ['records that is not a boolean', (d) => (d.records = 'no')],
  ['ok that is not a boolean', (d) => (d.ok = 'no')],
  ['by that is not a list', (d) => (d.planted[0].by = 'verify')],
  ['a list that is an object', (d) => (d.planted = {})],
  ['against without its id', (d) => delete d.against.id],
  ['a string that is too long', (d) => (d.dataset = 'x'.repeat(8193))],
  ['too many attacks', (d) => (d.attacks = Array.from({ length: 257 }, (_, i) => `k${i}`))],
  ['a number where a string belongs', (d) => (d.planted[1].path = 7)],
  ['null instead of an object', (d) => (d.against = null)],
];

describe('reading snap drill --json', () => {
  it('reads the fixture, which the schema accepts too', () => {
    const d = fixture();
    expect(validate(d), JSON.stringify(validate.errors)).toBe(true);
    expect(parseDrillResult(readFileSync(FIXTURE))).toEqual(d);
  });

  it.each(BROKEN)('refuses %s (DRILL_REPORT_MALFORMED), as the schema does', (_what, change) => {
    const d = fixture() as unknown as Record<string, any>;
    change(d);
    expect(validate(d)).toBe(false);
    expect(refusedCode(bytes(d))).toBe('DRILL_REPORT_MALFORMED');
  });

  it('refuses what a schema cannot say: counts that do not add up, a pass with a miss, and ok that is not the verdict', () => {
    const sums = fixture();
    (sums.summary[0] as { caught: number }).caught = 5;
    expect(validate(sums)).toBe(true);
    expect(refusedCode(bytes(sums))).toBe('DRILL_REPORT_MALFORMED');
    const pass = fixture();
    pass.verdict = 'pass';
    expect(validate(pass)).toBe(true);
    expect(refusedCode(bytes(pass))).toBe('DRILL_REPORT_MALFORMED');
    const ok = fixture() as DrillResult & { ok?: boolean };
    ok.ok = true; // the verdict is fail
    expect(validate(ok)).toBe(true);
    expect(refusedCode(bytes(ok))).toBe('DRILL_REPORT_MALFORMED');
    delete ok.ok; // ok is optional: a drill file written before it was added is read
    expect(refusedCode(bytes(ok))).toBeUndefined();
  });

  it.each<[string, (d: DrillResult) => void]>([
    ['a summary that counts more planted changes than the list holds', (d) => Object.assign(d.summary[2] as object, { planted: 500, caught: 499 })],
    ['a summary that calls a caught change missed', (d) => Object.assign(d.summary[0] as object, { caught: 0, missed: 1 })],
    ['a summary row of a kind nothing was planted of', (d) => d.summary.push({ kind: 'truncate', planted: 1, caught: 1, missed: 0, notConfigured: 0, by: ['verify:modified'] })],
    ['a summary without a row for a kind that was planted', (d) => d.summary.splice(1, 1)],
    ['a summary with one kind twice', (d) => d.summary.push({ ...(d.summary[0] as DrillResult['summary'][number]) })],
    ['a planted change caught by nothing', (d) => ((d.planted[1] as DrillResult['planted'][number]).by = [])],
    ['a missed change that names what caught it', (d) => ((d.planted[2] as DrillResult['planted'][number]).by = ['verify:modified'])],
    ['a fail with nothing missed', (d) => {
      d.planted = d.planted.filter((p) => p.caught);
      d.summary = d.summary.map((r) => ({ ...r, planted: r.caught, missed: 0, notConfigured: 0 }));
      delete d.ok;
    }],
  ])('refuses a file that contradicts itself, which the report would show as it is: %s', (_what, change) => {
    const d = fixture();
    change(d);
    expect(validate(d)).toBe(true);
    expect(refusedCode(bytes(d))).toBe('DRILL_REPORT_MALFORMED');
  });

  it('refuses text that is not JSON, a duplicate member, bytes that are not UTF-8, and a file over the size bound', () => {
    expect(refusedCode(bytes('{"drill":1,'))).toBe('DRILL_REPORT_MALFORMED');
    expect(refusedCode(bytes(JSON.stringify(fixture()).replace('"seed":42', '"seed":42,"seed":43')))).toBe('DRILL_REPORT_MALFORMED');
    expect(refusedCode(new Uint8Array([0x7b, 0xff, 0x7d]))).toBe('DRILL_REPORT_MALFORMED');
    expect(refusedCode(new Uint8Array(MAX_DRILL_BYTES + 1))).toBe('DRILL_REPORT_MALFORMED');
  });
});

describe('the drill report', () => {
  it('puts the verdict first, names each miss with why, and escapes hostile keys', () => {
    const page = renderDrillHtml(fixture(), 50);
    expect(page).toMatch(/<section class="verdict bad" id="verdict" data-verdict="fail"><strong>FAIL<\/strong> — the gate missed 1 of 4 planted change\(s\) \(record-label-flip\)/);
    expect(page.indexOf('id="verdict"')).toBeLessThan(page.indexOf('id="drill-summary"'));
    const misses = page.slice(page.indexOf('id="drill-misses"'), page.indexOf('id="planted"'));
    expect(misses).toContain('<code>p3</code>');
    expect(misses).toContain('record checks are switched off');
    expect(misses).not.toContain('<code>p1</code>');
    expect(page).toContain('&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;');
    expect(page).not.toContain('<script');
    expect(page).toContain('<td class="num">2</td><td class="num">1</td><td class="num">0</td><td class="num">1</td>');
  });

  it('says that it rests on the unsigned JSON of snap drill, and how to check it: the same drill again with the same seed', () => {
    const d = fixture();
    const page = renderDrillHtml(d, 50);
    expect(page).toContain(`read from the JSON of snap drill, which is not signed; to check it, run the drill again on the same dataset and snapshot with <code>--seed ${d.seed}</code>`);
    expect(renderDrillMarkdown(d, 50)).toContain(`which is not signed; to check it, run the drill again on the same dataset and snapshot with \`--seed ${d.seed}\`.`);
  });

  it('says PASS when every planted change was caught', () => {
    const d = fixture();
    d.planted = d.planted.filter((p) => p.caught);
    d.summary = d.summary.map((r) => ({ ...r, planted: r.caught, missed: 0, notConfigured: 0 }));
    d.verdict = 'pass';
    d.ok = true;
    expect(renderDrillHtml(parseDrillResult(bytes(d)), 50)).toContain('<strong>PASS</strong> — the gate caught all 3 planted change(s).');
    expect(renderDrillMarkdown(d, 50)).toContain('✅ **PASS**');
  });

  it('is the same byte for byte for the same file, and stays under 1 MB for 100,000 planted changes', () => {
    expect(renderDrillHtml(parseDrillResult(readFileSync(FIXTURE)), 50)).toBe(renderDrillHtml(parseDrillResult(readFileSync(FIXTURE)), 50));
    const d = fixture();
    d.planted = Array.from({ length: 100_000 }, (_, i) => ({ id: `p${i}`, kind: 'record-label-flip', path: 'iris.csv', key: String(i), detail: 'species flipped', caught: i % 2 === 0, by: i % 2 === 0 ? ['records:label-changed'] : [], round: 1 }));
    d.summary = [{ kind: 'record-label-flip', planted: 100_000, caught: 50_000, missed: 50_000, notConfigured: 0, by: ['records:label-changed'] }];
    const text = JSON.stringify(d);
    const r = parseDrillResult(bytes(text));
    const page = renderDrillHtml(r, 50);
    expect(Buffer.byteLength(page)).toBeLessThan(1_000_000);
    expect(page).toContain('… and 49950 more');
    expect(page).toContain('… and 99950 more');
    expect(Buffer.byteLength(renderDrillMarkdown(r, 50))).toBeLessThan(1_000_000);
  });

  it('stays under 1 MB for a drill file whose caught changes each name 256 "caught by" checks of 300 "<": each cell names a few and counts the rest', () => {
    // 40 caught changes and their 40 summary rows, each with 256 "by" entries: a 6 MB file (the
    // bound is 16 MB) whose "by" cells were written whole, each entry as 1,200 characters of "&lt;":
    // a 24 MB page and a 12 MB Markdown.
    const by = Array.from({ length: 256 }, (_, i) => '<'.repeat(296) + String(i).padStart(4, '0'));
    const d = fixture();
    d.planted = Array.from({ length: 40 }, (_, k) => ({ id: `p${k}`, kind: `k${k}`, path: 'x', detail: 'd', caught: true, by }));
    d.planted.push({ id: 'm', kind: 'miss', path: 'x', detail: 'd', caught: false, by: [] });
    d.summary = [...d.planted.map((p) => ({ kind: p.kind, planted: 1, caught: p.caught ? 1 : 0, missed: p.caught ? 0 : 1, notConfigured: 0, by: p.by }))];
    d.attacks = d.planted.map((p) => p.kind);
    d.notApplicable = [];
    delete d.ok;
    d.verdict = 'fail';
    const r = parseDrillResult(bytes(JSON.stringify(d)));
    const page = renderDrillHtml(r, 50);
    const md = renderDrillMarkdown(r, 50);
    expect(Buffer.byteLength(page)).toBeLessThan(1_000_000);
    expect(Buffer.byteLength(md)).toBeLessThan(1_000_000);
    expect(page).toContain(`… and ${256 - MAX_BY_NAMED} more`);
    expect(md).toContain(`… and ${256 - MAX_BY_NAMED} more`);
  });

  it("shows a miss's reason with its suggested seal command intact: pasted from the page or the rendered Markdown, it runs nothing", () => {
    const name = `x'$(id>PWNED)'.csv`;
    const flag = `--records ${shellWord(`${name} key=id label=label`)}`;
    const d = fixture();
    const miss = d.planted.find((p) => !p.caught) as DrillResult['planted'][number];
    miss.reason = `not configured: ${name} has no signed record index; add {"pattern":"x"} to "records" in snap.json (or seal with ${flag}) and seal again`;
    // What a reader copies: the page's text (character references read back), the Markdown as GitHub shows it (backslash escapes read back).
    const fromHtml = renderDrillHtml(d, 50).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
    const fromMd = renderDrillMarkdown(d, 50).replace(/\\([!-/:-@[-`{-~])/g, '$1').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    for (const [where, text] of [['HTML', fromHtml], ['Markdown', fromMd]] as const) {
      const pasted = /seal with (--records .*?)\) and seal again/.exec(text)?.[1];
      expect(pasted, where).toBe(flag);
      const sh = spawnSync('bash', ['-c', `printf '%s\\0' ${pasted}`], { encoding: 'utf8' });
      expect(sh.stdout.split('\0').slice(0, -1), where).toEqual(['--records', `${name} key=id label=label`]);
    }
  });

  it('shows outside text that starts with # as it is: not taken for the table\'s number marker (right-aligned, # dropped)', () => {
    const d = fixture();
    (d.planted[0] as DrillResult['planted'][number]).detail = '#12345 records deleted';
    const page = renderDrillHtml(d, 50);
    expect(page).not.toContain('<td class="num">12345 records deleted</td>');
    expect(page).toContain('<td><span class="text">&#35;12345 records deleted</span></td>');
  });

  it('keeps Markdown table rows to their columns', () => {
    const md = renderDrillMarkdown(fixture(), 50);
    const missRow = md.split('\n').find((l) => l.startsWith('| p3'));
    expect(missRow?.split(/(?<!\\)\|/).length).toBe(8);
    expect(md).toContain('&lt;script&gt;');
  });
});
