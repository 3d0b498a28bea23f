import { describe, expect, it } from 'vitest';
import { NAME_RE, SNAPSHOT_ID_RE, VERSION_RE, looksLikePath, parseNameVersion, parseRef } from '../../src/core/refs.js';

const code = (c: string) => expect.objectContaining({ code: c });
const HEX = '0123456789abcdef'.repeat(4);

describe('parseNameVersion (SPEC §1)', () => {
  it('reads NAME@VERSION', () => {
    expect(parseNameVersion('fraud-train@model-v3')).toEqual({ name: 'fraud-train', version: 'model-v3' });
  });

  it('allows "+" and capitals in VERSION but not in NAME', () => {
    expect(parseNameVersion('a@V1.0+build_2')).toEqual({ name: 'a', version: 'V1.0+build_2' });
    expect(() => parseNameVersion('A@v1')).toThrowError(code('REF_MALFORMED'));
    expect(() => parseNameVersion('a+b@v1')).toThrowError(code('REF_MALFORMED'));
  });

  it('accepts names and versions of 128 characters and refuses 129', () => {
    expect(parseNameVersion(`${'a'.repeat(128)}@${'V'.repeat(128)}`).name).toHaveLength(128);
    expect(() => parseNameVersion(`${'a'.repeat(129)}@v`)).toThrowError(code('REF_MALFORMED'));
    expect(() => parseNameVersion(`a@${'v'.repeat(129)}`)).toThrowError(code('REF_MALFORMED'));
  });

  it.each(['fraud-train', '@v1', 'a@', '.a@v1', 'a@-v1', 'a@v1@v2', 'a/b@v1', 'a@v/1', 'a@v 1', ' a@v1'])('refuses %j with REF_MALFORMED', (text) => {
    expect(() => parseNameVersion(text)).toThrowError(code('REF_MALFORMED'));
  });

  it('exports the grammars of SPEC §1', () => {
    expect(NAME_RE.test('a0._-')).toBe(true);
    expect(VERSION_RE.test('A0._+-')).toBe(true);
    expect(SNAPSHOT_ID_RE.test(`sha256:${HEX}`)).toBe(true);
    expect(SNAPSHOT_ID_RE.test(`sha256:${HEX.toUpperCase()}`)).toBe(false);
  });
});

describe('parseRef', () => {
  it('reads NAME@VERSION as a name ref', () => {
    expect(parseRef('demo@v1')).toEqual({ kind: 'name', name: 'demo', version: 'v1' });
  });

  it('reads a full snapshot id', () => {
    expect(parseRef(`sha256:${HEX}`)).toEqual({ kind: 'id', hexPrefix: HEX, full: true });
  });

  it('reads a hex prefix of 8 or more digits, with or without "sha256:"', () => {
    expect(parseRef('01234567')).toEqual({ kind: 'id', hexPrefix: '01234567', full: false });
    expect(parseRef('sha256:0123456789')).toEqual({ kind: 'id', hexPrefix: '0123456789', full: false });
    expect(parseRef(HEX)).toEqual({ kind: 'id', hexPrefix: HEX, full: true });
  });

  it.each(['0123456', 'sha256:0123456', 'ABCDEF01', `${HEX}0`, 'sha512:01234567', '', 'demo', 'sha256:'])('refuses %j with REF_MALFORMED', (text) => {
    expect(() => parseRef(text)).toThrowError(code('REF_MALFORMED'));
  });

  it('says how to name a folder when a bare word is neither a ref nor taken for a folder', () => {
    expect(() => parseRef('nodir')).toThrowError(/is not a ref: .* \(a folder is named as a path: \.\/nodir\)$/);
  });

  it('says, for a bare NAME (`snap show fraud-train`), that a snapshot of it is NAME@VERSION and that snap list NAME lists them; a word that cannot be a NAME gets no such hint', () => {
    expect(() => parseRef('fraud-train')).toThrowError(/^"fraud-train" is not a ref: use NAME@VERSION \(a snapshot of fraud-train is fraud-train@VERSION; "snap list fraud-train" lists them\), a snapshot id/);
    expect(() => parseRef('Bad Name')).toThrowError(/^"Bad Name" is not a ref: use NAME@VERSION, a snapshot id/);
  });

  it('refuses a malformed NAME@VERSION with REF_MALFORMED and keeps the ref in the details', () => {
    expect(() => parseRef('Bad@v1')).toThrowError(expect.objectContaining({ code: 'REF_MALFORMED', details: { ref: 'Bad@v1' } }));
  });
});

describe('looksLikePath', () => {
  it.each(['/nonexistent', './x', '../x', 'data/', 'a/b@v1', '.snap', 'ds@v1.snap.tar', 'x/ds@v1.snap.tar'])('is true for %j', (text) => {
    expect(looksLikePath(text)).toBe(true);
  });

  it.each(['ds@v1', 'sha256:0123abcd', '0123abcd', 'tab', 'ds@v1.snap', 'snap.tar'])('is false for %j (a ref, or a bare word)', (text) => {
    expect(looksLikePath(text)).toBe(false);
  });
});
