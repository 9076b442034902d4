/**
 * @module config/settings
 * Every setting Wharf reads, spelled once: its variable name, its type (which parses and
 * validates it, and says what would work), its default and the line that documents it.
 * `config.ts` assembles these values into `WharfConfig`; `docs/configuration.md` carries the table
 * `settingsMarkdown()` renders (a test keeps the two equal; `npm run docs:config` rewrites it).
 */
import { isIP } from 'node:net';

/**
 * A setting that cannot be used. The message is the one line an operator sees: the setting, its
 * value (secrets hidden), what is wrong and what would work.
 */
export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    readonly value: string | null,
    readonly problem: string,
  ) {
    super(value === null ? `${setting}: ${problem}` : `${setting}=${JSON.stringify(value)}: ${problem}`);
  }
}

/** Parses a raw value; throws a `TypeMismatch` whose text says what would work. */
export interface SettingType<T> {
  parse(raw: string): T;
}

/** What a value should have looked like, e.g. "use an integer from 0 to 65535". */
export class TypeMismatch extends Error {}

export function text(): SettingType<string> {
  return { parse: (raw) => raw };
}

export function integer(min: number, max = Number.MAX_SAFE_INTEGER): SettingType<number> {
  return {
    parse(raw) {
      const n = Number(raw);
      if (!/^\s*-?\d+\s*$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
        throw new TypeMismatch(max === Number.MAX_SAFE_INTEGER ? `use a whole number of at least ${min}` : `use a whole number from ${min} to ${max}`);
      }
      return n;
    },
  };
}

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

export function boolean(): SettingType<boolean> {
  return {
    parse(raw) {
      const v = raw.trim().toLowerCase();
      if (TRUE.includes(v)) return true;
      if (FALSE.includes(v)) return false;
      throw new TypeMismatch('use true or false');
    },
  };
}

export function oneOf<const T extends string>(choices: readonly T[]): SettingType<T> {
  return {
    parse(raw) {
      if ((choices as readonly string[]).includes(raw)) return raw as T;
      throw new TypeMismatch(`use one of ${choices.join(', ')}`);
    },
  };
}

/** An absolute URL with one of the given schemes. */
export function url(schemes: readonly string[], example: string): SettingType<string> {
  return {
    parse(raw) {
      let parsed: URL;
      try {
        parsed = new URL(raw);
      } catch {
        throw new TypeMismatch(`use an absolute URL such as ${example}`);
      }
      if (!schemes.includes(parsed.protocol.slice(0, -1))) throw new TypeMismatch(`use a ${schemes.join(' or ')} URL such as ${example}`);
      return raw;
    },
  };
}

/** `sqlite:<path>` or a PostgreSQL URL. */
export function databaseUrl(): SettingType<string> {
  return {
    parse(raw) {
      if (raw.startsWith('sqlite:') && raw.length > 'sqlite:'.length) return raw;
      if (/^postgres(ql)?:\/\//.test(raw)) {
        try {
          new URL(raw);
          return raw;
        } catch {
          // fall through to the message below
        }
      }
      throw new TypeMismatch('use sqlite:<path> or postgres://user:password@host:5432/database');
    },
  };
}

/** One of `choices`, matched without regard to case and given back as spelled in `choices`. */
export function oneOfIgnoringCase<const T extends string>(choices: readonly T[]): SettingType<T> {
  return {
    parse(raw) {
      const found = choices.find((c) => c.toLowerCase() === raw.toLowerCase());
      if (found) return found;
      throw new TypeMismatch(`use ${choices.join(' or ')}`);
    },
  };
}

