/**
 * The raw walk over a snapshot archive's blocks (core/tar-structure.ts) finds what tar-stream passes
 * over, wherever the stream is cut into chunks, and lets through what snap writes.
 */
import { describe, expect, it } from 'vitest';
import { MAX_ZERO_RUN, TarStructureCheck, paxProblem, sizeField } from '../../src/core/tar-structure.js';
import { blocks, extendedHeader, paxBody, rawHeader } from '../archive/helpers.js';

/** Walk `bytes` fed `step` bytes at a time. */
function walk(bytes: Buffer, step: number): TarStructureCheck {
  const c = new TarStructureCheck();
  for (let i = 0; i < bytes.length; i += step) c.push(bytes.subarray(i, i + step));
  return c;
}

const file = (name: string, body: string) => Buffer.concat([rawHeader(name, '0', Buffer.byteLength(body)), blocks(body)]);
const END = Buffer.alloc(1024);

describe('TarStructureCheck', () => {
  const good = Buffer.concat([file('a', 'alpha\n'), extendedHeader('x', paxBody([['path', 'data/é'], ['linkpath', 'a']])).raw as Buffer, rawHeader('PaxHeader', '2', 0), file('b', 'x'.repeat(700)), END]);
  const global = Buffer.concat([file('a', 'alpha\n'), extendedHeader('g', paxBody([['linkpath', '/etc/passwd']])).raw as Buffer, rawHeader('l', '2', 0), END]);

  for (const step of [1, 7, 512, 100_000]) {
    it(`lets what snap writes through, fed ${step} bytes at a time`, () => {
      expect(walk(good, step).fault).toBeUndefined();
    });
    it(`finds a pax global header at its own offset, fed ${step} bytes at a time`, () => {
      expect(walk(global, step).fault).toMatchObject({ reason: 'extended-header', offset: 1024 });
    });
  }

  it('finds a header after a zero block, and lets zero blocks at the end through', () => {
    expect(walk(Buffer.concat([file('a', 'x'), Buffer.alloc(512), file('b', 'y'), END]), 7).fault).toMatchObject({ reason: 'zero-block', offset: 1536 });
    expect(walk(Buffer.concat([file('a', 'x'), END, END]), 7).fault).toBeUndefined();
  });

  it('lets a run of MAX_ZERO_RUN bytes of zero blocks through, and stops the reader one block after it', () => {
    const at = 512 + 512; // after file('a', 'x')
    expect(walk(Buffer.concat([file('a', 'x'), Buffer.alloc(MAX_ZERO_RUN)]), 100_000).fault).toBeUndefined();
    expect(walk(Buffer.concat([file('a', 'x'), Buffer.alloc(MAX_ZERO_RUN + 512)]), 100_000).fault).toMatchObject({ reason: 'zero-block', offset: at, endsInput: true });
  });

  it('finds a header that is not POSIX ustar, and a size field readers parse differently', () => {
    const gnu = rawHeader('a', '0', 0, (b) => b.write('ustar  \0', 257, 'latin1'));
    expect(walk(Buffer.concat([file('a', 'x'), gnu, END]), 7).fault).toMatchObject({ reason: 'format', offset: 1024 });
    const underscore = rawHeader('a', '0', 0, (b) => b.write('0_000000001 ', 124, 'latin1'));
    expect(walk(Buffer.concat([underscore, END]), 7).fault).toMatchObject({ reason: 'format', offset: 0 });
  });

  it('finds a second pax header before one member', () => {
    const x = extendedHeader('x', paxBody([['path', 'data/a']])).raw as Buffer;
    expect(walk(Buffer.concat([x, x, rawHeader('PaxHeader', '0', 0), END]), 512).fault).toMatchObject({ reason: 'extended-header', offset: 1024 });
  });

  it('finds a pax header longer than a path and a link text need', () => {
    const big = paxBody([['path', 'a'.repeat(20_000)]]);
    expect(walk(Buffer.concat([rawHeader('PaxHeader', 'x', big.length), blocks(big)]), 512).fault).toMatchObject({ reason: 'pax', offset: 0 });
  });
});

describe('paxProblem', () => {
  it('accepts path and linkpath records, each once', () => {
    expect(paxProblem(paxBody([['path', 'data/a'], ['linkpath', '../b']]))).toBeUndefined();
  });
  it.each([
    ['another key', paxBody([['mtime', '1']])],
    ['a key twice', paxBody([['path', 'a'], ['path', 'b']])],
    ['an empty value', paxBody([['linkpath', '']])],
    ['a length that is one too long', Buffer.from('14 path=data/a\n')],
    ['a length with a leading zero', Buffer.from('015 path=data/a\n')],
    ['a leading space', Buffer.from(' 15 path=data/a\n')],
    ['no equals sign', Buffer.from('9 pathxx\n')],
    ['bytes after the last record', Buffer.concat([paxBody([['path', 'a']]), Buffer.from('x')])],
  ])('refuses %s', (_what, body) => {
    expect(paxProblem(body)).toBeTypeOf('string');
  });
});

describe('sizeField', () => {
  const withSize = (text: string | Buffer) => rawHeader('a', '0', 0, (b) => (typeof text === 'string' ? b.write(text.padEnd(12, '\0'), 124, 'latin1') : text.copy(b, 124)));
  it('reads octal ended by a space or NUL, and the base-256 form', () => {
    expect(sizeField(withSize('00000000006 '))).toBe(6);
    expect(sizeField(withSize('6'))).toBe(6);
    expect(sizeField(withSize(Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0])))).toBe(2 ** 33);
  });
  it.each([' 6', '+6', '0_6', '9', '6 7', ''])('refuses %j (readers parse it differently)', (text) => {
    expect(sizeField(withSize(text))).toBeUndefined();
  });
});
