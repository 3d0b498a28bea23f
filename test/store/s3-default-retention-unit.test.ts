/**
 * S3Backend.defaultRetention against a client stub: a bucket's default retention rule is read when
 * there is one; none, no Object Lock configuration, or a key not allowed to read it (403) all give
 * "no rule", so that a seal with a minimal write policy still works; other failures are IO errors.
 */
import { describe, expect, it } from 'vitest';
import type { S3Client } from '@aws-sdk/client-s3';
import { S3Backend } from '../../src/store/s3.js';

/** A backend whose client answers every command with `answer` (a value, or an error to throw). */
function backendAnswering(answer: unknown): S3Backend {
  const client = { send: async () => { if (answer instanceof Error) throw answer; return answer; } } as unknown as S3Client;
  return new S3Backend(client, { bucket: 'b', prefix: 'st/' });
}

/** An SDK-shaped error with an HTTP status and a name. */
const sdkError = (name: string, httpStatusCode: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode } });

describe('the default retention rule of a bucket', () => {
  it('is read as its mode and period (days, or years of 365 days)', async () => {
    expect(await backendAnswering({ ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 2 } } } }).defaultRetention()).toEqual({ mode: 'GOVERNANCE', periodMs: 2 * 86_400_000 });
    expect(await backendAnswering({ ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Years: 1 } } } }).defaultRetention()).toEqual({ mode: 'COMPLIANCE', periodMs: 365 * 86_400_000 });
  });

  it('is none without Object Lock, without a rule, or when the key may not read the configuration (403)', async () => {
    expect(await backendAnswering({ ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } }).defaultRetention()).toBeUndefined();
    expect(await backendAnswering(sdkError('ObjectLockConfigurationNotFoundError', 404)).defaultRetention()).toBeUndefined();
    expect(await backendAnswering(sdkError('AccessDenied', 403)).defaultRetention()).toBeUndefined();
  });

  it('fails with IO_ERROR for another failure of the server', async () => {
    await expect(backendAnswering(sdkError('InternalError', 500)).defaultRetention()).rejects.toMatchObject({ code: 'IO_ERROR' });
  });
});
