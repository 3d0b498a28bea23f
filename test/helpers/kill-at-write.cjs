/**
 * Test preload (NODE_OPTIONS=--require this file): with `SNAP_TEST_KILL_AT=N:SIGNAL`, the process
 * sends itself SIGNAL (SIGKILL: it dies there; SIGINT: its handler runs at the next turn of the
 * event loop, the call going on) just before the N-th call (1: the first) that changes the file
 * system, made on the main thread: an open for writing, a write, a sync, a rename, a link, an
 * unlink, a mkdir, a truncate, a chmod … through node:fs, its callbacks, its promises or a
 * FileHandle. Each call's name is appended to `SNAP_TEST_KILL_LOG` (when set), so that a test
 * knows how many such calls a whole run makes and where it was stopped. Inert without the variable.
 */
'use strict';
const { isMainThread } = require('node:worker_threads');
const spec = process.env.SNAP_TEST_KILL_AT;
const logPath = process.env.SNAP_TEST_KILL_LOG;
if (isMainThread && (spec !== undefined || logPath !== undefined)) {
  const fs = require('node:fs');
  const fsp = require('node:fs/promises');
  const { syncBuiltinESMExports } = require('node:module');
  const m = spec === undefined ? null : /^([0-9]+):(SIGKILL|SIGINT|SIGTERM)$/.exec(spec);
  const at = m ? Number(m[1]) : -1;
  const signal = m ? m[2] : '';
  const appendSync = fs.appendFileSync;
  let n = 0;
  let logging = false; // appendFileSync goes through the patched writeFileSync: not counted
  const writeFlags = (flags) => flags !== undefined && flags !== 'r' && flags !== 'rs' && (typeof flags !== 'number' || (flags & 3) !== 0 || (flags & fs.constants.O_CREAT) !== 0 || (flags & fs.constants.O_TRUNC) !== 0);
  const step = (name, detail) => {
    if (logging) return;
    n++;
    if (logPath !== undefined) {
      logging = true;
      try {
        appendSync(logPath, `${n} ${name} ${detail ?? ''}\n`);
      } finally {
        logging = false;
      }
    }
    if (n === at) process.kill(process.pid, signal);
  };
  const MUTATING = ['writeFile', 'appendFile', 'write', 'writev', 'rename', 'link', 'symlink', 'unlink', 'rmdir', 'rm', 'mkdir', 'mkdtemp', 'fsync', 'fdatasync', 'ftruncate', 'truncate', 'copyFile', 'cp', 'chmod', 'fchmod', 'utimes', 'futimes'];
  const label = (a) => (typeof a === 'string' ? a : typeof a === 'number' ? `fd ${a}` : a instanceof URL ? a.pathname : '');
  const wrap = (obj, name, kind) => {
    const orig = obj[name];
    if (typeof orig !== 'function') return;
    obj[name] = function (...args) {
      if (name === 'open' || name === 'openSync') {
        if (writeFlags(args[1])) step(`${kind}${name}`, label(args[0]));
      } else step(`${kind}${name}`, label(args[0]));
      const r = orig.apply(this, args);
      if (kind === 'promises.' && name === 'open' && r && typeof r.then === 'function') return r.then((fh) => (patchHandle(fh), fh));
      return r;
    };
  };
  let handlePatched = false;
  const patchHandle = (fh) => {
    if (handlePatched) return;
    handlePatched = true;
    const proto = Object.getPrototypeOf(fh);
    for (const name of ['write', 'writev', 'writeFile', 'appendFile', 'sync', 'datasync', 'truncate', 'chmod', 'utimes']) {
      const orig = proto[name];
      if (typeof orig !== 'function') continue;
      proto[name] = function (...args) {
        step(`handle.${name}`, `fd ${this.fd}`);
        return orig.apply(this, args);
      };
    }
  };
  for (const name of [...MUTATING, 'open']) {
    wrap(fs, name, '');
    wrap(fs, `${name}Sync`, '');
    wrap(fsp, name, 'promises.');
  }
  syncBuiltinESMExports();
}
