/**
 * The incident story of issue 12, end to end: a dataset sealed with its sources and a derivation,
 * a model attested as trained on it, the model refused when its training data is not trusted
 * (verified with another key: expiry and revocation arrive with the trust work), and `impact` of
 * the source naming the derived snapshot and the model.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeKeyPair, makeTree, snapJson, tempDir } from '../helpers/tree.js';
import { newStorePath } from '../helpers/store.js';

describe('an incident: which models learned from a poisoned source?', () => {
  it('traces a source snapshot to the derived dataset and the model, and refuses the model under another key', async () => {
    const data = await makeKeyPair('data');
    const ml = await makeKeyPair('ml');
    const other = await makeKeyPair('other');
    const store = await newStorePath();
    const work = await tempDir('snap-incident-');

    const raw = await snapJson(['seal', await makeTree({ 'dump.jsonl': '{"t":"hi"}\n' }), '--as', 'scrape@2026-11', '--key', data.key, '--store', store, '--source', 'https://crawl.example/2026-11.jsonl']);
    expect(raw.code, raw.stderr).toBe(0);
    const clean = await snapJson(['seal', await makeTree({ 'train.jsonl': '{"t":"hi"}\n' }), '--as', 'train@v1', '--key', data.key, '--store', store, '--derived-from', 'scrape@2026-11', '-m', 'filtered and deduplicated']);
    expect(clean.code, clean.stderr).toBe(0);

    await fsp.writeFile(join(work, 'model.safetensors'), 'tiny model');
    const att = await snapJson(['attest', 'model.safetensors', '--data', 'train@v1', '--key', ml.key, '--as', 'chat@1', '--store', store], { cwd: work });
    expect(att.code, att.stderr).toBe(0);

    const trusted = await snapJson(['verify-model', 'model.safetensors', '--pubkey', ml.pub, '--pubkey', data.pub, '--store', store], { cwd: work });
    expect(trusted.code).toBe(0);
    expect(trusted.json.attestations[0].datasets.map((d: { ref: string }) => d.ref)).toEqual(['train@v1']);

    const otherKey = await snapJson(['verify-model', 'model.safetensors', '--pubkey', ml.pub, '--pubkey', other.pub, '--store', store], { cwd: work });
    expect(otherKey.code).toBe(1);
    expect(otherKey.json.failure.code).toBe('SIGNATURE_INVALID');
    expect(otherKey.json.attestations[0].datasets[0]).toMatchObject({ ref: 'train@v1', trusted: false });

    const impact = await snapJson(['impact', 'scrape@2026-11', '--store', store]);
    expect(impact.code).toBe(0);
    expect(impact.json.derived.map((d: { ref: string }) => d.ref)).toEqual(['train@v1']);
    expect(impact.json.models.map((m: { ref: string }) => m.ref)).toEqual(['chat@1']);
    expect(impact.json.derived[0].snapshot).toBe(clean.json.snapshot);
  });
});
