/**
 * The streamed `--json` writer (src/cli/json-stream.ts) that `log --json`, `prune --json` and
 * `fsck --json` share: whatever the nesting, its text is the bytes `jsonDocument` gives for the same
 * object with `ok` last — JSON.stringify's indentation, its escapes of control characters and lone
 * surrogates, and the terminal escapes of every document on stdout —, an empty list is `[]`, text is
 * written in chunks at its steps, and a document stopped once begun still ends as one document.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { JsonStream, nestedJson } from '../../src/cli/json-stream.js';
import { jsonDocument } from '../../src/cli/json-stdout.js';
import { isReportedInJson } from '../../src/cli/common.js';
import { SnapError } from '../../src/core/errors.js';
import { interrupt } from '../../src/io/interrupt.js';

/** A stdout that keeps each write; `full` makes every write ask for a `drain`, sent on the next turn; `destroyed` drops them as a stream after EPIPE. */
class Sink extends EventEmitter {
  writes: string[] = [];
  destroyed = false;
  constructor(private readonly full = false) {
    super();
  }
  write(text: string): boolean {
    if (this.destroyed) return false;
    this.writes.push(text);
    if (this.full) setImmediate(() => this.emit('drain'));
    return !this.full;
  }
  get text(): string {
    return this.writes.join('');
  }
}
const sink = (full = false) => new Sink(full) as Sink & NodeJS.WritableStream;

/** Every string JSON.stringify escapes or a document on stdout escapes: C0 controls, `"`, `\`, DEL, C1, bidi controls, U+2028/9, lone and paired surrogates. */
const AWKWARD = ['\u0000', '\u0001', '\b', '\t', '\n', '\f', '\r', '\u001b', '\u001f', '"', '\\', '/', '\u007f', '\u0085', '\u009b', '\u061c', '\u200e', '\u202e', '\u2066', '\u2028', '\u2029', '\ud800', '\udfff', 'x\udc00y', '\ud83d\ude00', 'é中'];

