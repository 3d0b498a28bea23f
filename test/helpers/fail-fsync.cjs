/**
 * Test preload (NODE_OPTIONS=--require this file): with `SNAP_TEST_FSYNC_FAIL=CODE:TEXT`, every
 * thread of the process — the main thread and each worker, where Node runs preloads too — fails
 * each `fs.fsyncSync` of a descriptor whose path (as given to `fs.openSync`) contains TEXT: it
 * throws an Error with `code` CODE (e.g. EIO, ENOSPC) and flushes nothing, as a disk whose flush
 * failed. Also through ES module imports of node:fs. Inert without the variable.
 * `fs.fdatasync` (the callback form: an archive's early write-back, io/early-writeback.ts) fails
 * the same way for a descriptor whose path, read from /proc/self/fd, contains TEXT.
 */
'use strict';
const spec = process.env.SNAP_TEST_FSYNC_FAIL;
if (spec !== undefined) {
  const at = spec.indexOf(':');
  const [code, text] = [spec.slice(0, at), spec.slice(at + 1)];
  const fs = require('node:fs');
  const { openSync, closeSync, fsyncSync } = fs;
  const opened = new Map();
  fs.openSync = function (path, ...rest) {
    const fd = openSync.call(this, path, ...rest);
    opened.set(fd, String(path));
    return fd;
  };
  fs.closeSync = function (fd) {
    opened.delete(fd);
    return closeSync.call(this, fd);
  };
  fs.fsyncSync = function (fd) {
    if ((opened.get(fd) ?? '').includes(text)) throw Object.assign(new Error(`${code}: planted fsync failure, fsync`), { code, errno: code === 'ENOSPC' ? -28 : -5, syscall: 'fsync' });
    return fsyncSync.call(this, fd);
  };
  const { fdatasync, readlinkSync } = fs;
  fs.fdatasync = function (fd, cb) {
    let path = '';
    try {
      path = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {}
    if (path.includes(text)) {
      const e = Object.assign(new Error(`${code}: planted fsync failure, fdatasync`), { code, errno: code === 'ENOSPC' ? -28 : -5, syscall: 'fdatasync' });
      process.nextTick(cb, e);
      return;
    }
    return fdatasync.call(this, fd, cb);
  };
  require('node:module').syncBuiltinESMExports();
}
