#!/usr/bin/env node
// Bundle the `snap` command (docs/DESIGN.md, "The CLI as shipped"):
// - dist/cli/snap.cjs: src/cli/main.ts and everything it loads in one CommonJS script (the AWS SDK
//   and a few optional plug-ins excepted, below). A command's module and the libraries only it uses
//   are still initialized only when it runs (esbuild wraps each lazily imported module in a function).
// - dist/cli/snap.cjs.cache: the V8 code cache of that script after a seal and a verify ran, made here
//   by running them on a small dataset in a temporary folder (scripts/warm-cli-cache.mjs).
// - dist/cli/main.js, the `snap` binary: scripts/cli-loader.mjs, which compiles snap.cjs with that
//   cache (`vm.Script` `cachedData`, which ES modules cannot take) and runs it. Compiling and
//   loading the code was about 100 ms of a one-file verify's 240 ms of main-thread CPU; with the cache
//   a run costs about 60 ms less CPU (docs/PERFORMANCE.md, "A V8 code cache for the CLI").
// - dist/cli/chunks/index-worker.js: the record-indexing worker, an ES module of its own.
// The library (dist/index.js and the rest of dist/) stays as tsc wrote it. The hashing workers are
// started from self-contained source strings, so they need nothing from the bundle.
import { build, transform } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Script } from 'node:vm';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// src/cli/yargs.ts loads yargs' CommonJS build at run time (its ES-module build cuts words in two
// when it wraps help text). In the bundle, the same CommonJS build is bundled instead: a `require`
// that esbuild resolves with the "require" condition.
const yargsCommonJs = {
  name: 'yargs-commonjs',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]cli[\\/]yargs\.ts$/ }, () => ({ contents: "export const yargs = require('yargs/yargs');", loader: 'js', resolveDir: root }));
  },
};

