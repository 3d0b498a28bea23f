/**
 * Test preload (NODE_OPTIONS=--require this file): with `SNAP_TEST_FLUSH_LOG=FILE`, every thread
 * of the process — the main thread and each worker, where Node runs preloads too — appends a line
 * to FILE after each `fs.fsyncSync` (`fsync PATH`, the path its descriptor was opened with by
 * `fs.openSync`), each `FileHandle.sync()` (`fsync PATH`, opened by `fs.promises.open`) and each
 * `fs.renameSync` (`rename FROM TO`), each `fs.fdatasyncSync` (`fdatasync PATH`), each
 * `fs.fdatasync` started (`fdatasync-start PATH`: the call, not its end) and each `fs.linkSync`
 * (`link FROM TO`), and each asynchronous `fs.close` of a descriptor opened by `fs.openSync` once
 * it is closed (`close PATH`), also through ES module imports of node:fs. With
 * `SNAP_TEST_SLOW_WRITEBACK_MS=N`, each `fs.fdatasync` calls back N ms late. Lines of one
 * thread are in the order of its calls (appended with O_APPEND, one write each). Inert without the
 * variable.
 */
'use strict';
const logPath = process.env.SNAP_TEST_FLUSH_LOG;
if (logPath !== undefined) {
  const fs = require('node:fs');
  const { openSync, closeSync, fsyncSync, renameSync, appendFileSync } = fs;
  const opened = new Map();
  let logging = false;
  const log = (line) => {
    if (logging) return;
    logging = true;
    try {
      appendFileSync(logPath, `${line}\n`);
    } finally {
      logging = false;
    }
  };
  fs.openSync = function (path, ...rest) {
    const fd = openSync.call(this, path, ...rest);
    if (!logging) opened.set(fd, String(path));
    return fd;
  };
  fs.closeSync = function (fd) {
    opened.delete(fd);
    return closeSync.call(this, fd);
  };
  fs.fsyncSync = function (fd) {
    const r = fsyncSync.call(this, fd);
    log(`fsync ${opened.get(fd) ?? `fd ${fd}`}`);
    return r;
  };
  const { fdatasyncSync, fdatasync, linkSync } = fs;
  fs.fdatasyncSync = function (fd) {
    const r = fdatasyncSync.call(this, fd);
    log(`fdatasync ${opened.get(fd) ?? `fd ${fd}`}`);
    return r;
  };
  // With SNAP_TEST_SLOW_WRITEBACK_MS=N, each fs.fdatasync calls back N ms after it ends (a slow disk).
  const slow = Number(process.env.SNAP_TEST_SLOW_WRITEBACK_MS ?? 0);
  fs.fdatasync = function (fd, ...rest) {
    log(`fdatasync-start ${opened.get(fd) ?? `fd ${fd}`}`);
    const done = rest.pop();
    return fdatasync.call(this, fd, ...rest, slow > 0 ? (...a) => setTimeout(() => done(...a), slow) : done);
  };
  // fs.close (asynchronous): `close PATH` once the descriptor is closed.
  const { close } = fs;
  fs.close = function (fd, done) {
    const path = opened.get(fd);
    opened.delete(fd);
    return close.call(this, fd, (...a) => {
      if (path !== undefined) log(`close ${path}`);
      if (typeof done === 'function') done(...a);
    });
  };
  fs.linkSync = function (from, to) {
    const r = linkSync.call(this, from, to);
    log(`link ${String(from)} ${String(to)}`);
    return r;
  };
  fs.renameSync = function (from, to) {
    const r = renameSync.call(this, from, to);
    log(`rename ${String(from)} ${String(to)}`);
    return r;
  };
  const fsp = fs.promises;
  const pOpen = fsp.open;
  const handlePaths = new WeakMap();
  let handleSyncRecorded = false;
  fsp.open = async function (path, ...rest) {
    const handle = await pOpen.call(this, path, ...rest);
    handlePaths.set(handle, String(path));
    if (!handleSyncRecorded) {
      handleSyncRecorded = true;
      const proto = Object.getPrototypeOf(handle);
      const sync = proto.sync;
      proto.sync = async function () {
        const r = await sync.call(this);
        log(`fsync ${handlePaths.get(this) ?? 'handle'}`);
        return r;
      };
    }
    return handle;
  };
  require('node:module').syncBuiltinESMExports();
}
