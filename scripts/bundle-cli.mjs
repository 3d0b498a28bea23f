#!/usr/bin/env node
// Bundle the `snap` command into one file, dist/cli/main.js (replacing tsc's output of that
// module; code loaded on demand, such as the S3 support, goes to dist/cli/chunks/), so that a run loads one module instead of about a hundred: about 60 ms less start-up,
// which is several percent of a 1 GiB verify. The library (dist/index.js and the rest of dist/)
// stays as tsc wrote it. Worker threads are started from self-contained source strings, so they
// need nothing from the bundle, except the record-indexing worker, a second entry (below).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { chmodSync, rmSync } from 'node:fs';

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

// Code splitting: main.js holds only what every run needs (argument parsing, the command table);
// each command's module and the libraries only it uses (hyparquet, csv-parse, CycloneDX, tar-stream,
// ...) are chunks in dist/cli/chunks/, loaded by the command's dynamic import when it runs. Without
// splitting, esbuild would also hoist the S3 support's imports (the AWS SDK) to the top of main.js.
const chunksDir = join(root, 'dist', 'cli', 'chunks');
rmSync(chunksDir, { recursive: true, force: true });
const result = await build({
  // The record-indexing worker (src/records/index-worker.ts) is a module, not a source string: it
  // needs the readers. Its entry sits in chunks/, beside the code that starts it (index-pool.ts
  // looks for ./index-worker.js, then ./chunks/index-worker.js).
  entryPoints: { main: join(root, 'src', 'cli', 'main.ts'), 'chunks/index-worker': join(root, 'src', 'records', 'index-worker.ts') },
  outdir: join(root, 'dist', 'cli'),
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  metafile: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // CommonJS dependencies (yargs, tar-stream, cli-progress) call require() for Node built-ins.
  // yargs' CommonJS build also reads __dirname (to find its message translations, which are not
  // bundled: it falls back to its built-in English).
  banner: { js: "import { createRequire as __snapCreateRequire } from 'node:module'; const require = __snapCreateRequire(import.meta.url); const __dirname = import.meta.dirname;" },
  plugins: [yargsCommonJs, lazyAssert],
  // @cyclonedx/cyclonedx-library require()s its optional plug-ins (XML writers and validators,
  // ajv) inside try/catch and works without them: leave them out of the bundle, unresolved.
  // The AWS SDK (hundreds of modules) stays in node_modules, imported only from the S3 chunks.
  external: ['@aws-sdk/*', '@smithy/*', 'xmlbuilder2', 'libxmljs2', 'ajv', 'ajv-formats', 'ajv-formats-draft2019', 'packageurl-js', 'spdx-expression-parse'],
  legalComments: 'inline',
  logLevel: 'warning',
});
// The bundle starts with `#!/usr/bin/env node`: make it runnable as it is (`./dist/cli/main.js`), as
// npm does for the package's bin links when it installs it, but not for a build in place.
chmodSync(join(root, 'dist', 'cli', 'main.js'), 0o755);