describe('JsonStream', () => {
  it('writes a document with lists and objects nested in each other as jsonDocument writes it, ok last', async () => {
    const out = sink();
    const w = new JsonStream(out);
    w.open().member('store', '/s').openObject('objects').member('checked', 3);
    await w.openList('corrupt');
    for (const x of [{ a: 1, b: [1, 2, { c: [] }] }, 'two', 3, null, [], {}]) await w.item(x);
    await w.closeList();
    await w.openList('unreadable');
    await w.closeList();
    w.closeObject().member('snapshots', [{ ref: 'ds@v1', problems: [] }]).openObject('empty').closeObject();
    await w.openList('strays');
    await w.item('objects/x');
    await w.closeList();
    w.member('skipped', undefined);
    await w.end({ log: { written: true }, ok: true });
    expect(out.text).toBe(
      jsonDocument({ store: '/s', objects: { checked: 3, corrupt: [{ a: 1, b: [1, 2, { c: [] }] }, 'two', 3, null, [], {}], unreadable: [] }, snapshots: [{ ref: 'ds@v1', problems: [] }], empty: {}, strays: ['objects/x'], log: { written: true }, ok: true }),
    );
  });

  it('escapes control characters, lone surrogates and terminal controls exactly as jsonDocument does, in keys, members and items', async () => {
    for (const s of AWKWARD) {
      const out = sink();
      const w = new JsonStream(out);
      w.open().member(`k${s}`, s);
      await w.openList(`l${s}`);
      await w.item({ [s]: s, n: [s] });
      await w.end({ ok: true });
      const doc = { [`k${s}`]: s, [`l${s}`]: [{ [s]: s, n: [s] }], ok: true };
      expect(out.text, JSON.stringify(s)).toBe(jsonDocument(doc));
      expect(JSON.parse(out.text)).toEqual(JSON.parse(JSON.stringify(doc)));
    }
  });

  it('writes an empty list as [] and a document of one empty list with ok after it', async () => {
    const out = sink();
    const w = new JsonStream(out);
    w.open().member('store', 's');
    await w.openList('entries');
    await w.end({ ok: true });
    expect(out.text).toBe('{\n  "store": "s",\n  "entries": [],\n  "ok": true\n}\n');
  });

  it('gives the bytes of jsonDocument for any nesting of lists of any JSON values (property)', async () => {
    const json = fc.jsonValue();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.string(), json)), fc.array(fc.array(json)), fc.integer({ min: 1, max: 300 }), async (members, lists, chunk) => {
        const out = sink();
        const w = new JsonStream(out, { chunkChars: chunk });
        const doc: Record<string, unknown> = {};
        w.open();
        // One nesting level deeper for every other list: in an object of their own.
        for (const [i, list] of lists.entries()) {
          if (i % 2 === 1) w.openObject(`o${i}`);
          await w.openList(`l${i}`);
          for (const x of list) await w.item(x);
          await w.closeList();
          if (i % 2 === 1) w.closeObject();
          if (i % 2 === 1) doc[`o${i}`] = { [`l${i}`]: list };
          else doc[`l${i}`] = list;
        }
        // (Prefixed: a key such as "0" would come first among an object's keys, whatever order it was set in.)
        for (const [key, v] of members) {
          const k = `m${key}`;
          if (Object.hasOwn(doc, k)) continue;
          w.member(k, v);
          Object.defineProperty(doc, k, { value: v, enumerable: true, writable: true, configurable: true }); // "__proto__" too
        }
        await w.end({ ok: false });
        expect(out.text).toBe(jsonDocument({ ...doc, ok: false }));
        // Written in chunks of at least `chunk` characters, but the last.
        expect(out.writes.slice(0, -1).every((t) => t.length >= chunk)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('writes nothing until chunkChars are gathered at a step, and waits for drain when the stream asks', async () => {
    const out = sink(true);
    const w = new JsonStream(out, { chunkChars: 40 });
    w.open().member('a', 'x'.repeat(50)); // a member is no step: nothing written yet
    expect(out.writes).toEqual([]);
    await w.openList('l');
    expect(out.writes).toEqual([`{\n  "a": "${'x'.repeat(50)}",\n  "l": `]);
    await w.item(1);
    expect(out.writes).toHaveLength(1);
    await w.end({ ok: true });
    expect(out.text).toBe(jsonDocument({ a: 'x'.repeat(50), l: [1], ok: true }));
  });

  it('ends a document stopped once begun with what was written, every list and object closed, "ok": false and the error, marked as reported', async () => {
    const out = sink();
    const w = new JsonStream(out, { chunkChars: 1 });
    w.open().member('store', 's').openObject('objects');
    await w.openList('corrupt');
    await w.item({ name: 'a' });
    const err = w.fail(new SnapError('IO_ERROR', 'read failed', { path: 'p' })) as SnapError;
    expect(isReportedInJson(err)).toBe(true);
    expect(out.text).toBe(jsonDocument({ store: 's', objects: { corrupt: [{ name: 'a' }] }, ok: false, error: { code: 'IO_ERROR', message: 'read failed', details: { path: 'p' } } }));
  });

  it('leaves the error to runCli when nothing was begun; with dropUnwritten, also when text was gathered but not written', async () => {
    const out = sink();
    const e = new SnapError('IO_ERROR', 'x');
    expect(new JsonStream(out).fail(e)).toBe(e);
    const w = new JsonStream(out, { dropUnwritten: true });
    w.open().member('store', 's');
    await w.openList('l');
    await w.item(1);
    expect(w.begun).toBe(false);
    expect(w.fail(e)).toBe(e);
    expect(isReportedInJson(e)).toBe(false);
    expect(out.writes).toEqual([]);
  });

  it('runs to its end without an error when the reader went away (a destroyed stdout, as EPIPE leaves it)', async () => {
    const out = sink(true);
    const w = new JsonStream(out, { chunkChars: 1 });
    w.open();
    await w.openList('l');
    out.destroyed = true;
    for (let i = 0; i < 5; i++) await w.item(i);
    await w.end({ ok: true });
    expect(out.text).toBe('{\n  "l": ');
  });

  it('nestedJson indents each line after the first by depth levels, and is undefined for what JSON.stringify leaves out', () => {
    expect(nestedJson({ a: [1] }, 2)).toBe('{\n      "a": [\n        1\n      ]\n    }');
    expect(nestedJson(undefined, 1)).toBeUndefined();
  });

  // Last: the interruption is process-wide.
  it('with checkInterrupts, an item after a Ctrl-C stops the list: the document ends with INTERRUPTED', async () => {
    const out = sink();
    const w = new JsonStream(out, { checkInterrupts: true });
    w.open();
    await w.openList('entries');
    await w.item(1);
    await interrupt('SIGINT');
    const stopped = await w.item(2).then(() => undefined, (e: unknown) => w.fail(e));
    expect(stopped).toMatchObject({ code: 'INTERRUPTED' });
    const doc = JSON.parse(out.text);
    expect(doc).toMatchObject({ entries: [1], ok: false, error: { code: 'INTERRUPTED' } });
    expect(Object.keys(doc)).toEqual(['entries', 'ok', 'error']);
  });
});
