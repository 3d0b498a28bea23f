/**
 * `s3://BUCKET/PREFIX` parsing is strict, and the S3 client's settings come from the environment
 * the way AWS SDK and CLI users expect.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isSnapError } from '../../src/core/errors.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { RESERVED_PREFIXES, RESERVED_SUFFIXES, formatS3Url, isS3Url, parseS3Url } from '../../src/s3/location.js';
import { createS3Client, readS3Settings } from '../../src/s3/client.js';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (isSnapError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe('parseS3Url', () => {
  it('splits a bucket from a prefix, which ends in "/" or is empty', () => {
    expect(parseS3Url('s3://my-bucket')).toEqual({ bucket: 'my-bucket', prefix: '' });
    expect(parseS3Url('s3://my-bucket/')).toEqual({ bucket: 'my-bucket', prefix: '' });
    expect(parseS3Url('s3://my.bucket/data/train')).toEqual({ bucket: 'my.bucket', prefix: 'data/train/' });
    expect(parseS3Url('s3://b01/data/train/')).toEqual({ bucket: 'b01', prefix: 'data/train/' });
    expect(parseS3Url('s3://b01/données/é')).toEqual({ bucket: 'b01', prefix: 'données/é/' });
  });

  it('refuses malformed locations with S3_URL_MALFORMED, a usage error (exit 2)', () => {
    const bad = [
      '', 'my-bucket/x', 'S3://my-bucket', 'https://my-bucket/x', 's3://', 's3:///x', 's3://ab', 's3://' + 'a'.repeat(64),
      's3://My-Bucket', 's3://my_bucket', 's3://-bucket', 's3://bucket-', 's3://my..bucket', 's3://my.-bucket', 's3://192.168.1.1',
      's3://xn--bucket', 's3://bucket-s3alias', 's3://bucket//x', 's3://bucket/a//b', 's3://bucket/./a', 's3://bucket/a/..',
      's3://bucket/a/../b', 's3://bucket/a\nb', 's3://bucket/a\u0000', 's3://bucket/a?x=1', 's3://bucket/a#f', 's3://bucket/\ud800',
      's3://bucket/' + 'x'.repeat(513),
    ];
    for (const url of bad) expect(codeOf(() => parseS3Url(url)), url).toBe('S3_URL_MALFORMED');
    expect(exitCodeFor('S3_URL_MALFORMED')).toBe(2);
  });

  it('round-trips through formatS3Url', () => {
    const segment = fc.stringMatching(/^[a-zA-Z0-9_ é-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
    // Any name S3 allows: not a reserved prefix or suffix (xn--0a is refused, as the test above shows).
    const bucketName = fc
      .stringMatching(/^[a-z0-9][a-z0-9-]{1,20}[a-z0-9]$/)
      .filter((b) => !RESERVED_PREFIXES.some((p) => b.startsWith(p)) && !RESERVED_SUFFIXES.some((x) => b.endsWith(x)));
    fc.assert(
      fc.property(bucketName, fc.array(segment, { maxLength: 4 }), (bucket, segs) => {
        const loc = parseS3Url(`s3://${bucket}/${segs.join('/')}`);
        expect(loc).toEqual({ bucket, prefix: segs.length ? `${segs.join('/')}/` : '' });
        expect(parseS3Url(formatS3Url(loc))).toEqual(loc);
      }),
    );
  });

  it('tells s3:// arguments from local paths', () => {
    expect(isS3Url('s3://b/x')).toBe(true);
    expect(isS3Url('./s3://b')).toBe(false);
    expect(isS3Url('data')).toBe(false);
  });
});

describe('S3 client settings', () => {
  it('uses AWS_ENDPOINT_URL_S3 before AWS_ENDPOINT_URL, and path-style for a custom endpoint', () => {
    expect(readS3Settings({ AWS_ENDPOINT_URL: 'http://127.0.0.1:9000' })).toEqual({ endpoint: 'http://127.0.0.1:9000', region: undefined, forcePathStyle: true });
    expect(readS3Settings({ AWS_ENDPOINT_URL: 'http://a:1', AWS_ENDPOINT_URL_S3: 'https://b:2' }).endpoint).toBe('https://b:2');
    expect(readS3Settings({})).toEqual({ endpoint: undefined, region: undefined, forcePathStyle: false });
  });

  it('lets SNAP_S3_PATH_STYLE force either addressing style, and refuses other values', () => {
    expect(readS3Settings({ AWS_ENDPOINT_URL: 'http://h:1', SNAP_S3_PATH_STYLE: '0' }).forcePathStyle).toBe(false);
    expect(readS3Settings({ SNAP_S3_PATH_STYLE: '1' }).forcePathStyle).toBe(true);
    expect(codeOf(() => readS3Settings({ SNAP_S3_PATH_STYLE: 'yes' }))).toBe('S3_URL_MALFORMED');
  });

  it('refuses an endpoint that is not an http(s) URL', () => {
    for (const e of ['localhost:9000', 'ftp://h/', 'file:///tmp', 'not a url']) expect(codeOf(() => readS3Settings({ AWS_ENDPOINT_URL: e })), e).toBe('S3_URL_MALFORMED');
  });

  it('takes the region from AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1', async () => {
    expect(readS3Settings({ AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-west-2' }).region).toBe('eu-west-1');
    expect(readS3Settings({ AWS_DEFAULT_REGION: 'us-west-2' }).region).toBe('us-west-2');
    const client = createS3Client({ AWS_REGION: 'eu-central-1', AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' });
    expect(await client.config.region()).toBe('eu-central-1');
    const none = createS3Client({ AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' }, {});
    const saved = { r: process.env.AWS_REGION, d: process.env.AWS_DEFAULT_REGION, p: process.env.AWS_PROFILE, c: process.env.AWS_CONFIG_FILE };
    process.env.AWS_CONFIG_FILE = '/nonexistent/snap-test-aws-config';
    delete process.env.AWS_REGION;
    delete process.env.AWS_PROFILE;
    try {
      expect(await none.config.region()).toBe('us-east-1');
    } finally {
      for (const [k, v] of [['AWS_REGION', saved.r], ['AWS_DEFAULT_REGION', saved.d], ['AWS_PROFILE', saved.p], ['AWS_CONFIG_FILE', saved.c]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('takes static keys from the given environment', async () => {
    const client = createS3Client({ AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 'SECRET', AWS_SESSION_TOKEN: 'TOKEN', AWS_REGION: 'us-east-1' });
    const creds = await client.config.credentials();
    expect(creds).toMatchObject({ accessKeyId: 'AKID', secretAccessKey: 'SECRET', sessionToken: 'TOKEN' });
  });
});
