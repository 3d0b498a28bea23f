/**
 * How record keys and labels are written for a reader (src/records/key-text.ts): a value that could
 * pass for another on a screen is written with its letters outside ASCII escaped.
 */
import { describe, expect, it } from 'vitest';
import { labelText, recordKeyText } from '../../src/records/key-text.js';

describe('labelText', () => {
  it('escapes a label of Cyrillic letters that reads as the Latin label SPAM', () => {
    expect(labelText('\u0405\u0420\u0410\u041c')).toBe('"\\u0405\\u0420\\u0410\\u041c"');
  });
  it('escapes a label that mixes a Cyrillic а into Latin letters', () => {
    expect(labelText('sp\u0430m')).toBe('"sp\\u0430m"');
  });
  it('leaves a Russian label whose letters pass for no Latin ones as it is', () => {
    expect(labelText('\u0441\u043f\u0430\u043c')).toBe('\u0441\u043f\u0430\u043c'); // спам
  });
  it('leaves an ASCII label as it is', () => {
    expect(labelText('spam')).toBe('spam');
  });
  it('quotes a label that holds the marks of the lines it is printed in (an arrow, parentheses), so that it cannot pass for a flip or a share: x (50.0 %) → 0', () => {
    expect(labelText('x (50.0 %) \u2192 0')).toBe('"x (50.0 %) \u2192 0"');
    expect(labelText('spam \u2192 ham')).toBe('"spam \u2192 ham"');
    expect(labelText('not spam')).toBe('not spam');
  });
  it('escapes a label not in NFC, which prints as its composed form: cafe + U+0301 beside caf\u00e9', () => {
    expect(labelText('cafe\u0301')).toBe('"cafe\\u0301"');
    expect(labelText('caf\u00e9')).toBe('caf\u00e9');
  });
  it('escapes a label with a combining mark on an ASCII letter, and one with a letter that stands for ASCII (full-width h)', () => {
    expect(labelText('ham\u0338')).toBe('"ham\\u0338"');
    expect(labelText('\uff48am')).toBe('"\\uff48am"');
  });
});

describe('recordKeyText', () => {
  it('escapes one value of a key that reads as a Latin word', () => {
    expect(recordKeyText(['\u0441\u043e\u0440', 'x'], 'csv')).toBe('"\\u0441\\u043e\\u0440", x');
  });
});
