/**
 * Every test file (vitest.config.ts `setupFiles`, run again before each file): the hooks of the
 * test helpers' temporary folders and state folders (test/helpers/per-file.ts).
 */
import { registerPerFileHooks } from '../helpers/per-file.js';

registerPerFileHooks();
