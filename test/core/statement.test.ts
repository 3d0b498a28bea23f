import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  PREDICATE_TYPE,
  STATEMENT_TYPE,
  buildStatement,
  formatTime,
  isValidTime,
  parseStatement,
  serializeStatement,
  snapshotId,
  validateStatement,
  type SnapshotPredicate,
} from '../../src/core/statement.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { utf8 } from '../../src/core/encoding.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/worked-example.json', import.meta.url), 'utf8')) as {
  statement: string;
  snapshotId: string;
  merkleRoot: string;
  manifestSha256: string;
};
const code = (c: string) => expect.objectContaining({ code: c });

const predicate = (over: Partial<SnapshotPredicate> = {}): SnapshotPredicate => ({
  dataset: 'demo',
  version: 'v1',
  merkleRoot: fixture.merkleRoot,
  manifestSha256: fixture.manifestSha256,
  fileCount: 2,
  totalBytes: 12,
  createdAt: '2026-11-21T10:00:00Z',
  tool: { name: 'snap', version: '0.1.0' },
  ...over,
});

/** Canonical bytes of a statement object changed by `edit`, bypassing buildStatement's checks. */
function edited(edit: (s: Record<string, any>) => void): Uint8Array {
  const s = JSON.parse(JSON.stringify(buildStatement(predicate()))) as Record<string, any>;
  edit(s);
  return utf8(canonicalJson(s));
}

describe('buildStatement and serializeStatement (SPEC §4)', () => {
  it('produces the bytes of the worked example in docs/FORMAT.md', () => {
    expect(new TextDecoder().decode(serializeStatement(buildStatement(predicate())))).toBe(fixture.statement);
  });

  it('derives the subject from the predicate', () => {
    const s = buildStatement(predicate());
    expect(s._type).toBe(STATEMENT_TYPE);
    expect(s.predicateType).toBe(PREDICATE_TYPE);
    expect(s.subject).toEqual([{ name: 'demo@v1', digest: { sha256: fixture.merkleRoot } }]);
  });

  it('round-trips through serializeStatement and parseStatement', () => {
    const s = buildStatement(predicate({ parent: `sha256:${'a'.repeat(64)}`, excludes: ['*.tmp', 'cache/'] }));
    expect(parseStatement(serializeStatement(s))).toEqual(s);
  });

  it('writes no trailing newline', () => {
    const bytes = serializeStatement(buildStatement(predicate()));
    expect(bytes[bytes.length - 1]).toBe(0x7d);
  });

  it('omits optional members rather than writing null', () => {
    const text = new TextDecoder().decode(serializeStatement(buildStatement(predicate({ parent: undefined, excludes: [] }))));
    expect(text).not.toContain('parent');
    expect(text).not.toContain('excludes');
    expect(text).not.toContain('null');
  });

  it('keeps excludes in the order given', () => {
    const s = parseStatement(serializeStatement(buildStatement(predicate({ excludes: ['z', 'a'] }))));
    expect(s.predicate.excludes).toEqual(['z', 'a']);
  });

  it('does not change the predicate it is given', () => {
    const p = predicate({ parent: undefined, excludes: [] });
    buildStatement(p);
    expect('parent' in p).toBe(true);
    expect(p.excludes).toEqual([]);
  });
});

