#!/usr/bin/env node
// The `snap` command as installed: `npm run build` (scripts/bundle-cli.mjs) copies this file to
// dist/cli/main.js. It runs the CLI bundle, dist/cli/snap.cjs (one CommonJS script: src/cli/main.ts
// and everything it loads, the AWS SDK excepted), through `vm.Script` with the V8 code cache the
// build made for it, dist/cli/snap.cjs.cache: the functions a seal and a verify run, already
// compiled. That saves about 60 ms of CPU a run (docs/PERFORMANCE.md, "A V8 code cache for the CLI").
//
// The cache is only ever written by the build, beside the code, never at run time. It is used only
// when its header names this very bundle (the `//# snap-build` id on the bundle's last line, the
// SHA-256 of the rest) and the SHA-256 of its V8 data matches; V8 itself then refuses data made by
// another V8 version or with other V8 flags (`cachedDataRejected`). A missing, stale, damaged or
// refused cache changes nothing but speed: the bundle is then compiled from its source.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';

/** First word of the cache file's header line: `snap-code-cache-1 BUILD_ID SHA256_OF_DATA\n`. */
const CACHE_MAGIC = 'snap-code-cache-1';
/** Where the bundle says which build it is: its last line is this, then 64 hex digits. */
const BUILD_ID_PREFIX = '//# snap-build ';
/** The header line is short; a longer first line is not a cache of ours. */
const MAX_HEADER_BYTES = 256;

const filename = join(import.meta.dirname, 'snap.cjs');
/** The code cache's file, beside the bundle. */
export const cacheFile = `${filename}.cache`;
// ASCII only (the build checks it): read as Latin-1, one byte a character, with no UTF-8 decoding.
const source = readFileSync(filename, 'latin1');
const buildId = buildIdOf(source);

/** The build id on the bundle's last line, or undefined. */
function buildIdOf(text) {
  const at = text.lastIndexOf(BUILD_ID_PREFIX);
  const id = at < 0 ? '' : text.slice(at + BUILD_ID_PREFIX.length).trimEnd();
  return /^[0-9a-f]{64}$/.test(id) ? id : undefined;
}

/** The cache's V8 data when its header names this build and its digest matches, else undefined. */
function cachedDataFor() {
  if (buildId === undefined) return undefined;
  let bytes;
  try {
    bytes = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const nl = bytes.subarray(0, MAX_HEADER_BYTES).indexOf(10);
  if (nl < 0) return undefined;
  const [magic, id, digest] = bytes.toString('latin1', 0, nl).split(' ');
  const data = bytes.subarray(nl + 1);
  if (magic !== CACHE_MAGIC || id !== buildId || createHash('sha256').update(data).digest('hex') !== digest) return undefined;
  return data;
}

const cachedData = cachedDataFor();
// Node's own CommonJS wrapper, on the first line: line numbers in stack traces are the bundle's.
/** The compiled bundle (the build's warm-up run makes the next cache from it: `codeCacheBytes`). */
export const script = new Script(`(function (exports, require, module, __filename, __dirname) { ${source}\n})`, { filename, ...(cachedData ? { cachedData } : {}) });
/** `accepted`, `rejected` (by V8) or `none` (no cache of this build): for the tests and the build. */
export const codeCacheState = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted';

/** A cache file of this build holding what has been compiled so far (the build's warm-up writes it). */
export function codeCacheBytes() {
  if (buildId === undefined) throw new Error(`${filename} has no build id on its last line`);
  const data = script.createCachedData();
  return Buffer.concat([Buffer.from(`${CACHE_MAGIC} ${buildId} ${createHash('sha256').update(data).digest('hex')}\n`, 'latin1'), data]);
}

const module = { exports: {} };
script.runInThisContext().call(module.exports, module.exports, createRequire(filename), module, filename, import.meta.dirname);
