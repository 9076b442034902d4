/**
 * @module config
 * Wharf's typed configuration: defaults, an optional TOML file, then `WHARF_*` environment
 * variables (the environment wins). The result is validated once and frozen; nothing else in
 * the code base reads `process.env`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';

export interface RateLimitConfig {
  /** GHES ships with rate limiting off; github.com has it on. Wharf defaults to on. */
  enabled: boolean;
  /** Requests per window for authenticated callers (per token's user). */
  authenticated: number;
  /** Requests per window for anonymous callers (per client address). */
  anonymous: number;
  /** Window length in seconds (GitHub: one hour). */
  windowSeconds: number;
  /**
   * GitHub's secondary limit on content creation: writes (POST, PATCH, PUT, DELETE) per caller
   * per minute (GitHub: about 80).
   */
  contentPerMinute: number;
}

export interface TlsConfig {
  cert: string;
  key: string;
  /** Offer HTTP/2 through ALPN next to HTTP/1.1 (clients that do not ask for it keep HTTP/1.1). */
  http2: boolean;
}

export interface S3Config {
  bucket: string;
  /** Region for request signing; S3-compatible servers usually accept any (default us-east-1). */
  region: string;
  /** Endpoint of an S3-compatible server (MinIO, Ceph, R2…); null for AWS itself. */
  endpoint: string | null;
  /** Address buckets as `endpoint/bucket/key` instead of `bucket.endpoint/key` (MinIO, Ceph, s3rver). */
  forcePathStyle: boolean;
  /** Lifetime of presigned download URLs, in seconds. */
  presignTtlSeconds: number;
  /** Serve downloads through Wharf instead of redirecting to presigned URLs (buckets clients cannot reach). */
  proxyDownloads: boolean;
}

export interface WharfConfig {
  host: string;
  port: number;
  dataDir: string;
  /** Public base URL (scheme, host, port, optional path prefix) used in every URL Wharf returns. */
  externalUrl: string | null;
  /** Trust X-Forwarded-Proto/Host from a reverse proxy when deriving URLs and client addresses. */
  trustProxy: boolean;
  /** `sqlite:` path, or a `postgres://` URL. */
  databaseUrl: string;
  blobStore: 'fs' | 's3';
  /** Directory of the `fs` blob store. */
  blobDir: string;
  /** Settings of the `s3` blob store; null unless `blobStore` is `s3`. Credentials come from the AWS SDK's default chain. */
  s3: S3Config | null;
  repositoriesDir: string;
  adminLogin: string;
  adminToken: string | null;
  rateLimit: RateLimitConfig;
  /** Largest asset accepted, in bytes. GitHub: 2 GiB. */
  maxAssetSize: number;
  /** Largest JSON request body accepted, in bytes. */
  maxJsonBodySize: number;
  logLevel: string;
  tls: TlsConfig | null;
  /** Graceful shutdown: how long in-flight requests may run after SIGTERM. */
  shutdownGraceMs: number;
  /** A client must have sent all request headers within this time. */
  headersTimeoutMs: number;
  /** A JSON request (API and web) must have sent its whole body within this time (uploads are exempt). */
  bodyTimeoutMs: number;
  /** A connection on which nothing moves for this long is closed (uploads included). */
  idleTimeoutMs: number;
  /** Open connections accepted at once; further ones are refused until some close. 0 = no limit. */
  maxConnections: number;
  /**
   * Behind a reverse proxy: answer authorized downloads with this header naming the blob
   * (`X-Accel-Redirect` for nginx, `X-Sendfile` for Apache and lighttpd) so the proxy sends the
   * bytes itself; null (the default) streams them from Wharf. File blob store only.
   */
  sendfileHeader: SendfileHeader | null;
  /** What the header's value starts with, followed by the blob's path under the blob directory. */
  sendfilePrefix: string;
}

export const SENDFILE_HEADERS = ['X-Accel-Redirect', 'X-Sendfile'] as const;
export type SendfileHeader = (typeof SENDFILE_HEADERS)[number];

type Env = Record<string, string | undefined>;

export class ConfigError extends Error {}

const DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  dataDir: './data',
  adminLogin: 'admin',
  maxAssetSize: 2 * 1024 * 1024 * 1024,
  maxJsonBodySize: 1024 * 1024,
  logLevel: 'info',
  rateLimit: { enabled: true, authenticated: 5000, anonymous: 60, windowSeconds: 3600, contentPerMinute: 80 },
  shutdownGraceMs: 30_000,
  headersTimeoutMs: 20_000,
  bodyTimeoutMs: 60_000,
  idleTimeoutMs: 120_000,
  maxConnections: 4096,
  sendfilePrefix: '/_wharf/blobs/',
};

/** Keys accepted in the TOML file, mirroring the environment names without the prefix. */
type FileConfig = Record<string, unknown>;