/** A URI path for nginx's internal location, or a directory the proxy reads (X-Sendfile): `/…/`. */
function sendfilePrefix(): SettingType<string> {
  return {
    parse(raw) {
      if (!raw.startsWith('/') || !raw.endsWith('/') || /[\s?#%]|\/\.\.?\//.test(raw)) {
        throw new TypeMismatch('use an absolute path ending in "/", without spaces, "?", "#", "%" or dot segments');
      }
      return raw;
    },
  };
}

/** Comma- or space-separated CIDRs, addresses, host names (`*.domain` for its subdomains) or `*`. */
function allowedHosts(): SettingType<string[]> {
  return {
    parse(raw) {
      const entries = raw.split(/[\s,]+/).filter(Boolean);
      for (const entry of entries) {
        if (entry === '*') continue;
        if (entry.includes('/')) {
          const [address, bits] = entry.split('/');
          const family = isIP(address ?? '');
          if (!family || !/^\d{1,3}$/.test(bits ?? '') || Number(bits) > (family === 6 ? 128 : 32))
            throw new TypeMismatch(`"${entry}" is not a CIDR; use e.g. 10.0.0.0/8 or fd00::/8`);
        } else if (!isIP(entry) && !/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(entry)) {
          throw new TypeMismatch(`"${entry}" is not a host name, address or CIDR; use e.g. ci.internal, *.corp.example, 10.0.0.0/8 or *`);
        }
      }
      return entries;
    },
  };
}

export const SENDFILE_HEADERS = ['X-Accel-Redirect', 'X-Sendfile'] as const;
export type SendfileHeader = (typeof SENDFILE_HEADERS)[number];

/**
 * Which proxies to believe, in Fastify's (proxy-addr's) terms: `false` (none), a comma-separated
 * list of proxy addresses and CIDR ranges (`127.0.0.1,10.0.0.0/8`, or the names `loopback`,
 * `linklocal`, `uniquelocal`), or a hop count (the peer and the last N-1 `X-Forwarded-For` entries
 * are proxies, whoever they are: only for a Wharf no one can reach but through its proxies).
 * `true` means `loopback`, the proxy on the same host the documentation describes. Never "trust
 * everything": that took the client-supplied leftmost `X-Forwarded-For` entry as the address.
 */
export type TrustProxy = false | number | string[];
const NAMED_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

export function trustProxy(): SettingType<TrustProxy> {
  const hint = 'use false, a number of proxy hops such as 1, or proxy addresses/CIDR ranges such as 127.0.0.1,10.0.0.0/8';
  return {
    parse(raw) {
      const v = raw.trim().toLowerCase();
      if (v === '' || FALSE.includes(v)) return false;
      if (v === 'true' || v === 'yes' || v === 'on') return ['loopback'];
      if (/^\d+$/.test(v)) {
        const hops = Number(v);
        if (hops > 32) throw new TypeMismatch(hint);
        return hops === 0 ? false : hops;
      }
      const entries = v
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean);
      for (const entry of entries) {
        if (NAMED_RANGES.includes(entry)) continue;
        const [address, bits, extra] = entry.split('/');
        const family = isIP(address ?? '');
        const max = family === 4 ? 32 : 128;
        if (!family || extra !== undefined || (bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > max))) throw new TypeMismatch(hint);
      }
      if (entries.length === 0) throw new TypeMismatch(hint);
      return entries;
    },
  };
}

export function nullable<T>(type: SettingType<T>): SettingType<T | null> {
  return type;
}

export interface Setting<T> {
  /** The environment variable; the TOML key is the same name in lower case without `WHARF_`. */
  env: string;
  type: SettingType<T>;
  default: T;
  /** The default as the documentation shows it, when it is not simply `default`. */
  defaultDoc?: string;
  doc: string;
  /** `value`: never echoed back in messages; `password`: shown with a URL's password masked. */
  secret?: 'value' | 'password';
}

