/**
 * Planning a drill is pure and deterministic: the same seed and dataset give the same plan, byte
 * for byte; each kind plants what it says (a look-alike letter, CRLF line ends, one record's label
 * flipped and nothing else); kinds that cannot apply are named with a reason; `--attacks` refuses
 * unknown, empty and repeated names; and a planted change counts as caught only when the gate
 * names it.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ATTACK_KINDS, parseAttackList, RECORD_KINDS } from '../../src/drill/kinds.js';
import { lookalike, planDrill, type DrillFile, type PlanInput, type RecordTarget } from '../../src/drill/plan.js';
import { lineOf, parseTable, recordOf, renderRecord, serializeEdit } from '../../src/drill/table.js';
import { judge } from '../../src/drill/judge.js';
import { rounds } from '../../src/drill/run.js';
import { drillReport } from '../../src/drill/report.js';
import { isSnapError } from '../../src/core/errors.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const CSV = 'id,x,label\n1,0.5,spam\n2,1.25,ham\n3,2,ham\n';

function input(seed: number, kinds = [...ATTACK_KINDS]): PlanInput {
  const files: DrillFile[] = [
    { path: 'ham/a.txt', size: 12, bytes: enc.encode('hello\nworld\n') },
    { path: 'ham/b.txt', size: 4, bytes: enc.encode('b b\n') },
    { path: 'spam/c.txt', size: 6, bytes: enc.encode('c\r\nc\r\n') },
    { path: 'train.csv', size: CSV.length, bytes: enc.encode(CSV) },
  ];
  const records: RecordTarget[] = [{ path: 'train.csv', format: 'csv', identity: 'key', key: ['id'], label: 'label', configured: true }];
  return { seed, kinds, files, allPaths: new Set(files.map((f) => f.path)), records };
}

const json = (v: unknown) => JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x));

describe('planDrill', () => {
  it('gives the same plan for the same seed, and plants each kind once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999_999 }), (seed) => {
        const a = planDrill(input(seed));
        expect(json(planDrill(input(seed)))).toBe(json(a));
        expect(a.planted.map((p) => p.kind).sort()).toEqual([...ATTACK_KINDS].sort());
        expect(a.notApplicable).toEqual([]);
        expect(a.planted.map((p) => p.id)).toEqual(a.planted.map((_p, i) => `p${i + 1}`));
      }),
      { numRuns: 50 },
    );
  });

  it('plants other changes for other seeds', () => {
    const plans = new Set([1, 2, 3, 4, 5, 6].map((s) => json(planDrill(input(s)))));
    expect(plans.size).toBeGreaterThan(1);
  });

  it('flips one record label and leaves every other byte as it was', () => {
    const p = planDrill(input(3, ['record-label-flip'])).planted[0];
    expect(p?.edit.op).toBe('write');
    const after = dec.decode((p?.edit as { bytes: Uint8Array }).bytes).split('\n');
    const before = CSV.split('\n');
    const changed = before.map((l, i) => (l === after[i] ? -1 : i)).filter((i) => i >= 0);
    expect(changed).toEqual([p?.row]);
    const [id, x, label] = (before[p?.row as number] as string).split(',');
    expect(after[p?.row as number]).toBe(`${id},${x},${label === 'spam' ? 'ham' : 'spam'}`);
    expect(p?.key).toBe(`["${id}"]`);
  });

  it('injects a record with a key no record has, and a conflicting duplicate with the same key', () => {
    const inj = planDrill(input(1, ['record-inject'])).planted[0];
    const dup = planDrill(input(1, ['record-duplicate-conflict'])).planted[0];
    expect(inj).toMatchObject({ row: 4, side: 'b' });
    expect(['["1"]', '["2"]', '["3"]']).not.toContain(inj?.key);
    expect(dup).toMatchObject({ row: 4, side: 'b' });
    expect(['["1"]', '["2"]', '["3"]']).toContain(dup?.key);
  });

  it('nudges a numeric feature by a tiny amount', () => {
    const p = planDrill(input(2, ['feature-nudge'])).planted[0];
    const lines = dec.decode((p?.edit as { bytes: Uint8Array }).bytes).split('\n');
    const [, x0] = (CSV.split('\n')[p?.row as number] as string).split(',');
    const [, x1] = (lines[p?.row as number] as string).split(',');
    expect(Math.abs(Number(x1) - Number(x0))).toBeGreaterThan(0);
    expect(Math.abs(Number(x1) - Number(x0))).toBeLessThan(1e-3);
  });

  it('nudges a JSON number to another finite number, and the detail names the value written: the largest double is not nudged to Infinity (written as null)', () => {
    for (const v of ['1.7976931348623157e308', '-1.7976931348623157e308', '5e-324', '1e-320', '0', '-0', '3']) {
      const text = `{"id":1,"v":${v},"y":"a"}\n`;
      const files: DrillFile[] = [{ path: 'd.jsonl', size: text.length, bytes: enc.encode(text) }];
      const records: RecordTarget[] = [{ path: 'd.jsonl', format: 'jsonl', identity: 'key', key: ['id'], label: 'y', configured: true }];
      const p = planDrill({ seed: 1, kinds: ['feature-nudge'], files, allPaths: new Set(['d.jsonl']), records }).planted[0];
      const written = JSON.parse(dec.decode((p?.edit as { bytes: Uint8Array }).bytes)) as { v: unknown };
      expect(typeof written.v, v).toBe('number');
      expect(Number.isFinite(written.v), v).toBe(true);
      expect(written.v, v).not.toBe(Number(v));
      expect(p?.detail, v).toBe(`record [1] (row 1): v ${String(Number(v))} → ${String(written.v)}`);
    }
  });

  it('converts LF to CRLF only in a file that has bare LF, and keeps size and mtime on a byte flip', () => {
    const plan = planDrill(input(5, ['crlf', 'byte-flip-keep-size-mtime']));
    const crlf = plan.planted.find((p) => p.kind === 'crlf');
    expect(crlf?.path).not.toBe('spam/c.txt');
    expect(dec.decode((crlf?.edit as { bytes: Uint8Array }).bytes)).not.toMatch(/[^\r]\n/);
    const flip = plan.planted.find((p) => p.kind === 'byte-flip-keep-size-mtime');
    expect(flip?.edit).toMatchObject({ op: 'write', keepTimes: true });
    const f = input(5).files.find((x) => x.path === flip?.path);
    expect((flip?.edit as { bytes: Uint8Array }).bytes.length).toBe(f?.size);
  });

  it('moves a file between label folders, to a name that does not exist', () => {
    const p = planDrill(input(9, ['label-folder-move'])).planted[0];
    expect(p?.edit.op).toBe('move');
    const { from, to } = p?.edit as { from: string; to: string };
    expect(from.split('/')[0]).not.toBe(to.split('/')[0]);
    expect(input(9).allPaths.has(to)).toBe(false);
    expect(p?.paths).toEqual([from, to]);
  });

  it('moves a file between label folders that all hold the same names (cat/1.jpg, dog/1.jpg) under a name of its own there; it was "not applicable: no label folders" and the drill passed (found by review, thirty-eighth session)', () => {
    const files: DrillFile[] = ['cat', 'dog'].flatMap((c) => ['0001.jpg', '0002.jpg'].map((n) => ({ path: `${c}/${n}`, size: 3, bytes: enc.encode(`${c}\n`) })));
    const allPaths = new Set(files.map((f) => f.path));
    const plan = planDrill({ seed: 3, kinds: ['label-folder-move'], files, allPaths, records: [] });
    expect(plan.notApplicable).toEqual([]);
    const { from, to } = plan.planted[0]?.edit as { from: string; to: string };
    expect(from.split('/')[0]).not.toBe(to.split('/')[0]);
    expect(to.split('/')[1]).toBe(`drill-${from.split('/')[1]}`);
    expect(allPaths.has(to)).toBe(false);
    // With those names taken too, the next ones are tried.
    const taken = new Set([...allPaths, ...['cat', 'dog'].flatMap((c) => ['0001.jpg', '0002.jpg'].map((n) => `${c}/drill-${n}`))]);
    const again = planDrill({ seed: 3, kinds: ['label-folder-move'], files, allPaths: taken, records: [] });
    expect((again.planted[0]?.edit as { to: string }).to).toMatch(/^(cat|dog)\/drill-2-000[12]\.jpg$/);
  });

  it('names a kind that cannot apply, with a reason, instead of planting it', () => {
    const flat: PlanInput = { seed: 1, kinds: [...ATTACK_KINDS], files: [{ path: 'only.bin', size: 0, bytes: new Uint8Array() }], allPaths: new Set(['only.bin']), records: [] };
    const plan = planDrill(flat);
    const na = Object.fromEntries(plan.notApplicable.map((n) => [n.kind, n.reason]));
    for (const k of RECORD_KINDS) expect(na[k]).toMatch(/no record files/);
    expect(na['label-folder-move']).toMatch(/label folders/);
    expect(na['truncate']).toBeDefined();
    expect(na['crlf']).toBeDefined();
    expect(plan.planted.map((p) => p.kind)).toContain('file-inject');
  });

  it('never attacks a reserved path (snap.json)', () => {
    const i = input(4);
    const files = [...i.files, { path: 'snap.json', size: 2, bytes: enc.encode('{}') }];
    for (let seed = 0; seed < 30; seed++) {
      const plan = planDrill({ ...i, seed, files, allPaths: new Set(files.map((f) => f.path)), reserved: new Set(['snap.json']) });
      for (const p of plan.planted) expect(p.paths).not.toContain('snap.json');
    }
  });
});

describe('lookalike', () => {
  it('replaces a letter of a folder name first: spam → ѕpam (U+0455)', () => {
    expect(lookalike('spam/x.txt')).toEqual({ path: '\u0455pam/x.txt', what: '"s" → U+0455' });
    expect(lookalike('ham/x.txt')?.path).toBe('h\u0430m/x.txt');
    expect(lookalike('123/456')).toBeUndefined();
  });
});

describe('table', () => {
  const bytesText = (b: Uint8Array) => new TextDecoder('utf-8', { ignoreBOM: true }).decode(b); // the BOM kept

  it('gives back the same bytes it parsed, CRLF, BOM and a last line without newline included', () => {
    for (const text of [CSV, '\uFEFFa,b\r\n1,2\r\n3,4', '{"a":1}\n{"a":2}', 'a,b\n1,2\n3,4\r']) {
      const t = parseTable(enc.encode(text), text.startsWith('{') ? 'jsonl' : 'csv');
      if ('unsupported' in t) throw new Error(t.unsupported);
      for (let i = 0; i < t.length; i++) expect(bytesText(serializeEdit(t, { replace: i, line: lineOf(t, i) }))).toBe(text);
    }
  });

  it('changes only the record an edit names: a last line without a line end gets one when a record follows it, and a removed last record leaves its line end', () => {
    const t = parseTable(enc.encode('\uFEFFa,b\r\n1,2\r\n3,4\r\n5,6'), 'csv');
    if ('unsupported' in t) throw new Error(t.unsupported);
    expect(bytesText(serializeEdit(t, { replace: 1, line: '3,9' }))).toBe('\uFEFFa,b\r\n1,2\r\n3,9\r\n5,6');
    expect(bytesText(serializeEdit(t, { remove: 0 }))).toBe('\uFEFFa,b\r\n3,4\r\n5,6');
    expect(bytesText(serializeEdit(t, { remove: 2 }))).toBe('\uFEFFa,b\r\n1,2\r\n3,4');
    expect(bytesText(serializeEdit(t, { append: '7,8' }))).toBe('\uFEFFa,b\r\n1,2\r\n3,4\r\n5,6\r\n7,8\r\n');
    const one = parseTable(enc.encode('a,b\n1,2\n'), 'csv');
    if ('unsupported' in one) throw new Error(one.unsupported);
    expect(bytesText(serializeEdit(one, { remove: 0 }))).toBe('a,b\n');
    const none = parseTable(enc.encode('a,b'), 'csv');
    if ('unsupported' in none) throw new Error(none.unsupported);
    expect(bytesText(serializeEdit(none, { append: '1,2' }))).toBe('a,b\n1,2\n');
  });

  it('edits CSV with quoted fields record by record (RFC 4180: commas, "" and line breaks inside quotes); it refused every such file, so one quoted field made every record attack "not applicable" (found by review, thirty-eighth session)', () => {
    const text = 'id,"text",label\r\n1,"hello, ""world""",spam\r\n2,"two\r\nlines",ham\r\n3,plain,ham';
    const t = parseTable(enc.encode(text), 'csv');
    if ('unsupported' in t) throw new Error(t.unsupported);
    expect(t.columns).toEqual(['id', 'text', 'label']);
    expect(t.length).toBe(3);
    expect([0, 1, 2].map((i) => recordOf(t, i))).toEqual([
      { id: '1', text: 'hello, "world"', label: 'spam' },
      { id: '2', text: 'two\r\nlines', label: 'ham' },
      { id: '3', text: 'plain', label: 'ham' },
    ]);
    for (let i = 0; i < t.length; i++) expect(bytesText(serializeEdit(t, { replace: i, line: lineOf(t, i) }))).toBe(text);
    // A label flipped on the record that spans lines: that record's label changes, every other byte stays.
    expect(bytesText(serializeEdit(t, { replace: 1, line: renderRecord(t, { ...recordOf(t, 1), label: 'spam' }) }))).toBe(text.replace('lines",ham', 'lines",spam'));
    expect(renderRecord(t, { id: '4', text: 'a "b", c', label: 'x' })).toBe('4,"a ""b"", c",x');
    const plan = planDrill({ seed: 2, kinds: ['record-label-flip'], files: [{ path: 't.csv', size: text.length, bytes: enc.encode(text) }], allPaths: new Set(['t.csv']), records: [{ path: 't.csv', format: 'csv', identity: 'key', key: ['id'], label: 'label', configured: true }] });
    expect(plan.notApplicable).toEqual([]);
    expect(plan.planted[0]?.kind).toBe('record-label-flip');
  });

  it('refuses a quote never closed or out of place, and ragged rows (edited, they could change other records)', () => {
    expect(parseTable(enc.encode('a,b\n"x,y,1\n'), 'csv')).toHaveProperty('unsupported');
    expect(parseTable(enc.encode('a,b\nx"y,1\n'), 'csv')).toHaveProperty('unsupported');
    expect(parseTable(enc.encode('a,b\n"x"y,1\n'), 'csv')).toHaveProperty('unsupported');
    expect(parseTable(enc.encode('a,b\n"x,y",1,2\n'), 'csv')).toHaveProperty('unsupported');
    expect(parseTable(enc.encode('a,b\n1\n'), 'csv')).toHaveProperty('unsupported');
    expect(parseTable(enc.encode('[1]\n'), 'jsonl')).toHaveProperty('unsupported');
  });

  it('refuses a TSV read with quoting "csv" that holds a quote, and edits one read with quoting "none" line by line (its quotes are data)', () => {
    const text = enc.encode('a\tb\n"x\t1\n');
    expect(parseTable(text, 'tsv', 'csv')).toHaveProperty('unsupported');
    const t = parseTable(text, 'tsv', 'none');
    if ('unsupported' in t) throw new Error(t.unsupported);
    expect(recordOf(t, 0)).toEqual({ a: '"x', b: '1' });
  });
});

describe('parseAttackList (--attacks)', () => {
  it('takes a comma list in any order and returns it in report order', () => {
    expect(parseAttackList('crlf, record-delete')).toEqual(['record-delete', 'crlf']);
    expect(parseAttackList(undefined)).toEqual([...ATTACK_KINDS]);
  });

  it('refuses unknown, empty and repeated names as USAGE', () => {
    for (const bad of ['', 'crlf,', 'nope', 'crlf,crlf', 'CRLF', 'x'.repeat(2000)]) {
      let code: string | undefined;
      try {
        parseAttackList(bad);
      } catch (e) {
        code = isSnapError(e) ? e.code : 'other';
      }
      expect(code, bad).toBe('USAGE');
    }
  });
});

describe('judge', () => {
  const plan = planDrill(input(1));
  const byKind = (k: string) => plan.planted.find((p) => p.kind === k) as (typeof plan.planted)[number];

  it('catches a file-level change only when verify names every path it touched', () => {
    const move = byKind('label-folder-move');
    const [from, to] = move.paths as [string, string];
    expect(judge(move, { problems: [{ path: to, kind: 'extra' }], recordsOn: false }).caught).toBe(false);
    const v = judge(move, { problems: [{ path: to, kind: 'extra', movedFrom: from }, { path: from, kind: 'missing', movedTo: to }], recordsOn: false });
    expect(v).toEqual({ caught: true, by: ['verify:extra', 'verify:missing', 'verify:moved'] });
  });

  it('does not count a record change as caught when verify names only its file', () => {
    const flip = byKind('record-label-flip');
    const v = judge(flip, { problems: [{ path: 'train.csv', kind: 'modified' }], recordsOn: false });
    expect(v.caught).toBe(false);
    expect(v.notConfigured).toBe(true);
  });

  it('catches a record change when the record diff names its row', () => {
    const flip = byKind('record-label-flip');
    const set = { name: 'train.csv', format: 'csv', identity: 'key', a: { records: 3 }, b: { records: 3 }, summary: {} as never, added: [], removed: [], modified: [], duplicates: [], conflicts: [] };
    const other = { ...set, flipped: [{ key: ['9'], from: 'ham', to: 'spam', a: { row: 99 }, b: { row: 99 } }] };
    const named = { ...set, flipped: [{ key: [String(flip.row)], from: 'ham', to: 'spam', a: { row: flip.row as number }, b: { row: flip.row as number } }] };
    const gate = (s: unknown) => ({ problems: [], recordsOn: true, records: { sets: [s], unavailable: [] } as never, breaches: [{ set: 'train.csv', rule: 'maxLabelChanges', value: 1, message: '' }] });
    expect(judge(flip, gate(other)).caught).toBe(false);
    expect(judge(flip, gate(named))).toMatchObject({ caught: true, by: ['check:maxLabelChanges', 'records:flipped'] });
  });
});

describe('rounds', () => {
  it('never puts two changes of one file, or file and record changes, in one round', () => {
    for (let seed = 0; seed < 20; seed++) {
      for (const r of rounds(planDrill(input(seed)).planted)) {
        const paths = r.flatMap((a) => a.paths);
        expect(new Set(paths).size).toBe(paths.length);
        expect(new Set(r.map((a) => RECORD_KINDS.has(a.kind))).size).toBe(1);
      }
    }
  });
});

describe('drillReport', () => {
  it('passes only when something was planted and everything was caught', () => {
    const base = { dataset: 'd', against: { ref: 'x@v1', id: 'sha256:0' }, seed: 1, attacks: [...ATTACK_KINDS], records: true, rounds: 1, notApplicable: [] };
    const a = planDrill(input(1)).planted[0] as never;
    expect(drillReport({ ...base, planted: [] }).verdict).toBe('fail');
    expect(drillReport({ ...base, planted: [{ attack: a, verdict: { caught: true, by: ['verify:modified'] }, round: 1 }] }).verdict).toBe('pass');
    const r = drillReport({ ...base, planted: [{ attack: a, verdict: { caught: false, by: [], notConfigured: true, reason: 'x' }, round: 1 }] });
    expect(r.verdict).toBe('fail');
    expect(r.summary[0]).toMatchObject({ planted: 1, caught: 0, missed: 0, notConfigured: 1 });
  });
});
