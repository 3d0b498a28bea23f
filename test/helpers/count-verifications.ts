/**
 * Counting Ed25519 verifications, for tests that bound the work a planted file can cause. Use in a
 * test file as
 *
 *     vi.mock('../../src/core/ed25519.js', async (orig) => (await import('../helpers/count-verifications.js')).countingEd25519(orig));
 *
 * (vi.mock is hoisted above imports, so the factory imports this module itself), and read or reset
 * `verifications.count`.
 */
import { describe, expect, it } from 'vitest';
import type * as Ed25519 from '../../src/core/ed25519.js';

/**
 * Verifications made through the mocked module since the last reset: `count` of every kind (`verify`
 * and `verifyQuick`), `full` of `verify` alone — a full check, whose refusal costs @noble/ed25519's
 * own verification (about 1.2 ms) where a quick one costs OpenSSL's (about 0.1 ms).
 */
export const verifications = { count: 0, full: 0 };

/** The real core/ed25519.js with `verify` counted in {@link verifications}. */
export async function countingEd25519(orig: () => Promise<unknown>): Promise<typeof Ed25519> {
  const real = (await orig()) as typeof Ed25519;
  return {
    ...real,
    verify: (...a: Parameters<typeof real.verify>) => {
      verifications.count++;
      verifications.full++;
      return real.verify(...a);
    },
    // Absent from a build without it: then every check is a full one, as it was.
    ...('verifyQuick' in real
      ? {
          verifyQuick: (...a: Parameters<typeof real.verifyQuick>) => {
            verifications.count++;
            return real.verifyQuick(...a);
          },
        }
      : {}),
  };
}

/**
 * The test that the counter counts, for a test file that mocks with {@link countingEd25519}: a bound
 * read from a counter that never moves would be met by a mock that is not in place.
 */
export function describeTheCounter(): void {
  describe('the verification counter these bounds are read from', () => {
    it('counts every Ed25519 verification made through core (so a bound below is not met by a counter that never moves)', async () => {
      // Imported here, not at the top: the mock's factory imports this module, which must not wait for the module it makes.
      const { verify } = await import('../../src/core/ed25519.js');
      const before = verifications.count;
      verify(new Uint8Array(64), new Uint8Array(1), new Uint8Array(32));
      verify(new Uint8Array(64), new Uint8Array(1), new Uint8Array(32));
      expect(verifications.count - before).toBe(2);
    });
  });
}
