/**
 * Open an S3 store backend for `s3://BUCKET/PREFIX`, with the client configured from the
 * environment as AWS users expect (`s3/client.ts`). Loaded only by dynamic `import()`.
 */
import { createS3Client } from '../s3/client.js';
import { parseS3Url } from '../s3/location.js';
import { S3Backend } from './s3.js';

/**
 * @throws SnapError `S3_URL_MALFORMED` (a bad URL or endpoint setting)
 */
export async function openS3Backend(url: string, env: NodeJS.ProcessEnv): Promise<S3Backend> {
  return new S3Backend(createS3Client(env), parseS3Url(url));
}
