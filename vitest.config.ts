import { defineConfig } from 'vitest/config';
import { ISOLATED_FILES } from './test/setup/isolated-files.js';

// Timeouts are generous on purpose: the 1,024 Ed25519 vectors, property tests and CLI subprocess
// tests run on shared 2-core machines. Performance targets live in `npm run bench`, never here.
export default defineConfig({
  test: {
    // Hashing workers kept between the CLI runs of a test file (see the file); the helpers'
    // temporary and state folders renewed and removed per file and per test (see the file).
    setupFiles: ['test/setup/keep-workers.ts', 'test/setup/per-file.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Three test files at a time. Vitest's default on a 2-core machine is one (cores - 1), but much
    // of the suite waits — on CLI subprocesses, on S3 servers starting (Ceph's gateway answers
    // after about 15 s of mostly idle waiting, five times), on fsync — rather than computing: two at
    // a time nearly halved the wall time of `npm test` there, and a third fills the waits.
    maxWorkers: 3,
    // Each project names its files (the root names none: vitest would add its list to each project's).
    projects: [
      // Most files share a process with others, a file after another: no process start and no
      // import of snap's modules per file. The files that would change what a later file in their
      // process sees run alone (test/setup/isolated-files.ts says which and why).
      { extends: true, test: { name: 'shared', isolate: false, include: ['test/**/*.test.ts'], exclude: [...ISOLATED_FILES] } },
      { extends: true, test: { name: 'isolated', isolate: true, include: [...ISOLATED_FILES] } },
    ],
  },
});
