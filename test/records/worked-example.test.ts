/**
 * The worked example of docs/FORMAT.md §19.9, value by value.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CsvShape } from '../../src/records/canonical.js';
import { compareEntries, serializeIndexLine, type IndexEntry } from '../../src/records/index-line.js';
import { leafHash, merkleRoot } from '../../src/core/merkle.js';
import { toHex } from '../../src/core/encoding.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { IndexBuilder } from '../../src/records/build-index.js';
import { parseIndexSummary } from '../../src/records/index-summary.js';
import { DELIMITED_FORM, delimitedColumnTypes, schemaObjectBytes } from '../../src/records/column-types.js';
import { tempDir } from '../helpers/tree.js';

import { EXAMPLE, TRAIN_CSV } from '../helpers/records-example.js';

const sha = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');

describe('docs/FORMAT.md §19.9 and §19.10, as written', () => {
  it('shows every value the tests below compute: the file, the index lines, their digests, the leaves, root, member and summary', async () => {
    const doc = await fsp.readFile(new URL('../../docs/FORMAT.md', import.meta.url), 'utf8');
    const text = doc.slice(doc.indexOf('### 19.9 Worked example'), doc.indexOf('\n## 20.'));
    const flat = text.replace(/\s+/g, ' ');
    expect(flat).toContain(`\`train.csv\`, ${Buffer.byteLength(TRAIN_CSV)} bytes (LF line ends;`);
    expect(text).toContain(`\`\`\`\n${TRAIN_CSV}\`\`\``);
    expect(flat).toContain(`SHA-256 \`${EXAMPLE.fileSha256}\``);
    const index = EXAMPLE.index.join('\n') + '\n';
    expect(text).toContain(`\`\`\`\n${index}\`\`\``);
    expect(flat).toContain(`The index (${Buffer.byteLength(index)} bytes; sorted by key bytes, so \`["10"]\` comes before \`["2"]\`), SHA-256 \`${EXAMPLE.indexSha256}\``);
    EXAMPLE.leaves.forEach((l, i) => expect(text).toContain(`| leaf ${i} | \`${l}\` |`));
    expect(text).toContain(`| root (n = 3: NH(NH(l0, l1), l2)) | \`${EXAMPLE.merkleRoot}\` |`);
    expect(text).toContain(`\`objects/sha256/${EXAMPLE.indexSha256.slice(0, 2)}/${EXAMPLE.indexSha256.slice(2)}\``);
    expect(text).toContain(`\`\`\`\n"records":[${EXAMPLE.member}]\n\`\`\``);
    expect(text).toContain(`\`\`\`\n${EXAMPLE.columnsObject}\n\`\`\``);
    expect(flat).toContain(`column object (124 bytes, SHA-256 \`${EXAMPLE.columnsSha256}\`)`);
    expect(flat).toContain(`its \`fingerprints\` is \`${EXAMPLE.fingerprintsSha256}\``);
    expect(flat).toContain(`its \`leaves\`, \`${EXAMPLE.leavesSha256}\``);
    expect(flat).toContain(`the summary is this one line (${Buffer.byteLength(EXAMPLE.summaryLine) + 1} bytes with its \`\\n\`), SHA-256 \`${EXAMPLE.summarySha256}\``);
    expect(text).toContain(`\`\`\`\n${EXAMPLE.summaryLine}\n\`\`\``);
  });
});

describe('the record-index worked example (FORMAT.md §19.9)', () => {
  it('has the documented file bytes', () => {
    expect(Buffer.byteLength(TRAIN_CSV)).toBe(81);
    expect(sha(TRAIN_CSV)).toBe(EXAMPLE.fileSha256);
  });

  it('gives the documented index lines, digest, leaves and Merkle root from the canonical record forms', () => {
    const shape = new CsvShape(['id', 'text', 'label'], { key: ['id'], label: 'label' });
    const rows = [['1', 'win money now', 'spam'], ['2', 'lunch at 12, ok?', 'ham'], ['10', 'meeting notes', 'ham']];
    const entries: IndexEntry[] = rows.map((r, i) => {
      const f = shape.forms(r);
      return { features: sha(f.features), fingerprint: sha(f.canonical), key: f.key, label: f.label, row: i + 1 };
    });
    entries.sort((a, b) => compareEntries(a, b, 'key'));
    const lines = entries.map(serializeIndexLine);
    expect(lines).toEqual(EXAMPLE.index);
    const bytes = lines.map((l) => l + '\n').join('');
    expect(Buffer.byteLength(bytes)).toBe(587);
    expect(sha(bytes)).toBe(EXAMPLE.indexSha256);
    const leaves = lines.map((l) => leafHash(Buffer.from(l)));
    expect(leaves.map(toHex)).toEqual(EXAMPLE.leaves);
    expect(toHex(merkleRoot(leaves))).toBe(EXAMPLE.merkleRoot);
  });

  it('gives the documented index summary (§19.10) when the seal builds the index', async () => {
    const dir = await tempDir('snap-wex-');
    const b = new IndexBuilder({ identity: 'key', labelled: true, tmpDir: dir, name: 'train.csv', strictKeys: true, summary: true });
    const shape = new CsvShape(['id', 'text', 'label'], { key: ['id'], label: 'label' });
    [['1', 'win money now', 'spam'], ['2', 'lunch at 12, ok?', 'ham'], ['10', 'meeting notes', 'ham']].forEach((r, i) => b.add(shape.forms(r), i + 1, i + 2));
    const built = await b.finish(join(dir, 'index'));
    expect(built.sha256).toBe(EXAMPLE.indexSha256);
    const summary = await fsp.readFile(built.summary!.path, 'utf8');
    expect(summary).toBe(`${EXAMPLE.summaryLine}\n`);
    expect(Buffer.byteLength(summary)).toBe(184);
    expect(sha(summary)).toBe(EXAMPLE.summarySha256);
    expect(built.summary!.sha256).toBe(EXAMPLE.summarySha256);
    const fingerprints = EXAMPLE.index.map((l) => (JSON.parse(l) as { fingerprint: string }).fingerprint).join('');
    expect(sha(Buffer.from(fingerprints, 'hex'))).toBe(EXAMPLE.fingerprintsSha256);
    expect(sha(Buffer.from(EXAMPLE.leaves.join(''), 'hex'))).toBe(EXAMPLE.leavesSha256);
    const parsed = parseIndexSummary(Buffer.from(summary), { name: 'train.csv', count: 3 });
    expect({ chunks: parsed.chunks.list(), conflicts: parsed.conflicts, bytes: parsed.bytes }).toEqual({ chunks: [JSON.parse(EXAMPLE.summaryLine)], conflicts: [], bytes: 587 });
  });

  it('gives the documented statement member', () => {
    const member = { path: 'train.csv', format: 'csv', identity: 'key', key: ['id'], label: 'label', count: 3, index: { sha256: EXAMPLE.indexSha256, merkleRoot: EXAMPLE.merkleRoot, summary: EXAMPLE.summarySha256 }, labels: { spam: 1, ham: 2 }, schema: EXAMPLE.columnsSha256 };
    expect(canonicalJson(member)).toBe(EXAMPLE.member);
    const { schema: _, ...older } = member;
    expect(canonicalJson(older)).toBe(EXAMPLE.memberWithoutColumns);
  });

  it('gives the documented column object: the header in order, each column STRING (§19.11)', () => {
    const bytes = schemaObjectBytes(delimitedColumnTypes(['id', 'text', 'label']) ?? [], DELIMITED_FORM);
    expect(bytes.toString('utf8')).toBe(EXAMPLE.columnsObject);
    expect(bytes.length).toBe(124);
    expect(sha(bytes)).toBe(EXAMPLE.columnsSha256);
  });
});
