/**
 * yargs, loaded from its CommonJS build.
 *
 * yargs' ES-module build lays out help with cliui's ES-module build, which wraps text at a fixed
 * number of characters, cutting words in two ("stat\nement"); its CommonJS build wraps at word
 * boundaries (wrap-ansi) and measures width with string-width. Same yargs version, same API: only
 * the text layout differs. `scripts/bundle-cli.mjs` bundles this same CommonJS build into
 * `dist/cli/snap.cjs`, the CLI bundle.
 */
import { createRequire } from 'node:module';
import type YargsEsm from 'yargs';

const require = createRequire(import.meta.url);

/** `yargs(args?)`: a new parser instance (the same function as the ES module's default export). */
export const yargs: typeof YargsEsm = require('yargs/yargs');
