/**
 * Who besides this user could write a folder or file (src/core/other-writers.ts): the one rule the
 * restore target's folders and the trusted state are judged by.
 */
import { describe, expect, it } from 'vitest';
import { otherWriters } from '../../src/core/other-writers.js';

const me = { uid: 1000, gid: 1000 };
const folder = { ownGroup: true, sticky: true };
const strict = { ownGroup: false, sticky: true };

describe('otherWriters', () => {
  it('is undefined for a folder of this user or of root that only its owner may write', () => {
    expect(otherWriters({ uid: 1000, gid: 1000, mode: 0o40755 }, me, folder)).toBeUndefined();
    expect(otherWriters({ uid: 0, gid: 0, mode: 0o40755 }, me, strict)).toBeUndefined();
  });
  it('names another owner', () => {
    expect(otherWriters({ uid: 65534, gid: 65534, mode: 0o40700 }, me, folder)).toBe('it belongs to another user (uid 65534)');
  });
  it('names write permission for every user, unless the folder is sticky (as /tmp)', () => {
    expect(otherWriters({ uid: 0, gid: 0, mode: 0o40777 }, me, folder)).toBe('every user may write in it (mode 777)');
    expect(otherWriters({ uid: 0, gid: 0, mode: 0o41777 }, me, folder)).toBeUndefined();
    expect(otherWriters({ uid: 1000, gid: 1000, mode: 0o101666 }, me, { ownGroup: false, sticky: false })).toBe('every user may write in it (mode 1666)');
  });
  it('accepts write permission for this user\'s own group only when asked to', () => {
    expect(otherWriters({ uid: 1000, gid: 1000, mode: 0o40775 }, me, folder)).toBeUndefined();
    expect(otherWriters({ uid: 1000, gid: 1000, mode: 0o40775 }, me, strict)).toBe('the users of group 1000 may write in it (mode 775)');
    expect(otherWriters({ uid: 1000, gid: 50, mode: 0o40775 }, me, folder)).toBe('the users of group 50 may write in it (mode 775)');
  });
});
