/**
 * @module config
 * Wharf's typed configuration: defaults, an optional TOML file, then `WHARF_*` environment
 * variables (the environment wins). Each setting is declared once in `settings.ts`; this module
 * checks the combinations and shapes the result, validated once and frozen. Nothing else in the
 * code base reads `process.env`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { availableParallelism } from 'node:os';
import { parse as parseToml } from 'smol-toml';
import { ConfigError, readSettings, type LOG_LEVELS, type SendfileHeader, type TrustProxy } from './settings.ts';

export { ConfigError } from './settings.ts';

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
  /** Failed browser sign-ins per login, and per client address, in a 15-minute window (always on). */
  signInFailuresPerAccount: number;
  signInFailuresPerAddress: number;
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

export interface WebhookConfig {
  /** A delivery attempt that has not answered within this time has failed. GitHub: 10 s. */
  timeoutMs: number;
  /** Delay before the first retry; each further retry waits twice as long (with jitter). */
  retryBaseMs: number;
  /** Longest wait between two attempts. */
  retryMaxDelayMs: number;
  /** How long a failing delivery is retried before it is marked failed. */
  retryWindowMs: number;
  /** A hook whose deliveries have failed without a success for this long is disabled. */
  disableAfterMs: number;
  /** How long deliveries (and their attempts) and handled events are kept. */
  retentionMs: number;
  /** Deliveries this node sends at once. */
  workers: number;
  /** Bytes of a receiver's response body kept with the attempt. */
  maxResponseBytes: number;
}

export interface WharfConfig {
  host: string;
  port: number;
  dataDir: string;
  /** Public base URL (scheme, host, port, optional path prefix) used in every URL Wharf returns. */
  externalUrl: string | null;
  /** Which proxies' X-Forwarded-For/-Proto/-Host to believe (Fastify's `trustProxy`: hops or addresses). */
  trustProxy: TrustProxy;
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
  /** An unfinished resumable upload expires this long after its last received byte. */
  resumableUploadExpiryMs: number;
  /** Unexpired resumable uploads one user may have open at once. */
  maxOpenResumableUploads: number;
  /** An `Idempotency-Key` is remembered this long after its request. */
  idempotencyKeyExpiryMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
  /** `auto`: pretty when stdout is a terminal, JSON otherwise (`config/logger.ts`). */
  logFormat: 'auto' | 'json' | 'pretty';
  /** Audit-log entries older than this are swept. */
  auditRetentionDays: number;
  tls: TlsConfig | null;
  /** Graceful shutdown: how long in-flight requests may run after SIGTERM. */
  shutdownGraceMs: number;
  /** A client must have sent all request headers within this time. */
  headersTimeoutMs: number;
  /** A request body on which no byte arrives for this long is cut off (408); also the grace period of `bodyMinRate`. */
  bodyTimeoutMs: number;
  /** Slowest average rate of a request body (bytes per second) once `bodyTimeoutMs` has passed; 0: none. */
  bodyMinRate: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: number;
  /** A connection on which nothing moves for this long is closed (uploads included). */
  idleTimeoutMs: number;
  /** How long one GraphQL query may run before its remaining reads are refused. */
  graphqlTimeoutMs: number;
  /** An upload's lease on its `open` asset row: renewed while bytes arrive, swept once it runs out. */
  uploadLeaseMs: number;
  /** The bounded pool of git processes (`git/git-slots.ts`) and their deadlines. */
  git: { maxProcesses: number; maxStreams: number; queueTimeoutMs: number; timeoutMs: number; streamTimeoutMs: number; maxResidents: number; residentIdleMs: number };
  /** Largest source archive served, in bytes of the files it holds. */
  maxArchiveSize: number;
  /** Most files a source archive may hold. */
  maxArchiveFiles: number;
  /** Open connections accepted at once; further ones are refused until some close. 0 = no limit. */
  maxConnections: number;
  /** Admission control (`http/admission.ts`): requests prepared at once (0: no limit), how many may wait, and for how long. */
  admission: { maxInProgress: number; maxLoopDelayMs: number; queueSize: number; queueTimeoutMs: number };
  /**
   * Behind a reverse proxy: answer authorized downloads with this header naming the blob
   * (`X-Accel-Redirect` for nginx, `X-Sendfile` for Apache and lighttpd) so the proxy sends the
   * bytes itself; null (the default) streams them from Wharf. File blob store only.
   */
  sendfileHeader: SendfileHeader | null;
  /** Port of a separate listener for Prometheus metrics; null: none. */
  metricsPort: number | null;
  /** Bearer token guarding `/metrics` on the main listener; null: not served there. */
  metricsToken: string | null;
  /** What the header's value starts with, followed by the blob's path under the blob directory. */
  sendfilePrefix: string;
  /** The read cache (`services/read-cache.ts`): bytes (0: off), answer lifetime, and the principal cache's lifetime. */
  readCache: { maxBytes: number; ttlMs: number; principalTtlMs: number; fastPath: boolean };
  /** Run the outbox's consumers (webhook deliveries) on this node. */
  eventConsumers: boolean;
  /** How often an idle consumer looks for new events or due deliveries. */
  eventsPollMs: number;
  /**
   * Internal destinations outbound requests (webhooks) may reach: CIDRs, host names or `*`.
   * Loopback, link-local, private and unique-local addresses are refused unless listed here.
   */
  outboundAllowedHosts: readonly string[];
  /** The image proxy of release notes (`web/image-proxy.ts`): upstream fetches at once, and its in-memory cache's bytes and entries. */
  imageProxy: { maxFetches: number; cacheBytes: number; cacheEntries: number };
  /** File holding the key that encrypts stored secrets (webhook signing secrets). */
  instanceKeyFile: string;
  webhooks: WebhookConfig;
  /** Pull mirrors (services/mirror-sync.ts). */
  mirrors: { pollMs: number; requestTimeoutMs: number; gitTimeoutMs: number; maxRateLimitWaitMs: number; pageSize: number };
}

