import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** The record modules that must stay pure (bytes and objects only), like src/core. */
const PURE = ['canonical.ts', 'config.ts', 'index-line.ts', 'thresholds.ts', 'record-diff.ts', 'record-report.ts', 'row-order.ts', 'stats.ts', 'check.ts', 'sort-tags.ts', 'label-flips.ts', 'column-types.ts'];
const FORBIDDEN = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"`](?:node:)?(?:fs|fs\/promises|process|worker_threads|child_process|os|path)['"`]/;

describe('the pure record modules (src/records)', () => {
  it.each(PURE)('%s loads no I/O or process module and does not use the global process', (name) => {
    const src = readFileSync(new URL(`../../src/records/${name}`, import.meta.url), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    expect(src).not.toMatch(FORBIDDEN);
    expect(src).not.toMatch(/\bprocess\s*\./);
  });
});
