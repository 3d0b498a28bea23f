/**
 * Test preload (NODE_OPTIONS=--require this file): with `SNAP_TEST_BEFORE_STATE_LOCK=SCRIPT`, the
 * first time this process opens a trusted state's lock file (`trusted-state.lock`, through
 * `fs.promises.open`), it first runs `sh SCRIPT` to its end (without this preload) — another run
 * that changes the trusted state at that very moment, where a concurrent process would rarely land.
 * Every lock opening is appended to `SCRIPT.opens` (one line each). Inert without the variable.
 */
'use strict';
const script = process.env.SNAP_TEST_BEFORE_STATE_LOCK;
if (script !== undefined) {
  const fs = require('node:fs');
  const { execFileSync } = require('node:child_process');
  const open = fs.promises.open;
  let ran = false;
  fs.promises.open = async function (path, ...rest) {
    if (String(path).endsWith('trusted-state.lock')) {
      fs.appendFileSync(`${script}.opens`, `${String(path)}\n`);
      if (!ran) {
        ran = true;
        const env = { ...process.env };
        delete env.NODE_OPTIONS;
        delete env.SNAP_TEST_BEFORE_STATE_LOCK;
        execFileSync('sh', [script], { env, stdio: ['ignore', 'ignore', 'inherit'] });
      }
    }
    return open.call(this, path, ...rest);
  };
}