describe('snapshotId', () => {
  it('is "sha256:" and the SHA-256 of the statement bytes', () => {
    const bytes = serializeStatement(buildStatement(predicate()));
    expect(snapshotId(bytes)).toBe(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
    expect(snapshotId(bytes)).toBe(fixture.snapshotId);
  });
});

describe('parseStatement', () => {
  it('refuses an unknown predicateType with STATEMENT_UNKNOWN_PREDICATE_TYPE', () => {
    expect(() => parseStatement(edited((s) => (s.predicateType = 'urn:snap:dataset-snapshot:v2')))).toThrowError(code('STATEMENT_UNKNOWN_PREDICATE_TYPE'));
  });

  it('refuses an unknown _type with STATEMENT_UNKNOWN_TYPE', () => {
    expect(() => parseStatement(edited((s) => (s._type = 'https://in-toto.io/Statement/v0.1')))).toThrowError(code('STATEMENT_UNKNOWN_TYPE'));
  });

  it('refuses an unknown predicate member with STATEMENT_INVALID', () => {
    expect(() => parseStatement(edited((s) => (s.predicate.futureMember = 'https://example.com')))).toThrowError(code('STATEMENT_INVALID'));
  });

  it('refuses an unknown top-level member with STATEMENT_INVALID', () => {
    expect(() => parseStatement(edited((s) => (s.extra = 1)))).toThrowError(code('STATEMENT_INVALID'));
  });

  it('refuses pretty-printed bytes with STATEMENT_NOT_CANONICAL', () => {
    const pretty = utf8(JSON.stringify(JSON.parse(fixture.statement), null, 2));
    expect(() => parseStatement(pretty)).toThrowError(code('STATEMENT_NOT_CANONICAL'));
  });

  it('refuses a trailing newline with STATEMENT_NOT_CANONICAL', () => {
    expect(() => parseStatement(utf8(`${fixture.statement}\n`))).toThrowError(code('STATEMENT_NOT_CANONICAL'));
  });

  it('refuses bytes that are not JSON, not UTF-8, or not an object with STATEMENT_MALFORMED', () => {
    expect(() => parseStatement(utf8('{'))).toThrowError(code('STATEMENT_MALFORMED'));
    expect(() => parseStatement(Uint8Array.of(0x7b, 0xff, 0x7d))).toThrowError(code('STATEMENT_MALFORMED'));
    expect(() => parseStatement(utf8('[]'))).toThrowError(code('STATEMENT_MALFORMED'));
  });

  it('refuses a lone surrogate escape, which RFC 8785 cannot write, as STATEMENT_NOT_CANONICAL', () => {
    const withExcludes = new TextDecoder().decode(serializeStatement(buildStatement(predicate({ excludes: ['PLACEHOLDER'] }))));
    const bytes = utf8(withExcludes.replace('PLACEHOLDER', '\\ud800'));
    expect(() => parseStatement(bytes)).toThrowError(code('STATEMENT_NOT_CANONICAL'));
  });

  it('refuses a subject that does not match the predicate with STATEMENT_INVALID', () => {
    expect(() => parseStatement(edited((s) => (s.subject[0].digest.sha256 = 'b'.repeat(64))))).toThrowError(code('STATEMENT_INVALID'));
    expect(() => parseStatement(edited((s) => (s.subject[0].name = 'other@v1')))).toThrowError(code('STATEMENT_INVALID'));
    expect(() => parseStatement(edited((s) => s.subject.push(s.subject[0])))).toThrowError(code('STATEMENT_INVALID'));
  });
});

describe('statement validation', () => {
  it.each([
    ['fractional seconds', '2026-11-21T10:00:00.5Z'],
    ['an offset of +01:00', '2026-11-21T11:00:00+01:00'],
    ['February 30th', '2026-02-30T10:00:00Z'],
    ['no seconds', '2026-11-21T10:00Z'],
    ['a lowercase z', '2026-11-21T10:00:00z'],
    ['hour 24', '2026-11-21T24:00:00Z'],
  ])('refuses a createdAt with %s with STATEMENT_INVALID', (_why, createdAt) => {
    expect(isValidTime(createdAt)).toBe(false);
    expect(() => buildStatement(predicate({ createdAt }))).toThrowError(code('STATEMENT_INVALID'));
  });

  it('accepts February 29th of a leap year', () => {
    expect(isValidTime('2028-02-29T00:00:00Z')).toBe(true);
  });

  it('formats a time in UTC with whole seconds', () => {
    expect(formatTime(new Date(Date.UTC(2026, 10, 21, 10, 0, 0, 999)))).toBe('2026-11-21T10:00:00Z');
  });

  it('refuses a null parent with STATEMENT_INVALID', () => {
    expect(() => buildStatement(predicate({ parent: null as unknown as string }))).toThrowError(code('STATEMENT_INVALID'));
    expect(() => parseStatement(edited((s) => (s.predicate.parent = null)))).toThrowError(code('STATEMENT_INVALID'));
  });

  it('refuses a parent that is not a full snapshot id with STATEMENT_INVALID', () => {
    expect(() => buildStatement(predicate({ parent: 'a'.repeat(64) }))).toThrowError(code('STATEMENT_INVALID'));
    expect(() => buildStatement(predicate({ parent: 'sha256:abcd1234' }))).toThrowError(code('STATEMENT_INVALID'));
  });

  it('refuses null or empty excludes in the bytes with STATEMENT_INVALID', () => {
    expect(() => parseStatement(edited((s) => (s.predicate.excludes = null)))).toThrowError(code('STATEMENT_INVALID'));
    expect(() => parseStatement(edited((s) => (s.predicate.excludes = [])))).toThrowError(code('STATEMENT_INVALID'));
    expect(() => parseStatement(edited((s) => (s.predicate.excludes = [''])))).toThrowError(code('STATEMENT_INVALID'));
  });

  it.each([
    ['a dataset that is not a NAME', { dataset: 'Demo' }],
    ['a version that is not a VERSION', { version: '-v1' }],
    ['an uppercase merkleRoot', { merkleRoot: 'A'.repeat(64) }],
    ['a short manifestSha256', { manifestSha256: 'a'.repeat(63) }],
    ['a fileCount of 0', { fileCount: 0 }],
    ['a fractional fileCount', { fileCount: 1.5 }],
    ['a negative totalBytes', { totalBytes: -1 }],
    ['totalBytes of 2^53', { totalBytes: 2 ** 53 }],
    ['a tool with an extra member', { tool: { name: 'snap', version: '1', x: 1 } as unknown as SnapshotPredicate['tool'] }],
  ])('refuses %s with STATEMENT_INVALID', (_why, over) => {
    expect(() => buildStatement(predicate(over as Partial<SnapshotPredicate>))).toThrowError(code('STATEMENT_INVALID'));
  });

  it('refuses a value that is not an object with STATEMENT_MALFORMED', () => {
    expect(() => validateStatement(null)).toThrowError(code('STATEMENT_MALFORMED'));
    expect(() => validateStatement('s')).toThrowError(code('STATEMENT_MALFORMED'));
  });
});