/** Infers the value type from `type` alone, so a default cannot widen it. */
function setting<T>(s: Omit<Setting<T>, 'default'> & { default: NoInfer<T> }): Setting<T> {
  return s;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const SETTINGS = {
  host: setting({ env: 'WHARF_HOST', type: text(), default: '127.0.0.1', doc: 'Address to listen on. Use `0.0.0.0` to accept remote connections.' }),
  port: setting({ env: 'WHARF_PORT', type: integer(0, 65535), default: 8080, doc: 'Port to listen on (`0` picks a free port).' }),
  dataDir: setting({
    env: 'WHARF_DATA_DIR',
    type: text(),
    default: './data',
    doc: 'Root of everything Wharf stores (see [operations](operations.md)). Must be a directory Wharf can write, or creatable.',
  }),
  externalUrl: setting({
    env: 'WHARF_EXTERNAL_URL',
    type: nullable(url(['http', 'https'], 'https://releases.example.com')),
    default: null,
    doc: "Public base URL (`https://releases.example.com`, optionally with a path prefix). Every URL in API responses is built from it. Without it, URLs come from the request's scheme and `Host` header.",
  }),
  trustProxy: setting({
    env: 'WHARF_TRUST_PROXY',
    type: trustProxy(),
    default: false,
    doc: 'Which reverse proxies to believe about `X-Forwarded-For`, `-Proto` and `-Host`: `false`, proxy addresses and CIDR ranges (`127.0.0.1,10.0.0.0/8`; `true` means `loopback`), or a hop count (`1`: only when nothing else can reach Wharf). The client address is the rightmost one not added by a trusted proxy, as in Fastify; see [security](security.md#behind-a-proxy).',
  }),
  adminLogin: setting({ env: 'WHARF_ADMIN_LOGIN', type: text(), default: 'admin', doc: 'Login of the bootstrap site administrator.' }),
  adminToken: setting({
    env: 'WHARF_ADMIN_TOKEN',
    type: nullable(text()),
    default: null,
    secret: 'value',
    doc: 'When set, Wharf makes sure the administrator exists and holds this token (idempotent; for scripted and CI set-ups).',
  }),
  rateLimit: setting({
    env: 'WHARF_RATE_LIMIT',
    type: boolean(),
    default: true,
    doc: 'Count requests as github.com does. `false` behaves like GHES with rate limiting off: no `x-ratelimit-*` headers and `/rate_limit` answers 404.',
  }),
  rateLimitAuthenticated: setting({ env: 'WHARF_RATE_LIMIT_AUTHENTICATED', type: integer(1), default: 5000, doc: 'Requests per window for each authenticated user.' }),
  rateLimitAnonymous: setting({ env: 'WHARF_RATE_LIMIT_ANONYMOUS', type: integer(1), default: 60, doc: 'Requests per window for each anonymous client address.' }),
  rateLimitWindow: setting({ env: 'WHARF_RATE_LIMIT_WINDOW', type: integer(1), default: 3600, doc: 'Window length in seconds.' }),
  signInFailuresPerAccount: setting({
    env: 'WHARF_SIGN_IN_FAILURES_PER_ACCOUNT',
    type: integer(1),
    default: 10,
    doc: 'Failed browser sign-ins (password or token) one login may have in 15 minutes; further attempts are refused (429) until the window ends, whatever the rate-limit settings.',
  }),
  signInFailuresPerAddress: setting({
    env: 'WHARF_SIGN_IN_FAILURES_PER_ADDRESS',
    type: integer(1),
    default: 30,
    doc: 'Failed browser sign-ins one client address may have in 15 minutes (people behind one NAT share an address).',
  }),
  rateLimitContentPerMinute: setting({
    env: 'WHARF_RATE_LIMIT_CONTENT_PER_MINUTE',
    type: integer(1),
    default: 80,
    doc: 'Secondary limit (when rate limiting is on): API writes (POST, PATCH, PUT, DELETE; asset uploads are not counted) per caller per minute, as GitHub limits content creation.',
  }),
  maxAssetSize: setting({
    env: 'WHARF_MAX_ASSET_SIZE',
    type: integer(1),
    default: 2 * 1024 * 1024 * 1024,
    doc: "Largest release asset accepted, in bytes (GitHub's limit). At most 5368709120 with `s3`.",
  }),
  resumableUploadExpiry: setting({
    env: 'WHARF_RESUMABLE_UPLOAD_EXPIRY',
    type: integer(60),
    default: 24 * 60 * 60,
    doc: 'Seconds after its last received byte that an unfinished resumable (tus) upload expires; the sweeper then removes it, its claim on the asset name and its bytes.',
  }),
  maxOpenResumableUploads: setting({
    env: 'WHARF_MAX_OPEN_RESUMABLE_UPLOADS',
    type: integer(1),
    default: 20,
    doc: 'Unfinished, unexpired resumable uploads one user may have at once; creating one more is refused (422) until some finish, are terminated or expire.',
  }),
  idempotencyKeyExpiry: setting({
    env: 'WHARF_IDEMPOTENCY_KEY_EXPIRY',
    type: integer(60),
    default: 24 * 60 * 60,
    doc: 'Seconds an `Idempotency-Key` sent with a release creation or an upload is remembered: a retry with the same key within that time gets the original answer instead of a second release or `already_exists`.',
  }),
  maxJsonBody: setting({ env: 'WHARF_MAX_JSON_BODY', type: integer(1024), default: 1024 * 1024, doc: 'Largest JSON request body, in bytes.' }),
  databaseUrl: setting({
    env: 'WHARF_DATABASE_URL',
    type: nullable(databaseUrl()),
    default: null,
    defaultDoc: '`sqlite:$WHARF_DATA_DIR/wharf.db`',
    secret: 'password',
    doc: '`sqlite:<path>` or `postgres://user:password@host:5432/db`. A PostgreSQL URL also takes `sslmode` (`disable`, `require`, `verify-ca`, `verify-full`) with `sslrootcert`, `sslcert`, `sslkey` (file paths), and `pool_max` (connections per node, default 10). See [deploy](deploy.md).',
  }),
  blobStore: setting({
    env: 'WHARF_BLOB_STORE',
    type: oneOf(['fs', 's3']),
    default: 'fs',
    doc: 'Where asset bytes live: `fs` (`$WHARF_DATA_DIR/blobs`) or `s3` (a bucket, below).',
  }),
  s3Bucket: setting({ env: 'WHARF_S3_BUCKET', type: nullable(text()), default: null, doc: 'The bucket (required with `s3`). Wharf writes under `blobs/` and `tmp/` in it.' }),
  s3Region: setting({ env: 'WHARF_S3_REGION', type: nullable(text()), default: null, defaultDoc: '`AWS_REGION`, else `us-east-1`', doc: 'Region used to sign requests.' }),
  s3Endpoint: setting({
    env: 'WHARF_S3_ENDPOINT',
    type: nullable(url(['http', 'https'], 'http://127.0.0.1:9000')),
    default: null,
    defaultDoc: '— (AWS)',
    doc: 'URL of an S3-compatible server (MinIO, Ceph RGW, Cloudflare R2, …).',
  }),
  s3ForcePathStyle: setting({
    env: 'WHARF_S3_FORCE_PATH_STYLE',
    type: nullable(boolean()),
    default: null,
    defaultDoc: '`true` with an endpoint, else `false`',
    doc: 'Address the bucket as `endpoint/bucket/key` (most S3-compatible servers) rather than `bucket.endpoint/key`.',
  }),
  s3PresignTtl: setting({
    env: 'WHARF_S3_PRESIGN_TTL',
    type: integer(1, 604_800),
    default: 300,
    doc: 'Lifetime in seconds of the presigned URLs downloads are redirected to (at most 604800, seven days).',
  }),
  s3ProxyDownloads: setting({
    env: 'WHARF_S3_PROXY_DOWNLOADS',
    type: boolean(),
    default: false,
    doc: 'Stream downloads through Wharf instead of redirecting to presigned URLs, for buckets clients cannot reach.',
  }),
  tlsCert: setting({
    env: 'WHARF_TLS_CERT',
    type: nullable(text()),
    default: null,
    doc: 'Serve HTTPS directly with this PEM certificate (with `WHARF_TLS_KEY`; see [tls.md](tls.md)).',
  }),
  tlsKey: setting({ env: 'WHARF_TLS_KEY', type: nullable(text()), default: null, doc: 'The PEM private key of `WHARF_TLS_CERT`.' }),
  http2: setting({ env: 'WHARF_HTTP2', type: boolean(), default: false, doc: 'With TLS on, also offer HTTP/2 (ALPN); HTTP/1.1 clients are unaffected. Ignored without TLS.' }),
  logLevel: setting({
    env: 'WHARF_LOG_LEVEL',
    type: oneOf(LOG_LEVELS),
    default: 'info',
    doc: `${LOG_LEVELS.map((l) => `\`${l}\``).join(', ')}. Logs go to stdout, one line per request (see \`WHARF_LOG_FORMAT\`).`,
  }),
  logFormat: setting({
    env: 'WHARF_LOG_FORMAT',
    type: oneOf(['auto', 'json', 'pretty'] as const),
    default: 'auto',
    doc: '`json`: JSON lines (pino) for log collectors; `pretty`: readable single lines for people; `auto`: `pretty` when stdout is a terminal, `json` otherwise.',
  }),
  auditRetentionDays: setting({
    env: 'WHARF_AUDIT_RETENTION_DAYS',
    type: integer(1),
    default: 400,
    doc: 'Audit-log entries older than this many days are deleted (see [audit-log.md](audit-log.md)).',
  }),
  shutdownGraceMs: setting({
    env: 'WHARF_SHUTDOWN_GRACE_MS',
    type: integer(0),
    default: 30_000,
    doc: 'After SIGTERM, how long in-flight requests may run before the process exits.',
  }),
  headersTimeoutMs: setting({
    env: 'WHARF_HEADERS_TIMEOUT_MS',
    type: integer(100),
    default: 20_000,
    doc: 'A client must send all request headers within this time (slow-header clients are cut off with 408).',
  }),
  bodyTimeoutMs: setting({
    env: 'WHARF_BODY_TIMEOUT_MS',
    type: integer(100),
    default: 60_000,
    doc: 'A request body (API, web, GraphQL, git, uploads) on which no byte arrives for this long is answered `408` and its connection closed. Judged on bytes that arrived, so a busy server never cuts off a client whose body is waiting to be read. It is also the grace period before `WHARF_BODY_MIN_RATE` applies.',
  }),
  bodyMinRate: setting({
    env: 'WHARF_BODY_MIN_RATE',
    type: integer(0),
    default: 1024,
    doc: 'Slowest average rate, in bytes per second, a request body (API, web, GraphQL, git, uploads) may arrive at once `WHARF_BODY_TIMEOUT_MS` has passed; slower ones are cut off (`408`; an upload is cleaned up as if interrupted). `0`: no minimum.',
  }),
  keepAliveTimeoutMs: setting({
    env: 'WHARF_KEEPALIVE_TIMEOUT_MS',
    type: integer(1000),
    default: 95_000,
    doc: 'How long an idle keep-alive connection stays open. Longer than the idle timeouts of common clients (Node and undici 4 s, Go — gh, goreleaser — 90 s), so a client closes an idle connection before the server does and never sends a request on a connection the server is closing (which ends in a reset under load).',
  }),
  idleTimeoutMs: setting({
    env: 'WHARF_IDLE_TIMEOUT_MS',
    type: integer(100),
    default: 120_000,
    doc: 'A connection on which no byte moves for this long is closed (a stalled upload included).',
  }),
  graphqlTimeoutMs: setting({
    env: 'WHARF_GRAPHQL_TIMEOUT_MS',
    type: integer(100),
    default: 10_000,
    doc: "How long one GraphQL query may run (GitHub's 10 s): lookups and git reads it would start later are refused, and it answers the data it read with a `RESOURCE_LIMITS_EXCEEDED` error.",
  }),
  uploadLeaseMs: setting({
    env: 'WHARF_UPLOAD_LEASE_MS',
    type: integer(1000),
    default: 120_000,
    doc: "An upload in progress holds its asset's name and its temporary bytes under a lease, renewed only when bytes arrived since the last renewal (at most every eighth of this time, and every 15 s); an upload whose lease ran out (its process died, or its client stopped sending) is removed by the sweeper.",
  }),
  gitMaxProcesses: setting({
    env: 'WHARF_GIT_MAX_PROCESSES',
    type: integer(1),
    default: 16,
    doc: 'Short git commands (ref and object reads, logs) running at once in this process; more wait their turn, served round-robin by user (or anonymous client address).',
  }),
  gitMaxStreams: setting({
    env: 'WHARF_GIT_MAX_STREAMS',
    type: integer(1),
    default: 16,
    doc: 'Streaming git processes (clone, fetch and push over smart HTTP, source archives) running at once in this process; more wait their turn like commands.',
  }),
  gitQueueTimeoutMs: setting({
    env: 'WHARF_GIT_QUEUE_TIMEOUT_MS',
    type: integer(100),
    // Well under common client timeouts (10 s for many HTTP libraries and load tools): a client
    // that gave up already is not served an answer it will never read, and one that waits hears
    // the 503 and when to retry rather than nothing.
    default: 5_000,
    doc: "A request that waited this long for a git slot is answered `503` with `Retry-After` (load shed on purpose) instead of waiting on. Keep it below your clients' timeouts: a client that gives up first gets no answer at all.",
  }),
  gitTimeoutMs: setting({
    env: 'WHARF_GIT_TIMEOUT_MS',
    type: integer(100),
    default: 60_000,
    doc: 'Deadline of a short git command; it is killed past it (a few long history walks have their own, longer deadline).',
  }),
  gitStreamTimeoutMs: setting({
    env: 'WHARF_GIT_STREAM_TIMEOUT_MS',
    type: integer(1000),
    default: 3_600_000,
    doc: 'Deadline of a streaming git process (clone, fetch, push, archive); it is killed past it. Every git process also dies with its request when the client goes away.',
  }),
  gitMaxResidents: setting({
    env: 'WHARF_GIT_MAX_RESIDENTS',
    type: integer(1, 1024),
    default: 16,
    doc: 'Long-lived git processes (`git cat-file --batch-command` and `git update-ref --stdin`, one of each per repository in use) that answer ref and object reads and tag creations without starting a process each time. When all are busy, a one-shot git runs instead; the least recently used idle one is ended to make room.',
  }),
  gitResidentIdleMs: setting({
    env: 'WHARF_GIT_RESIDENT_IDLE_MS',
    type: integer(100),
    default: 15_000,
    doc: 'A long-lived git process (see `WHARF_GIT_MAX_RESIDENTS`) with nothing to do for this long is ended.',
  }),
  maxArchiveSize: setting({
    env: 'WHARF_MAX_ARCHIVE_SIZE',
    type: integer(1),
    default: 2 * 1024 * 1024 * 1024,
    doc: 'Largest source archive served, in bytes of the files it holds (before compression); larger ones are refused with `413` before git starts.',
  }),
  maxArchiveFiles: setting({
    env: 'WHARF_MAX_ARCHIVE_FILES',
    type: integer(1),
    default: 200_000,
    doc: "Most files a source archive may hold; trees with more are refused with `413` before git starts. git's zip format sets up compression for every file: a zip of 20,000 one-line files cost 15 s of CPU.",
  }),
  maxRequestsInProgress: setting({
    env: 'WHARF_MAX_REQUESTS_IN_PROGRESS',
    type: nullable(integer(0)),
    default: null,
    defaultDoc: '32 per CPU core',
    doc: "Requests this process prepares at once, counted from their headers until their answer is handed over for sending (an upload stops counting once its body streams; health checks and metrics never count). More wait in a short queue (`WHARF_REQUEST_QUEUE_SIZE`, `WHARF_REQUEST_QUEUE_TIMEOUT_MS`); beyond it they are answered `503` with `Retry-After` at once (load shed on purpose: GitHub's JSON error on the API, the error page on pages). `0`: no limit.",
  }),
  maxEventLoopDelayMs: setting({
    env: 'WHARF_MAX_EVENT_LOOP_DELAY_MS',
    type: integer(0),
    default: 3_000,
    doc: "A request read after this process's event loop has been busy this long without a break (it waited about as long unread, and the requests behind it longer) is answered `503` with `Retry-After` at once, so the loop catches up and its other answers come in time. Keep it well below your clients' timeouts. `0`: never.",
  }),
  requestQueueSize: setting({
    env: 'WHARF_REQUEST_QUEUE_SIZE',
    type: nullable(integer(0)),
    default: null,
    defaultDoc: 'as `WHARF_MAX_REQUESTS_IN_PROGRESS`',
    doc: 'Requests that may wait for a place once `WHARF_MAX_REQUESTS_IN_PROGRESS` are in progress; further ones are answered `503` with `Retry-After` at once.',
  }),
  requestQueueTimeoutMs: setting({
    env: 'WHARF_REQUEST_QUEUE_TIMEOUT_MS',
    type: integer(1),
    default: 2_000,
    doc: "Longest a request waits in that queue before it is answered `503` with `Retry-After` (this time in seconds, rounded up). Keep it well below your clients' timeouts.",
  }),
  maxConnections: setting({ env: 'WHARF_MAX_CONNECTIONS', type: integer(0), default: 4096, doc: 'Connections open at once; more are refused until some close (`0`: no limit).' }),
  metricsPort: setting({
    env: 'WHARF_METRICS_PORT',
    type: nullable(integer(0, 65535)),
    default: null,
    doc: 'Serve Prometheus metrics at `/metrics` on this port of `WHARF_HOST` (unauthenticated: keep the port private). See [operations](operations.md#health-and-metrics).',
  }),
  metricsToken: setting({
    env: 'WHARF_METRICS_TOKEN',
    type: nullable(text()),
    default: null,
    secret: 'value',
    doc: 'Serve Prometheus metrics at `/metrics` on the main listener to callers sending `Authorization: Bearer <token>`. Without this and `WHARF_METRICS_PORT`, metrics are off.',
  }),
  sendfileHeader: setting({
    env: 'WHARF_SENDFILE_HEADER',
    type: nullable(oneOfIgnoringCase(SENDFILE_HEADERS)),
    default: null,
    doc: 'Behind a reverse proxy: `X-Accel-Redirect` (nginx) or `X-Sendfile` (Apache `mod_xsendfile`, lighttpd). Wharf checks access, answers conditional and unsatisfiable requests and counts the download, then names the blob in this header and the proxy sends the file with sendfile. File blob store only. Set it only when the proxy handles the header (see [deploy.md](deploy.md#downloads-sent-by-the-proxy)); otherwise clients receive empty bodies.',
  }),
  sendfilePrefix: setting({
    env: 'WHARF_SENDFILE_PREFIX',
    type: sendfilePrefix(),
    default: '/_wharf/blobs/',
    doc: "What the header's value starts with, followed by `ab/cd/<sha256>`: nginx's internal location mapped to `WHARF_DATA_DIR/blobs/`, or for `X-Sendfile` that directory's absolute path.",
  }),
  readCacheSize: setting({
    env: 'WHARF_READ_CACHE_SIZE',
    type: integer(0),
    default: 64 * 1024 * 1024,
    doc: "Memory for remembered API answers (releases, latest, lists) and callers' repository access, in bytes; `0` turns the read cache off. Correct on several nodes: every answer is keyed by its repository's generation, read from the database on each request. See [performance](performance.md#the-read-cache).",
  }),
  readCacheTtlMs: setting({
    env: 'WHARF_READ_CACHE_TTL_MS',
    type: integer(0, 60_000),
    default: 5000,
    doc: "Longest a remembered API answer is served. Every change bumps its repository's generation and is seen at once; downloads do not, so this bounds how far `download_count` lags behind.",
  }),
  readFastPath: setting({
    env: 'WHARF_READ_FAST_PATH',
    type: boolean(),
    default: true,
    doc: "Answer remembered reads (a release, the latest, by tag, a page of releases) ahead of the web framework, with the same access checks, headers, rate limit and request log; off, they take the framework's way. Not used behind a trusted proxy. See [performance](performance.md#the-fast-path).",
  }),
  principalCacheTtlMs: setting({
    env: 'WHARF_PRINCIPAL_CACHE_TTL_MS',
    type: integer(0, 60_000),
    default: 30_000,
    doc: "How long the user behind a token is remembered (`0`: looked up on every request). Revocation, suspension and site administration changes are seen at once on every node whatever this is (a generation read on each request); it bounds how far a token's `last_used_at` lags behind.",
  }),
  eventConsumers: setting({
    env: 'WHARF_EVENT_CONSUMERS',
    type: boolean(),
    default: true,
    doc: 'Run the event consumers (webhook deliveries) on this node. Every node records events either way; see [events](events.md).',
  }),
  eventsPollMs: setting({
    env: 'WHARF_EVENTS_POLL_MS',
    type: integer(10),
    default: 500,
    doc: 'How often an idle consumer looks for new events and due webhook deliveries, in milliseconds.',
  }),
  imageProxyMaxFetches: setting({
    env: 'WHARF_IMAGE_PROXY_MAX_FETCHES',
    type: integer(1),
    default: 16,
    doc: 'Images the image proxy of release notes fetches from other hosts at once in this process; a request beyond that (for an image not in its cache) is answered `503` with `Retry-After`.',
  }),
  imageProxyCacheSize: setting({
    env: 'WHARF_IMAGE_PROXY_CACHE_SIZE',
    type: integer(0),
    default: 32 * 1024 * 1024,
    doc: "Bytes of proxied images each process keeps in memory (least recently used dropped first; `0`: no cache). Only images served `200` are kept, never those their host marks `no-store`, `no-cache` or `private`, at most as long as the host's `max-age` says and an hour. A cache of each node's own: an image is fetched again where it is not held.",
  }),
  imageProxyCacheEntries: setting({
    env: 'WHARF_IMAGE_PROXY_CACHE_ENTRIES',
    type: integer(0),
    default: 1000,
    doc: 'Most proxied images each process keeps in memory (with `WHARF_IMAGE_PROXY_CACHE_SIZE`).',
  }),
  outboundAllowedHosts: setting({
    env: 'WHARF_OUTBOUND_ALLOWED_HOSTS',
    type: allowedHosts(),
    default: [],
    defaultDoc: '— (none)',
    doc: 'Internal destinations Wharf may send requests to (webhooks): CIDRs (`10.0.0.0/8`), host names (`ci.internal`, `*.corp.example`) or `*`. Loopback, link-local, private and unique-local addresses are refused unless listed; checked on the address connected to. See [webhooks](webhooks.md#ssrf).',
  }),
  mirrorPollMs: setting({
    env: 'WHARF_MIRROR_POLL_MS',
    type: integer(10),
    default: 30_000,
    doc: 'How often a node looks for pull mirrors whose scheduled sync is due, in milliseconds. See [mirrors](mirrors.md).',
  }),
  mirrorRequestTimeoutMs: setting({
    env: 'WHARF_MIRROR_REQUEST_TIMEOUT_MS',
    type: integer(100),
    default: 30_000,
    doc: "A mirror's upstream must answer a request within this time (for an asset download: send some bytes at least this often).",
  }),
  mirrorGitTimeoutMs: setting({
    env: 'WHARF_MIRROR_GIT_TIMEOUT_MS',
    type: integer(1000),
    default: 600_000,
    doc: "Longest a mirror's `git fetch` from its upstream may take.",
  }),
  mirrorPageSize: setting({
    env: 'WHARF_MIRROR_PAGE_SIZE',
    type: integer(1, 100),
    default: 100,
    doc: "Releases asked of a mirror's upstream per page (`per_page`; GitHub's most is 100). Smaller pages suit upstreams with very long release notes.",
  }),
  mirrorMaxRateLimitWaitMs: setting({
    env: 'WHARF_MIRROR_MAX_RATE_LIMIT_WAIT_MS',
    type: integer(0),
    default: 900_000,
    doc: "Longest a sync waits for an upstream's rate limit to reset (`X-RateLimit-Reset`, `Retry-After`); a longer wait ends the sync as failed, and the next one continues.",
  }),
  instanceKeyFile: setting({
    env: 'WHARF_INSTANCE_KEY_FILE',
    type: nullable(text()),
    default: null,
    defaultDoc: '`$WHARF_DATA_DIR/instance.key`',
    doc: 'Key that encrypts stored secrets (webhook signing secrets, the attestation signing keys); created on first start. Every node must read the same file; keep it out of database backups, and put it back beside a restored instance.',
  }),
  webhookTimeoutMs: setting({ env: 'WHARF_WEBHOOK_TIMEOUT_MS', type: integer(100), default: 10_000, doc: 'A webhook receiver must answer within this time (GitHub: 10 s).' }),
  webhookRetryBaseMs: setting({
    env: 'WHARF_WEBHOOK_RETRY_BASE_MS',
    type: integer(10),
    default: 30_000,
    doc: 'Wait before the first retry of a failed delivery; each further retry waits twice as long, plus up to 25% jitter.',
  }),
  webhookRetryMaxDelayMs: setting({ env: 'WHARF_WEBHOOK_RETRY_MAX_DELAY_MS', type: integer(10), default: 3_600_000, doc: 'Longest wait between two attempts of a delivery.' }),
  webhookRetryWindowMs: setting({
    env: 'WHARF_WEBHOOK_RETRY_WINDOW_MS',
    type: integer(0),
    default: 86_400_000,
    doc: 'How long a failing delivery is retried before it is marked failed (24 hours).',
  }),
  webhookDisableAfterMs: setting({
    env: 'WHARF_WEBHOOK_DISABLE_AFTER_MS',
    type: integer(1000),
    default: 3 * 86_400_000,
    doc: 'A hook whose deliveries have failed for this long without one success is disabled (logged, and the reason shown on the hook).',
  }),
  webhookRetentionMs: setting({
    env: 'WHARF_WEBHOOK_RETENTION_MS',
    type: integer(60_000),
    default: 30 * 86_400_000,
    doc: 'How long delivery attempts (request and response) and handled events are kept (30 days).',
  }),
  webhookWorkers: setting({
    env: 'WHARF_WEBHOOK_WORKERS',
    type: integer(1),
    default: 8,
    doc: 'Deliveries each node sends at once; a slow receiver holds one of these, never a request thread.',
  }),
  webhookMaxResponseBytes: setting({
    env: 'WHARF_WEBHOOK_MAX_RESPONSE_BYTES',
    type: integer(0),
    default: 65_536,
    doc: "Bytes of a receiver's response body kept with the attempt; Wharf stops reading there.",
  }),
};

