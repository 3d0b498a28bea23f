/**
 * Open an S3 store backend for `s3://BUCKET/PREFIX`, with the client configured from the
 * environment as AWS users expect (`s3/client.ts`). Loaded only by dynamic `import()`.
 */
import { createS3Client } from '../s3/client.js';
import { parseS3Url } from '../s3/location.js';
import { S3Backend } from './s3.js';

/**
 * @param env the command's environment: its AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 *   AWS_SESSION_TOKEN are used as the SDK's environment provider would (the SDK itself reads
 *   `process.env`, which differs from a command's when it runs in-process)
 * @throws SnapError `S3_URL_MALFORMED` (a bad URL or endpoint setting)
 */
export async function openS3Backend(url: string, env: NodeJS.ProcessEnv): Promise<S3Backend> {
  const id = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  const credentials = id && secret ? { credentials: { accessKeyId: id, secretAccessKey: secret, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) } } : {};
  return new S3Backend(createS3Client(env, credentials), parseS3Url(url));
}
