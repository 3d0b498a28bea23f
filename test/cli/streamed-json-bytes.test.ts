/**
 * The documents `log --json` and `fsck --json` stream (src/cli/json-stream.ts) are, byte for byte,
 * `jsonDocument` of what they hold, `ok` last — with C0 and C1 controls, bidirectional controls,
 * U+2028, bytes that are not UTF-8 and a torn line in what they list, over more than one write
 * (64 Ki characters).
 */
import { closeSync, mkdirSync, openSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snap } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';
import { jsonDocument } from '../../src/cli/json-stdout.js';

/** Every code point a document on stdout escapes or JSON.stringify does, and others it writes as they are. */
const AWKWARD = '\u0001\t"\\\u007f\u0085\u009b\u061c\u200e\u202e\u2066\u2028é中😀';

describe('a streamed --json document', () => {
  it('log --json: jsonDocument of {store, entries, ok}, entries with controls, bytes not UTF-8 and a torn last line', async () => {
    const store = await newStorePath();
    expect((await snap(['init', '--store', store])).code).toBe(0);
    const lines: Buffer[] = [];
    const entry = { command: 'seal', exit: 0, host: `h${AWKWARD}`, outcome: 'ok', pid: 1, prev: '0'.repeat(64), ref: 'ds@v1', seq: 1, time: '2026-01-01T00:00:00Z', user: `u${AWKWARD}` };
    for (let i = 0; i < 600; i++) lines.push(Buffer.from(`${JSON.stringify({ ...entry, seq: i + 1 })}\n`));
    lines.push(Buffer.concat([Buffer.from(`not json ${AWKWARD} `), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from('\n')]));
    lines.push(Buffer.from(`{"torn": "${AWKWARD}`));
    await fsp.writeFile(join(store, 'log.jsonl'), Buffer.concat(lines));
    const r = await snap(['log', '--json', '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(1 << 16);
    const doc = JSON.parse(r.stdout);
    expect(r.stdout).toBe(jsonDocument(doc));
    expect(Object.keys(doc)).toEqual(['store', 'entries', 'ok']);
    expect(doc.entries).toHaveLength(602);
    expect(doc.entries[0]).toEqual({ line: 1, ...entry });
    expect(doc.entries[601]).toEqual({ line: 602, malformed: true, complete: false, raw: `{"torn": "${AWKWARD}` });
  });

  it('fsck --json past 1000 strays: jsonDocument of the report, ok last, names with controls', async () => {
    const store = await newStorePath();
    expect((await snap(['init', '--store', store])).code).toBe(0);
    const fan = join(store, 'objects', 'sha256', 'ab');
    mkdirSync(fan, { recursive: true });
    for (let i = 0; i < 1001; i++) closeSync(openSync(join(fan, `stray ${AWKWARD.replace('\\', '').replace('/', '')} ${i}`), 'w'));
    const r = await snap(['fsck', '--json', '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(r.stdout).toBe(jsonDocument(doc));
    expect(Object.keys(doc).at(-1)).toBe('ok');
    expect(doc.strays).toHaveLength(1001);
    expect(r.stdout).toContain('\\u202e');
  });
});
