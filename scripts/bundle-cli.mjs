#!/usr/bin/env node
// Bundle the `snap` command into one file, dist/cli/main.js (replacing tsc's output of that
// module; code loaded on demand, such as the S3 support, goes to dist/cli/chunks/), so that a run loads one module instead of about a hundred: about 60 ms less start-up,
// which is several percent of a 1 GiB verify. The library (dist/index.js and the rest of dist/)
// stays as tsc wrote it. Worker threads are started from self-contained source strings, so they
// need nothing from the bundle.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { rm } from 'node:fs/promises';

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

// Chunks from an earlier build have other hashes: remove them.
await rm(join(root, 'dist', 'cli', 'chunks'), { recursive: true, force: true });

await build({
  entryPoints: { main: join(root, 'src', 'cli', 'main.ts') },
  // Code splitting: modules loaded with a dynamic import() (the S3 support, src/s3/) go to their
  // own files, dist/cli/chunks/, loaded only by the commands that need them; without splitting
  // esbuild would hoist their imports (the AWS SDK) to the top of main.js.
  outdir: join(root, 'dist', 'cli'),
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // CommonJS dependencies (yargs, tar-stream, cli-progress) call require() for Node built-ins.
  // yargs' CommonJS build also reads __dirname (to find its message translations, which are not
  // bundled: it falls back to its built-in English).
  banner: { js: "import { createRequire as __snapCreateRequire } from 'node:module'; const require = __snapCreateRequire(import.meta.url); const __dirname = import.meta.dirname;" },
  plugins: [yargsCommonJs],
  // @cyclonedx/cyclonedx-library require()s its optional plug-ins (XML writers and validators,
  // ajv) inside try/catch and works without them: leave them out of the bundle, unresolved.
  // The AWS SDK (hundreds of modules) stays in node_modules, imported only from the S3 chunks.
  external: ['@aws-sdk/*', '@smithy/*', 'xmlbuilder2', 'libxmljs2', 'ajv', 'ajv-formats', 'ajv-formats-draft2019', 'packageurl-js', 'spdx-expression-parse'],
  legalComments: 'inline',
  logLevel: 'warning',
});
