/**
 * The local store behind the backend interface: the same layout and write-once rules as before
 * (objects by digest, re-hashed on read; snapshots committed at once; no retention).
 */
import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openStore, objectPath } from '../../src/io/store.js';
import { LocalBackend } from '../../src/store/local.js';
import { tempDir } from '../helpers/tree.js';

const hex = (t: string): string => createHash('sha256').update(t).digest('hex');
const bytesOf = async (r: Readable): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
};
const backend = async (): Promise<LocalBackend> => new LocalBackend(await openStore(join(await tempDir('snap-lb-'), 'store'), { create: true }));

describe('the local backend', () => {
  it('stores an object once under its digest, in the local layout, and reads it back re-hashed', async () => {
    const b = await backend();
    expect(await b.putObject(hex('alpha\n'), () => Readable.from(['alpha\n']), 6)).toBe('stored');
    expect(await b.putObject(hex('alpha\n'), () => Readable.from(['other\n']), 6)).toBe('present');
    expect(await fsp.readFile(objectPath(b.store, hex('alpha\n')), 'utf8')).toBe('alpha\n');
    expect(await bytesOf(await b.getObject(hex('alpha\n')))).toBe('alpha\n');
    const all: string[] = [];
    for await (const h of b.listObjects()) all.push(h);
    expect(all).toEqual([hex('alpha\n')]);
  });

  it('refuses bytes that do not hash to the name they are put under, and leaves nothing', async () => {
    const b = await backend();
    await expect(b.putObject(hex('alpha\n'), () => Readable.from(['ALPHA\n']), 6)).rejects.toMatchObject({ code: 'OBJECT_CORRUPT' });
    expect(await b.hasObject(hex('alpha\n'))).toBe(false);
  });

  it('fails a read of an object whose bytes were changed (OBJECT_CORRUPT), and of a missing one (NOT_FOUND)', async () => {
    const b = await backend();
    await b.putObject(hex('alpha\n'), () => Readable.from(['alpha\n']), 6);
    const p = objectPath(b.store, hex('alpha\n'));
    await fsp.chmod(p, 0o644);
    await fsp.writeFile(p, 'ALPHA\n');
    await expect(bytesOf(await b.getObject(hex('alpha\n')))).rejects.toMatchObject({ code: 'OBJECT_CORRUPT' });
    await expect(b.getObject(hex('nothing'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('commits a snapshot at once, lists it, reads it back, and refuses a second commit of the same NAME@VERSION', async () => {
    const b = await backend();
    const files = new Map([['statement.json', Buffer.from('{}')], ['manifest.jsonl', Buffer.from('')], ['envelope.json', Buffer.from('{}')]]);
    await b.commitSnapshot('ds', 'v1', files);
    expect(await b.listSnapshots()).toEqual([{ name: 'ds', version: 'v1' }]);
    expect([...(await b.readSnapshot('ds', 'v1')).keys()].sort()).toEqual(['envelope.json', 'manifest.jsonl', 'statement.json']);
    await expect(b.commitSnapshot('ds', 'v1', files)).rejects.toMatchObject({ code: 'SNAPSHOT_EXISTS' });
    await expect(b.readSnapshot('ds', 'v2')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses retention (USAGE): a local store cannot lock its files', async () => {
    const b = await backend();
    const retain = { mode: 'COMPLIANCE' as const, until: new Date(Date.now() + 86_400_000) };
    await expect(b.putObject(hex('a'), () => Readable.from(['a']), 1, retain)).rejects.toMatchObject({ code: 'USAGE' });
    await expect(b.commitSnapshot('ds', 'v1', new Map(), retain)).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('appends audit log lines and moves the head; lists the other files but not the reserved ones; refuses names that leave the store', async () => {
    const b = await backend();
    await b.appendLog([Buffer.from('{"seq":1}\n'), Buffer.from('{"seq":2}\n')], Buffer.from('{"seq":2}\n'));
    const log = await b.readLog();
    expect(log.lines.map((l) => Buffer.from(l).toString())).toEqual(['{"seq":1}\n', '{"seq":2}\n']);
    expect(Buffer.from(log.head ?? []).toString()).toBe('{"seq":2}\n');
    await b.writeFile('revocations/ab/r.json', Buffer.from('x'));
    expect(await b.listFiles()).toEqual(['revocations/ab/r.json']);
    await expect(b.writeFile('../escape', Buffer.from('x'))).rejects.toMatchObject({ code: 'STORE_MALFORMED' });
    await expect(b.writeFile('objects/x', Buffer.from('x'))).rejects.toMatchObject({ code: 'STORE_MALFORMED' });
  });
});