export { SENDFILE_HEADERS, type SendfileHeader } from './settings.ts';

type Env = Record<string, string | undefined>;

/** Keys accepted in the TOML file, mirroring the environment names without the prefix. */
type FileConfig = Record<string, unknown>;

function readConfigFile(file: string): FileConfig {
  try {
    return parseToml(readFileSync(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const problem = e.code ? `cannot read the file (${e.code})` : `not valid TOML (${e.message.split('\n')[0]})`;
    throw new ConfigError('WHARF_CONFIG', file, `${problem}; name a readable TOML file`);
  }
}

/** S3 copies objects server-side in one request only up to 5 GiB (the content-addressed rename). */
const S3_MAX_COPY_SIZE = 5 * 1024 * 1024 * 1024;

/** Builds the configuration from the environment (and `WHARF_CONFIG`, a TOML file). */
export function loadConfig(env: Env = process.env, overrides: Partial<WharfConfig> = {}): WharfConfig {
  const fileName = env.WHARF_CONFIG;
  const v = readSettings(env, fileName ? readConfigFile(fileName) : {});
  const dataDir = path.resolve(v.dataDir);
  if ((v.tlsCert === null) !== (v.tlsKey === null)) {
    const [given, missing] = v.tlsCert === null ? ['WHARF_TLS_KEY', 'WHARF_TLS_CERT'] : ['WHARF_TLS_CERT', 'WHARF_TLS_KEY'];
    throw new ConfigError(missing, null, `missing while ${given} is set; give both, or neither to serve plain HTTP`);
  }
  if (v.blobStore === 's3' && v.s3Bucket === null) throw new ConfigError('WHARF_S3_BUCKET', null, 'required with WHARF_BLOB_STORE=s3; name the bucket');
  if (v.blobStore === 's3' && v.maxAssetSize > S3_MAX_COPY_SIZE) {
    throw new ConfigError('WHARF_MAX_ASSET_SIZE', String(v.maxAssetSize), `too large with WHARF_BLOB_STORE=s3; use at most ${S3_MAX_COPY_SIZE}`);
  }
  if (v.sendfileHeader !== null && v.blobStore !== 'fs') {
    throw new ConfigError('WHARF_SENDFILE_HEADER', v.sendfileHeader, 'needs WHARF_BLOB_STORE=fs (with S3, downloads are redirected to the bucket); unset it');
  }
  const s3: S3Config | null =
    v.blobStore === 's3'
      ? {
          bucket: v.s3Bucket!,
          region: v.s3Region ?? env.AWS_REGION ?? 'us-east-1',
          endpoint: v.s3Endpoint,
          forcePathStyle: v.s3ForcePathStyle ?? v.s3Endpoint !== null,
          presignTtlSeconds: v.s3PresignTtl,
          proxyDownloads: v.s3ProxyDownloads,
        }
      : null;

  const config: WharfConfig = {
    host: v.host,
    port: v.port,
    dataDir,
    externalUrl: v.externalUrl === null ? null : normalizeExternalUrl(v.externalUrl),
    trustProxy: v.trustProxy,
    databaseUrl: v.databaseUrl ?? `sqlite:${path.join(dataDir, 'wharf.db')}`,
    blobStore: v.blobStore,
    s3,
    blobDir: path.join(dataDir, 'blobs'),
    repositoriesDir: path.join(dataDir, 'repositories'),
    adminLogin: v.adminLogin,
    adminToken: v.adminToken,
    rateLimit: {
      enabled: v.rateLimit,
      authenticated: v.rateLimitAuthenticated,
      anonymous: v.rateLimitAnonymous,
      windowSeconds: v.rateLimitWindow,
      contentPerMinute: v.rateLimitContentPerMinute,
      signInFailuresPerAccount: v.signInFailuresPerAccount,
      signInFailuresPerAddress: v.signInFailuresPerAddress,
    },
    maxAssetSize: v.maxAssetSize,
    maxJsonBodySize: v.maxJsonBody,
    resumableUploadExpiryMs: v.resumableUploadExpiry * 1000,
    maxOpenResumableUploads: v.maxOpenResumableUploads,
    idempotencyKeyExpiryMs: v.idempotencyKeyExpiry * 1000,
    logLevel: v.logLevel,
    logFormat: v.logFormat,
    auditRetentionDays: v.auditRetentionDays,
    tls: v.tlsCert !== null && v.tlsKey !== null ? { cert: path.resolve(v.tlsCert), key: path.resolve(v.tlsKey), http2: v.http2 } : null,
    shutdownGraceMs: v.shutdownGraceMs,
    headersTimeoutMs: v.headersTimeoutMs,
    bodyTimeoutMs: v.bodyTimeoutMs,
    bodyMinRate: v.bodyMinRate,
    keepAliveTimeoutMs: v.keepAliveTimeoutMs,
    idleTimeoutMs: v.idleTimeoutMs,
    uploadLeaseMs: v.uploadLeaseMs,
    graphqlTimeoutMs: v.graphqlTimeoutMs,
    maxConnections: v.maxConnections,
    admission: { ...admissionLimits(v.maxRequestsInProgress, v.requestQueueSize, v.requestQueueTimeoutMs), maxLoopDelayMs: v.maxEventLoopDelayMs },
    git: {
      maxProcesses: v.gitMaxProcesses,
      maxStreams: v.gitMaxStreams,
      queueTimeoutMs: v.gitQueueTimeoutMs,
      timeoutMs: v.gitTimeoutMs,
      streamTimeoutMs: v.gitStreamTimeoutMs,
      maxResidents: v.gitMaxResidents,
      residentIdleMs: v.gitResidentIdleMs,
    },
    maxArchiveSize: v.maxArchiveSize,
    maxArchiveFiles: v.maxArchiveFiles,
    sendfileHeader: v.sendfileHeader,
    metricsPort: v.metricsPort,
    metricsToken: v.metricsToken,
    sendfilePrefix: v.sendfilePrefix,
    readCache: { maxBytes: v.readCacheSize, ttlMs: v.readCacheTtlMs, principalTtlMs: v.principalCacheTtlMs, fastPath: v.readFastPath },
    eventConsumers: v.eventConsumers,
    eventsPollMs: v.eventsPollMs,
    outboundAllowedHosts: v.outboundAllowedHosts,
    imageProxy: { maxFetches: v.imageProxyMaxFetches, cacheBytes: v.imageProxyCacheSize, cacheEntries: v.imageProxyCacheEntries },
    instanceKeyFile: path.resolve(v.instanceKeyFile ?? path.join(dataDir, 'instance.key')),
    mirrors: {
      pollMs: v.mirrorPollMs,
      requestTimeoutMs: v.mirrorRequestTimeoutMs,
      gitTimeoutMs: v.mirrorGitTimeoutMs,
      maxRateLimitWaitMs: v.mirrorMaxRateLimitWaitMs,
      pageSize: v.mirrorPageSize,
    },
    webhooks: {
      timeoutMs: v.webhookTimeoutMs,
      retryBaseMs: v.webhookRetryBaseMs,
      retryMaxDelayMs: v.webhookRetryMaxDelayMs,
      retryWindowMs: v.webhookRetryWindowMs,
      disableAfterMs: v.webhookDisableAfterMs,
      retentionMs: v.webhookRetentionMs,
      workers: v.webhookWorkers,
      maxResponseBytes: v.webhookMaxResponseBytes,
    },
    ...overrides,
  };
  return Object.freeze({
    ...config,
    rateLimit: Object.freeze({ ...config.rateLimit }),
    s3: config.s3 ? Object.freeze({ ...config.s3 }) : null,
    outboundAllowedHosts: Object.freeze([...config.outboundAllowedHosts]),
    webhooks: Object.freeze({ ...config.webhooks }),
    mirrors: Object.freeze({ ...config.mirrors }),
    git: Object.freeze({ ...config.git }),
    admission: Object.freeze({ ...config.admission }),
    imageProxy: Object.freeze({ ...config.imageProxy }),
  });
}

/** Requests in progress per CPU core by default: enough to keep the cores and the database busy. */
const REQUESTS_PER_CORE = 32;

function admissionLimits(maxInProgress: number | null, queueSize: number | null, queueTimeoutMs: number): Omit<WharfConfig['admission'], 'maxLoopDelayMs'> {
  const limit = maxInProgress ?? REQUESTS_PER_CORE * availableParallelism();
  return { maxInProgress: limit, queueSize: queueSize ?? limit, queueTimeoutMs };
}

/** Origin and path prefix, without a trailing slash (the type has checked it is an http(s) URL). */
function normalizeExternalUrl(value: string): string {
  const url = new URL(value);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