// yargs' CommonJS build requires node:assert when it loads, for two checks (strictEqual,
// notStrictEqual), one of which fails in every run (its guess of the package version, from the
// working folder, which snap replaces anyway) and is caught; loading assert and its helpers costs
// milliseconds of every run. Give it a stand-in that makes the same checks (Object.is, as
// node:assert's strict ones) and throws a plain Error when one fails.
const lazyAssert = {
  name: 'lazy-assert',
  setup(b) {
    b.onResolve({ filter: /^(node:)?assert$/ }, (a) => (/[\\/]yargs[\\/]/.test(a.importer) ? { path: 'lazy-assert', namespace: 'lazy-assert' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'lazy-assert' }, () => ({
      loader: 'js',
      contents:
        'const fail = (what, m) => { throw m instanceof Error ? m : new Error(m ?? what); };\n' +
        'module.exports = {\n' +
        "  notStrictEqual: (a, b, m) => { if (Object.is(a, b)) fail('Expected values to be strictly unequal', m); },\n" +
        "  strictEqual: (a, b, m) => { if (!Object.is(a, b)) fail('Expected values to be strictly equal', m); },\n" +
        '};\n',
    }));
  },
};

// yargs guesses a version for every parser it makes (`yargs()`, several a run): it looks for a
// package.json from the main module's folder up, which for the bundle (no CommonJS main module) is
// the working folder, by reading each folder's whole listing (escalade's `readdirSync`). Run inside a
// dataset of 300,000 files, that listing cost every command 170 ms and 38 MB; of millions, seconds.
// snap sets its version itself (`.version(TOOL_VERSION)`): give yargs a search that finds nothing.
const noFindUp = {
  name: 'no-find-up',
  setup(b) {
    b.onResolve({ filter: /^escalade\/sync$/ }, (a) => (/[\\/]yargs[\\/]/.test(a.importer) ? { path: 'no-find-up', namespace: 'no-find-up' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'no-find-up' }, () => ({ loader: 'js', contents: 'module.exports = () => undefined;\n' }));
  },
};

const cliDir = join(root, 'dist', 'cli');
const chunksDir = join(cliDir, 'chunks');
const bundleFile = join(cliDir, 'snap.cjs');
const cacheFile = `${bundleFile}.cache`;
const mainFile = join(cliDir, 'main.js');
// A cache left from an earlier build must never sit beside a new bundle, even if this build stops:
// it is set aside here, and put back below only when the new bundle is byte for byte the one it was
// made from and this Node's V8 accepts it (a second build with nothing changed, as `npm test` makes
// after `npm install`, then skips the warm-up runs).
const earlierCache = existsSync(cacheFile) ? readFileSync(cacheFile) : undefined;
rmSync(cacheFile, { force: true });
rmSync(chunksDir, { recursive: true, force: true });

// @cyclonedx/cyclonedx-library require()s its optional plug-ins (XML writers and validators,
// ajv) inside try/catch and works without them: leave them out of the bundle, unresolved.
// The AWS SDK (hundreds of modules) stays in node_modules, required only by the S3 modules, which
// are initialized only when an s3:// location is used.
const external = ['@aws-sdk/*', '@smithy/*', 'xmlbuilder2', 'libxmljs2', 'ajv', 'ajv-formats', 'ajv-formats-draft2019', 'packageurl-js', 'spdx-expression-parse'];

// The record-indexing worker (src/records/index-worker.ts) is a module, not a source string: it
// needs the readers. It sits in chunks/ (index-pool.ts looks for ./index-worker.js, then
// ./chunks/index-worker.js, beside the code that starts it).
mkdirSync(chunksDir, { recursive: true });
await build({
  entryPoints: { 'index-worker': join(root, 'src', 'records', 'index-worker.ts') },
  outdir: chunksDir,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // CommonJS dependencies call require() for Node built-ins.
  banner: { js: "import { createRequire as __snapCreateRequire } from 'node:module'; const require = __snapCreateRequire(import.meta.url);" },
  external,
  legalComments: 'inline',
  logLevel: 'warning',
});

// The CLI: one CommonJS script. `import()` of a bundled module becomes the call of its lazy
// initializer, of an external one (the AWS SDK) a require(). import.meta.url (index-pool.ts finds
// the worker beside the code) becomes the script's own file URL.
const result = await build({
  entryPoints: [join(root, 'src', 'cli', 'main.ts')],
  outfile: bundleFile,
  write: false,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  supported: { 'dynamic-import': false },
  define: { 'import.meta.url': '__snapImportMetaUrl' },
  inject: [join(root, 'scripts', 'cli-import-meta-url.js')],
  plugins: [yargsCommonJs, lazyAssert, noFindUp],
  external,
  legalComments: 'inline',
  logLevel: 'warning',
});
const [out] = result.outputFiles;
// The loader compiles the bundle inside a function: no `#!` line. And it reads the file as Latin-1
// (one byte a character, no UTF-8 decoding, which cost 9-32 ms for a 2.6 MB file with a few
// non-ASCII characters in its comments, as measured here): esbuild escapes every non-ASCII character of the code, so
// only comments can hold any. Escape those too, and check that the program is the same.
const raw = out.text.replace(/^#!.*\n/, '');
const ascii = raw.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
if (ascii !== raw) {
  const code = async (t) => (await transform(t, { minifyWhitespace: true, legalComments: 'none', format: 'cjs', logLevel: 'silent' })).code;
  if ((await code(ascii)) !== (await code(raw))) throw new Error('bundle-cli: escaping the non-ASCII characters of the CLI bundle would change its code');
}
// The last line names the build (the SHA-256 of the rest): a code cache is used only with the
// bundle it was made from (cli-loader.mjs), even where V8 would accept it (same length).
const buildId = createHash('sha256').update(ascii).digest('hex');
writeFileSync(bundleFile, `${ascii}//# snap-build ${buildId}\n`);
copyFileSync(join(root, 'scripts', 'cli-loader.mjs'), mainFile);
// Runnable as it is (`./dist/cli/main.js`), as npm makes the package's bin links when it installs
// it, but not for a build in place.
chmodSync(mainFile, 0o755);

// The code cache: seal --manifest-only, seal into a store and verify, each run through the loader
// with the cache the previous run left, on a small dataset in a temporary folder (its own store,
// key and trusted state). A failure leaves no cache and says so: the CLI works without one, slower.
if (!keepEarlierCache()) warmCodeCache();

/**
 * Put the earlier build's cache back when its header (scripts/cli-loader.mjs: `snap-code-cache-1
 * BUILD_ID SHA256_OF_DATA`) names this very bundle, its data is whole, and V8 here accepts it for the
 * bundle as the loader compiles it. Returns whether it did.
 */
function keepEarlierCache() {
  if (earlierCache === undefined) return false;
  const nl = earlierCache.subarray(0, 256).indexOf(10);
  if (nl < 0) return false;
  const [magic, id, digest] = earlierCache.toString('latin1', 0, nl).split(' ');
  const data = earlierCache.subarray(nl + 1);
  if (magic !== 'snap-code-cache-1' || id !== buildId || createHash('sha256').update(data).digest('hex') !== digest) return false;
  const source = readFileSync(bundleFile, 'latin1');
  const script = new Script(`(function (exports, require, module, __filename, __dirname) { ${source}\n})`, { filename: bundleFile, cachedData: data });
  if (script.cachedDataRejected) return false;
  writeFileSync(cacheFile, earlierCache);
  return true;
}

function warmCodeCache() {
  const tmp = mkdtempSync(join(tmpdir(), 'snap-code-cache-'));
  try {
    const env = { ...process.env, SNAP_STORE: join(tmp, 'store'), SNAP_STATE_DIR: join(tmp, 'state'), NO_COLOR: '1' };
    delete env.NODE_OPTIONS; // V8 refuses a cache made with other V8 flags
    const data = join(tmp, 'data');
    mkdirSync(join(data, 'sub'), { recursive: true });
    writeFileSync(join(data, 'a.txt'), 'a\n');
    writeFileSync(join(data, 'sub', 'b.bin'), Buffer.alloc(4096, 7));
    const key = join(tmp, 'keys', 'warm');
    const runs = [
      { args: ['keygen', 'warm', '--out-dir', join(tmp, 'keys')], warm: false },
      { args: ['seal', data, '--as', 'warm@v1', '--key', `${key}.key`, '--manifest-only'], warm: true },
      { args: ['seal', data, '--as', 'warm@v2', '--key', `${key}.key`], warm: true },
      { args: ['verify', data, '--against', 'warm@v1', '--pubkey', `${key}.pub`], warm: true },
    ];
    for (const { args, warm } of runs) {
      const argv = warm ? [join(root, 'scripts', 'warm-cli-cache.mjs'), mainFile, ...args] : [mainFile, ...args];
      const r = spawnSync(process.execPath, argv, { cwd: tmp, env, encoding: 'utf8' });
      if (r.status !== 0 || (warm && !existsSync(cacheFile))) throw new Error(`snap ${args[0]} exited ${r.status ?? r.signal}: ${r.stderr}`);
    }
  } catch (e) {
    rmSync(cacheFile, { force: true });
    process.stderr.write(`bundle-cli: no code cache for the CLI (it works without one, about 60 ms slower a run): ${e.message}\n`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