function readConfigFile(file: string): FileConfig {
  try {
    return parseToml(readFileSync(file, 'utf8')) as FileConfig;
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
}

function pick(env: Env, file: FileConfig, envName: string, fileKey: string): string | undefined {
  const fromEnv = env[envName];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const fromFile = file[fileKey];
  if (fromFile === undefined || fromFile === null) return undefined;
  return String(fromFile);
}

function toInt(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${name} must be an integer >= ${min}, got "${value}"`);
  return n;
}

function toBool(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const v = value.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(`${name} must be true or false, got "${value}"`);
}

function normalizeExternalUrl(value: string | undefined): string | null {
  if (value === undefined) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`WHARF_EXTERNAL_URL must be an absolute URL, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('WHARF_EXTERNAL_URL must use http or https');
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Builds the configuration from the environment (and `WHARF_CONFIG`, a TOML file). */
export function loadConfig(env: Env = process.env, overrides: Partial<WharfConfig> = {}): WharfConfig {
  const fileName = env.WHARF_CONFIG;
  const file = fileName ? readConfigFile(fileName) : {};
  const dataDir = path.resolve(pick(env, file, 'WHARF_DATA_DIR', 'data_dir') ?? DEFAULTS.dataDir);
  const tlsCert = pick(env, file, 'WHARF_TLS_CERT', 'tls_cert');
  const tlsKey = pick(env, file, 'WHARF_TLS_KEY', 'tls_key');
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new ConfigError('WHARF_TLS_CERT and WHARF_TLS_KEY must be given together');
  }
  const blobStore = pick(env, file, 'WHARF_BLOB_STORE', 'blob_store') ?? 'fs';
  if (blobStore !== 'fs' && blobStore !== 's3') throw new ConfigError(`WHARF_BLOB_STORE "${blobStore}" is not supported (use "fs" or "s3")`);
  const s3 = blobStore === 's3' ? readS3Config(env, file) : null;

  const config: WharfConfig = {
    host: pick(env, file, 'WHARF_HOST', 'host') ?? DEFAULTS.host,
    port: toInt('WHARF_PORT', pick(env, file, 'WHARF_PORT', 'port'), DEFAULTS.port),
    dataDir,
    externalUrl: normalizeExternalUrl(pick(env, file, 'WHARF_EXTERNAL_URL', 'external_url')),
    trustProxy: toBool('WHARF_TRUST_PROXY', pick(env, file, 'WHARF_TRUST_PROXY', 'trust_proxy'), false),
    databaseUrl: pick(env, file, 'WHARF_DATABASE_URL', 'database_url') ?? `sqlite:${path.join(dataDir, 'wharf.db')}`,
    blobStore,
    s3,
    blobDir: path.join(dataDir, 'blobs'),
    repositoriesDir: path.join(dataDir, 'repositories'),
    adminLogin: pick(env, file, 'WHARF_ADMIN_LOGIN', 'admin_login') ?? DEFAULTS.adminLogin,
    adminToken: pick(env, file, 'WHARF_ADMIN_TOKEN', 'admin_token') ?? null,
    rateLimit: {
      enabled: toBool('WHARF_RATE_LIMIT', pick(env, file, 'WHARF_RATE_LIMIT', 'rate_limit'), DEFAULTS.rateLimit.enabled),
      authenticated: toInt(
        'WHARF_RATE_LIMIT_AUTHENTICATED',
        pick(env, file, 'WHARF_RATE_LIMIT_AUTHENTICATED', 'rate_limit_authenticated'),
        DEFAULTS.rateLimit.authenticated,
        1,
      ),
      anonymous: toInt(
        'WHARF_RATE_LIMIT_ANONYMOUS',
        pick(env, file, 'WHARF_RATE_LIMIT_ANONYMOUS', 'rate_limit_anonymous'),
        DEFAULTS.rateLimit.anonymous,
        1,
      ),
      windowSeconds: toInt(
        'WHARF_RATE_LIMIT_WINDOW',
        pick(env, file, 'WHARF_RATE_LIMIT_WINDOW', 'rate_limit_window'),
        DEFAULTS.rateLimit.windowSeconds,
        1,
      ),
      contentPerMinute: toInt(
        'WHARF_RATE_LIMIT_CONTENT_PER_MINUTE',
        pick(env, file, 'WHARF_RATE_LIMIT_CONTENT_PER_MINUTE', 'rate_limit_content_per_minute'),
        DEFAULTS.rateLimit.contentPerMinute,
        1,
      ),
    },
    maxAssetSize: toInt('WHARF_MAX_ASSET_SIZE', pick(env, file, 'WHARF_MAX_ASSET_SIZE', 'max_asset_size'), DEFAULTS.maxAssetSize, 1),
    maxJsonBodySize: toInt(
      'WHARF_MAX_JSON_BODY',
      pick(env, file, 'WHARF_MAX_JSON_BODY', 'max_json_body'),
      DEFAULTS.maxJsonBodySize,
      1024,
    ),
    logLevel: pick(env, file, 'WHARF_LOG_LEVEL', 'log_level') ?? DEFAULTS.logLevel,
    tls: tlsCert && tlsKey ? { cert: path.resolve(tlsCert), key: path.resolve(tlsKey), http2: toBool('WHARF_HTTP2', pick(env, file, 'WHARF_HTTP2', 'http2'), false) } : null,
    shutdownGraceMs: toInt('WHARF_SHUTDOWN_GRACE_MS', pick(env, file, 'WHARF_SHUTDOWN_GRACE_MS', 'shutdown_grace_ms'), DEFAULTS.shutdownGraceMs),
    headersTimeoutMs: toInt('WHARF_HEADERS_TIMEOUT_MS', pick(env, file, 'WHARF_HEADERS_TIMEOUT_MS', 'headers_timeout_ms'), DEFAULTS.headersTimeoutMs, 100),
    bodyTimeoutMs: toInt('WHARF_BODY_TIMEOUT_MS', pick(env, file, 'WHARF_BODY_TIMEOUT_MS', 'body_timeout_ms'), DEFAULTS.bodyTimeoutMs, 100),
    idleTimeoutMs: toInt('WHARF_IDLE_TIMEOUT_MS', pick(env, file, 'WHARF_IDLE_TIMEOUT_MS', 'idle_timeout_ms'), DEFAULTS.idleTimeoutMs, 100),
    maxConnections: toInt('WHARF_MAX_CONNECTIONS', pick(env, file, 'WHARF_MAX_CONNECTIONS', 'max_connections'), DEFAULTS.maxConnections),
    sendfileHeader: toSendfileHeader(pick(env, file, 'WHARF_SENDFILE_HEADER', 'sendfile_header')),
    sendfilePrefix: toSendfilePrefix(pick(env, file, 'WHARF_SENDFILE_PREFIX', 'sendfile_prefix')),
    ...overrides,
  };
  // S3 copies objects server-side in one request only up to 5 GiB (the content-addressed rename).
  if (config.blobStore === 's3' && config.maxAssetSize > S3_MAX_COPY_SIZE) {
    throw new ConfigError(`WHARF_MAX_ASSET_SIZE cannot exceed ${S3_MAX_COPY_SIZE} bytes with WHARF_BLOB_STORE=s3`);
  }
  if (config.sendfileHeader && config.blobStore !== 'fs') {
    throw new ConfigError('WHARF_SENDFILE_HEADER needs WHARF_BLOB_STORE=fs (with S3, downloads are redirected to the bucket)');
  }
  return Object.freeze({
    ...config,
    rateLimit: Object.freeze({ ...config.rateLimit }),
    s3: config.s3 ? Object.freeze({ ...config.s3 }) : null,
  });
}

const S3_MAX_COPY_SIZE = 5 * 1024 * 1024 * 1024;

function toSendfileHeader(value: string | undefined): SendfileHeader | null {
  if (value === undefined) return null;
  const header = SENDFILE_HEADERS.find((h) => h.toLowerCase() === value.toLowerCase());
  if (!header) throw new ConfigError(`WHARF_SENDFILE_HEADER must be ${SENDFILE_HEADERS.join(' or ')}, got "${value}"`);
  return header;
}

/** A URI path for nginx's internal location, or a directory the proxy reads (X-Sendfile): `/…/`. */
function toSendfilePrefix(value: string | undefined): string {
  if (value === undefined) return DEFAULTS.sendfilePrefix;
  if (!value.startsWith('/') || !value.endsWith('/') || /[\s?#%]|\/\.\.?\//.test(value)) {
    throw new ConfigError(`WHARF_SENDFILE_PREFIX must be an absolute path ending in "/", without spaces, "?", "#", "%" or dot segments, got "${value}"`);
  }
  return value;
}

function readS3Config(env: Env, file: FileConfig): S3Config {
  const bucket = pick(env, file, 'WHARF_S3_BUCKET', 's3_bucket');
  if (!bucket) throw new ConfigError('WHARF_S3_BUCKET is required with WHARF_BLOB_STORE=s3');
  const endpoint = pick(env, file, 'WHARF_S3_ENDPOINT', 's3_endpoint') ?? null;
  if (endpoint !== null) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new ConfigError(`WHARF_S3_ENDPOINT must be an absolute URL, got "${endpoint}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError('WHARF_S3_ENDPOINT must use http or https');
  }
  const ttl = toInt('WHARF_S3_PRESIGN_TTL', pick(env, file, 'WHARF_S3_PRESIGN_TTL', 's3_presign_ttl'), 300, 1);
  // SigV4 presigned URLs cannot live longer than seven days.
  if (ttl > 604_800) throw new ConfigError('WHARF_S3_PRESIGN_TTL cannot exceed 604800 seconds (seven days)');
  return {
    bucket,
    region: pick(env, file, 'WHARF_S3_REGION', 's3_region') ?? env.AWS_REGION ?? 'us-east-1',
    endpoint,
    forcePathStyle: toBool('WHARF_S3_FORCE_PATH_STYLE', pick(env, file, 'WHARF_S3_FORCE_PATH_STYLE', 's3_force_path_style'), endpoint !== null),
    presignTtlSeconds: ttl,
    proxyDownloads: toBool('WHARF_S3_PROXY_DOWNLOADS', pick(env, file, 'WHARF_S3_PROXY_DOWNLOADS', 's3_proxy_downloads'), false),
  };
}