export type SettingName = keyof typeof SETTINGS;
export type SettingValues = { [K in SettingName]: (typeof SETTINGS)[K] extends Setting<infer T> ? T : never };

/** Variables that are read by libraries rather than by Wharf, documented with the table. */
const EXTERNAL_ROWS = [
  [
    '`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`, …',
    '—',
    "S3 credentials, read by the AWS SDK's default chain (environment, shared config files, container and instance roles).",
  ],
] as const;

export function tomlKey(env: string): string {
  return env.replace(/^WHARF_/, '').toLowerCase();
}

/** A raw value as it may be shown: secrets hidden, passwords in URLs masked. */
export function shown(s: Pick<Setting<unknown>, 'secret'>, raw: string): string {
  if (s.secret === 'value') return '(hidden)';
  if (s.secret === 'password') return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
  return raw;
}

/**
 * Reads every setting from the environment, then the file. An empty variable counts as unset.
 * Throws the first ConfigError met.
 */
export function readSettings(env: Record<string, string | undefined>, file: Record<string, unknown>): SettingValues {
  const values: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(SETTINGS) as [SettingName, Setting<unknown>][]) {
    const fromEnv = env[s.env];
    const fromFile = file[tomlKey(s.env)];
    const raw = fromEnv !== undefined && fromEnv !== '' ? fromEnv : fileValue(s, fromFile);
    if (raw === undefined) {
      values[name] = s.default;
      continue;
    }
    try {
      values[name] = s.type.parse(raw);
    } catch (err) {
      if (!(err instanceof TypeMismatch)) throw err;
      throw new ConfigError(s.env, shown(s, raw), err.message);
    }
  }
  return values as SettingValues;
}

/** A file value as the text an environment variable would carry; a list reads as `a,b`. */
function fileValue(s: Setting<unknown>, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => fileValue(s, item)).join(',');
  // A TOML table would otherwise read as "[object Object]".
  throw new ConfigError(s.env, null, `${tomlKey(s.env)} in the config file must be a value or a list, not a table`);
}

function defaultCell(s: Setting<unknown>): string {
  if (s.defaultDoc) return s.defaultDoc;
  if (s.default === null) return '—';
  // Settings whose default is not a plain value (a list) describe it in defaultDoc.
  return `\`${typeof s.default === 'string' || typeof s.default === 'number' || typeof s.default === 'boolean' ? String(s.default) : JSON.stringify(s.default)}\``;
}

/** The settings table of `docs/configuration.md`. */
export function settingsMarkdown(): string {
  const rows = (Object.values(SETTINGS) as Setting<unknown>[]).map((s) => `| \`${s.env}\` | ${defaultCell(s)} | ${s.doc} |`);
  rows.push(...EXTERNAL_ROWS.map(([name, dflt, doc]) => `| ${name} | ${dflt} | ${doc} |`));
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n');
}
