/**
 * The S3 client, configured the way users of the AWS SDK and CLI expect. Loaded only through a
 * dynamic `import()` when an `s3://` location is used, so that plain local commands never load the
 * AWS SDK (start-up time; see scripts/bundle-cli.mjs).
 *
 * Settings, from the environment (the AWS SDK's own names first):
 * - endpoint: `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL` (http or https; e.g. a self-hosted
 *   Ceph RADOS Gateway or MinIO). Unset: AWS S3 (or an `endpoint_url` in the profile, which the
 *   SDK reads itself).
 * - region: `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the profile's region, else `us-east-1`.
 * - credentials: the SDK's default chain (environment `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/
 *   `AWS_SESSION_TOKEN`, `AWS_PROFILE` and ~/.aws files, SSO, web identity, container and instance
 *   metadata). snap never reads or stores credentials itself.
 * - addressing: path-style (`http://host/BUCKET/KEY`) when a custom endpoint is set, since
 *   self-hosted servers rarely have wildcard DNS for virtual-hosted buckets; virtual-hosted
 *   otherwise. `SNAP_S3_PATH_STYLE=1` or `=0` forces either.
 * - retries: the SDK's "standard" mode with {@link DEFAULT_MAX_ATTEMPTS} attempts unless
 *   `AWS_MAX_ATTEMPTS` / `AWS_RETRY_MODE` say otherwise; connections time out after
 *   {@link CONNECT_TIMEOUT_MS}, a request with no data for {@link SOCKET_TIMEOUT_MS}.
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { SnapError } from '../core/errors.js';

/** Attempts per request (first try and retries), unless AWS_MAX_ATTEMPTS is set. */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** The region when none is configured anywhere: the SDK and CLI default. */
export const DEFAULT_REGION = 'us-east-1';
/** TCP connect timeout, milliseconds. */
export const CONNECT_TIMEOUT_MS = 10_000;
/** A request that sends or receives nothing for this long fails (and is retried), milliseconds. */
export const SOCKET_TIMEOUT_MS = 120_000;
/** Concurrent connections per client: above the largest parallelism snap uses. */
export const MAX_SOCKETS = 64;

/** How the client was set up (for messages and tests). */
export interface S3Settings {
  /** The custom endpoint, or `undefined` for the SDK's default (AWS, or the profile's endpoint_url). */
  endpoint: string | undefined;
  /** The region from the environment, or `undefined` (then the profile's, else us-east-1). */
  region: string | undefined;
  /** Path-style addressing. */
  forcePathStyle: boolean;
}

/**
 * Read the S3 settings from an environment.
 * @param env the environment (default `process.env`)
 * @throws SnapError `S3_URL_MALFORMED` when AWS_ENDPOINT_URL(_S3) is not an http(s) URL or
 *   SNAP_S3_PATH_STYLE is not `0` or `1`
 */
export function readS3Settings(env: NodeJS.ProcessEnv = process.env): S3Settings {
  const rawEndpoint = nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL);
  let endpoint: string | undefined;
  if (rawEndpoint !== undefined) {
    let u: URL | undefined;
    try {
      u = new URL(rawEndpoint);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || rawEndpoint.length > 2048) {
      throw new SnapError('S3_URL_MALFORMED', `AWS_ENDPOINT_URL ${JSON.stringify(rawEndpoint.slice(0, 200))} is not an http:// or https:// URL`, { endpoint: rawEndpoint.slice(0, 200) });
    }
    endpoint = rawEndpoint;
  }
  const region = nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  const pathStyle = nonEmpty(env.SNAP_S3_PATH_STYLE);
  if (pathStyle !== undefined && pathStyle !== '0' && pathStyle !== '1') {
    throw new SnapError('S3_URL_MALFORMED', `SNAP_S3_PATH_STYLE must be 0 or 1, not ${JSON.stringify(pathStyle.slice(0, 50))}`, { SNAP_S3_PATH_STYLE: pathStyle.slice(0, 50) });
  }
  const forcePathStyle = pathStyle !== undefined ? pathStyle === '1' : endpoint !== undefined;
  return { endpoint, region, forcePathStyle };
}

/**
 * A new S3 client (see the module comment for where each setting comes from).
 * @param env       the environment (default `process.env`)
 * @param overrides S3ClientConfig fields that win over the defaults (tests, special callers)
 * @throws SnapError `S3_URL_MALFORMED` for a malformed AWS_ENDPOINT_URL or SNAP_S3_PATH_STYLE
 */
export function createS3Client(env: NodeJS.ProcessEnv = process.env, overrides: S3ClientConfig = {}): S3Client {
  // The SDK warns once per process, on stderr, that its releases after January 2027 will need
  // Node 22: not actionable for a user of snap (package-lock.json pins the SDK), and noise in a
  // CI log. A user who sets the variable themselves keeps their choice.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const s = readS3Settings(env);
  const config: S3ClientConfig = {
    forcePathStyle: s.forcePathStyle,
    region: s.region ?? regionFromProfileOrDefault,
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, socketTimeout: SOCKET_TIMEOUT_MS, httpAgent: { maxSockets: MAX_SOCKETS, keepAlive: true }, httpsAgent: { maxSockets: MAX_SOCKETS, keepAlive: true } },
    // snap hashes what it reads itself (SHA-256); the SDK's response CRCs would be a second,
    // non-cryptographic check on the same bytes, so they are computed only when an operation requires them.
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  if (s.endpoint !== undefined) config.endpoint = s.endpoint;
  // The SDK's chain reads process.env; a caller's own environment (runCli's, a test's) is honoured
  // the same way: static keys from it come first, as in the chain, then its AWS_PROFILE.
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
    config.credentials = sessionToken === undefined ? { accessKeyId, secretAccessKey } : { accessKeyId, secretAccessKey, sessionToken };
  } else if (nonEmpty(env.AWS_PROFILE) !== undefined) {
    config.profile = env.AWS_PROFILE;
  }
  if (nonEmpty(env.AWS_MAX_ATTEMPTS) === undefined) config.maxAttempts = DEFAULT_MAX_ATTEMPTS;
  return new S3Client({ ...config, ...overrides });
}

/** The region from the profile (AWS_PROFILE, ~/.aws/config) through the SDK's own loader, else us-east-1. */
async function regionFromProfileOrDefault(): Promise<string> {
  try {
    const probe = new S3Client({});
    try {
      const r = await probe.config.region();
      return typeof r === 'string' && r !== '' ? r : DEFAULT_REGION;
    } finally {
      probe.destroy();
    }
  } catch {
    return DEFAULT_REGION;
  }
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}
