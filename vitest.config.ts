import { defineConfig } from 'vitest/config';

// Timeouts are generous on purpose: the 1,024 Ed25519 vectors, property tests and CLI subprocess
// tests run on shared 2-core machines. Performance targets live in `npm run bench`, never here.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Hashing workers kept between the CLI runs of a test file (see the file).
    setupFiles: ['test/setup/keep-workers.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Three test files at a time. Vitest's default on a 2-core machine is one (cores - 1), but much
    // of the suite waits — on CLI subprocesses, on S3 servers starting (Ceph's gateway answers
    // after about 15 s of mostly idle waiting, five times), on fsync — rather than computing: two at
    // a time nearly halved the wall time of `npm test` there, and a third fills the waits.
    maxWorkers: 3,
  },
});
