import { defineConfig } from 'vitest/config';

// Timeouts are generous on purpose: the 1,024 Ed25519 vectors, property tests and CLI subprocess
// tests run on shared 2-core machines. Performance targets live in `npm run bench`, never here.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two test files at a time. Vitest's default on a 2-core machine is one (cores - 1), but most
    // of the suite waits — on CLI subprocesses, on S3 servers starting, on fsync — rather than
    // computing, so two at a time nearly halve the wall time of `npm test` there.
    maxWorkers: 2,
  },
});
