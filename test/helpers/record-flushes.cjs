/**
 * Test preload (NODE_OPTIONS=--require this file): with `SNAP_TEST_FLUSH_LOG=FILE`, every thread
 * of the process — the main thread and each worker, where Node runs preloads too — appends a line
 * to FILE after each `fs.fsyncSync` (`fsync PATH`, the path its descriptor was opened with by
 * `fs.openSync`) and each `fs.renameSync` (`rename FROM TO`). Lines of one thread are in the order
 * of its calls (appended with O_APPEND, one write each). Inert without the variable.
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
  fs.renameSync = function (from, to) {
    const r = renameSync.call(this, from, to);
    log(`rename ${String(from)} ${String(to)}`);
    return r;
  };
}
