/**
 * @module db/schema
 * The `Database` interface Kysely types every query with. Runtime value conventions, shared by
 * SQLite and PostgreSQL so that one code path serves both:
 * - timestamps are ISO-8601 UTC text with whole seconds (`2024-01-02T03:04:05Z`);
 * - booleans are integers 0/1;
 * - 64-bit counts and sizes arrive as JS numbers (the pg driver is told to parse int8).
 */
import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

export type AccountType = 'User' | 'Organization';

export interface AccountsTable {
  id: Generated<number>;
  login: string;
  /** Lower-cased login: logins are unique case-insensitively, as on GitHub. */
  login_lower: string;
  type: AccountType;
  name: string | null;
  email: string | null;
  site_admin: number;
  /** Set on suspended users; they cannot authenticate. */
  suspended_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface OrgMembersTable {
  org_id: number;
  user_id: number;
  role: 'admin' | 'member';
}

export interface TokensTable {
  id: Generated<number>;
  user_id: number;
  /** sha256 hex of the token: the token itself is never stored. */
  token_hash: string;
  /** The last eight characters, to tell tokens apart in listings. */
  token_last_eight: string;
  /** Space-separated OAuth scopes. */
  scopes: string;
  note: string | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  /** The address of the latest use from a new address (see `token_addresses`). */
  last_used_ip: string | null;
  /** `personal`, or `session`: the token a password sign-in made for its session, never shown. */
  kind: Generated<TokenKind>;
}

export type TokenKind = 'personal' | 'session';

export interface PasswordsTable {
  user_id: number;
  /** An argon2id hash in PHC string form (`$argon2id$v=19$m=…`). */
  hash: string;
  changed_at: string;
}

export interface PasswordResetLinksTable {
  /** sha256 hex of the link's secret; the secret itself is never stored. */
  secret_hash: string;
  user_id: number;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface RepositoriesTable {
  id: Generated<number>;
  owner_id: number;
  name: string;
  name_lower: string;
  description: string | null;
  homepage: string | null;
  private: number;
  default_branch: string;
  /** The release currently designated latest (make_latest), or null to fall back to the legacy rule. */
  latest_release_id: number | null;
  /** The repository's release rules as JSON (domain/release-version.ts), or null for the defaults. */
  release_rules: string | null;
  created_at: string;
  updated_at: string;
  pushed_at: string | null;
  /** 0 until the repository's refs are recorded in `repository_refs` (repositories older than that table). */
  refs_known: Generated<number>;
  /** 1: releases published from now on are immutable (the repository's own setting). */
  immutable_releases: Generated<number>;
}

export type Permission = 'pull' | 'triage' | 'push' | 'maintain' | 'admin';

export interface CollaboratorsTable {
  repository_id: number;
  user_id: number;
  permission: Permission;
  created_at: string;
}

export interface ReleasesTable {
  id: Generated<number>;
  repository_id: number;
  tag_name: string;
  /** tag_name while published, null while a draft: the unique key that lets drafts share tags. */
  published_tag: string | null;
  target_commitish: string;
  name: string | null;
  body: string | null;
  draft: number;
  prerelease: number;
  immutable: number;
  author_id: number;
  /** 20 lowercase hex characters used in a draft's `untagged-…` URLs. */
  untagged_key: string;
  /** Date of the commit the release points at (GitHub's `created_at`), or creation time for drafts without a commit. */
  created_at: string;
  published_at: string | null;
  updated_at: string;
  /** When a reaction was last added or removed (part of Last-Modified, not of `updated_at`). */
  reactions_changed_at: string | null;
  /** The channel the release's author chose (`channel` in create/update bodies), or null to derive it. */
  channel_override: string | null;
  /** Derived from the tag by the repository's rules (domain/release-version.ts); stored to be queried. */
  channel: Generated<string>;
  tag_prefix: Generated<string>;
  version: string | null;
  /** Sorts as the versions do, byte by byte; null when the tag has no version. */
  version_key: string | null;
  version_major: number | null;
}

export type AssetState = 'starter' | 'open' | 'uploaded';

export interface AssetsTable {
  id: Generated<number>;
  release_id: number;
  repository_id: number;
  name: string;
  label: string | null;
  content_type: string;
  size: number;
  /** sha256 hex of the stored bytes; null until uploaded. */
  digest: string | null;
  /** Key of the bytes in the blob store; null until uploaded. */
  blob_key: string | null;
  state: AssetState;
  download_count: number;
  uploader_id: number | null;
  created_at: string;
  updated_at: string;
  /** A mirrored asset's upstream file (`uuid:…`, `id:…@…`), compared where the upstream gives no digest; null otherwise. */
  upstream_identity: string | null;
}

/** A resumable (tus) upload in progress; its asset row is `open` until the last byte is stored. */
export interface ResumableUploadsTable {
  /** Random token, the last segment of the upload's URL. */
  id: string;
  asset_id: number;
  release_id: number;
  uploader_id: number;
  upload_length: number;
  /** Bytes durably staged. */
  upload_offset: number;
  /** The blob store's record of the staged bytes (`ResumableStaging`). */
  staging: string;
  /** The request appending now, and until when (epoch ms) its lock holds. */
  lock_token: string | null;
  locked_until: number;
  /** Epoch ms after which the sweeper removes the upload. */
  expires_at: number;
  created_at: string;
}

/**
 * An `Idempotency-Key` sent with a release creation or an upload (migration 018): `in_progress`
 * while its request holds it (until `lease_until`), then `completed` with what it made.
 */
export interface IdempotencyKeysTable {
  user_id: number;
  idempotency_key: string;
  /** sha256 hex of the operation and what it asked for. */
  fingerprint: string;
  state: 'in_progress' | 'completed';
  /** The holding request's random token: only it completes or abandons the row. */
  token: string;
  /** Epoch ms until which an `in_progress` row is held. */
  lease_until: number;
  /** Epoch ms after which the key is forgotten. */
  expires_at: number;
  release_id: number | null;
  asset_id: number | null;
  /** sha256 hex of an upload's bytes. */
  content_digest: string | null;
  created_at: string;
}

/** A deletion of a shared blob in progress (see services/blob-gc). */
export interface BlobDeletionsTable {
  blob_key: string;
  started_at: string;
}

/** A reference to a blob taken before its bytes are stored under their key (see services/blob-gc). */
export interface BlobHoldsTable {
  id: string;
  blob_key: string;
  held_at: string;
}

export interface RateLimitsTable {
  bucket: string;
  window_start: number;
  used: number;
}

/** A signed-in browser. The session acts with the token its user signed in with. */
export interface SessionsTable {
  /** sha256 hex of the session id (the cookie value); the id itself is never stored. */
  id_hash: string;
  user_id: number;
  token_id: number;
  /** Random value every form and upload of this session must echo back (CSRF protection). */
  csrf_secret: string;
  created_at: string;
  expires_at: string;
  /** How the session signed in. */
  method: Generated<SessionMethod>;
  address: string | null;
  user_agent: string | null;
}

export type SessionMethod = 'token' | 'password';

export interface LeasesTable {
  name: string;
  /** Which process holds the lease (host:pid:random). */
  holder: string;
  /** Epoch milliseconds. */
  expires_at: number;
}

/** An organization's enforcement of immutable releases. */
export type ImmutableReleasesPolicy = 'all' | 'none' | 'selected';

/** An organization's policy (no row: `none`). */
export interface ImmutableReleasePoliciesTable {
  org_id: number;
  policy: ImmutableReleasesPolicy;
}

/** A repository an organization with the `selected` policy enforces immutable releases on. */
export interface ImmutableReleaseRepositoriesTable {
  org_id: number;
  repository_id: number;
}

/** A tag name an immutable release used: never usable again in that repository (by owner and name). */
export interface ImmutableTagsTable {
  owner_id: number;
  repository_name_lower: string;
  tag: string;
}

/** A ref as the database last recorded it (see services/refs.ts): compared with git to find missed changes. */
export interface RepositoryRefsTable {
  repository_id: number;
  /** Full name, `refs/heads/main`. */
  ref: string;
  sha: string;
}

/**
 * A repository's read-cache generation (docs/performance.md#the-read-cache): bumped by triggers in
 * the transaction of every change an API answer about the repository could show. Written only by
 * those triggers (migration 016).
 */
export interface RepositoryGenerationsTable {
  repository_id: number;
  generation: number;
}

/** One row (`id` 1): bumped by triggers when a token or an account's standing changes (migration 016). */
export interface CredentialGenerationsTable {
  id: number;
  generation: number;
}

/**
 * `release`: the tag of a release being published, made just before the release's transaction
 * (removed when that never committed), and the claim on that tag (one per repository and tag,
 * migration 031); `change`: an API or push update, remembered for who made it.
 */
export type RefIntentPurpose = 'release' | 'change';

/** A ref change Wharf is about to make, written before git is touched. */
export interface RefIntentsTable {
  id: Generated<number>;
  repository_id: number;
  ref: string;
  /** Where the ref will point; null for a deletion. */
  sha: string | null;
  purpose: RefIntentPurpose;
  actor_id: number | null;
  /** The process making the change (host:pid:random, as lease holders). */
  holder: string;
  created_ms: number;
}

/** Contents a release accepts (GitHub's enum for the release reaction endpoints). */
export type ReleaseReactionContent = '+1' | 'laugh' | 'heart' | 'hooray' | 'rocket' | 'eyes';

export interface ReleaseReactionsTable {
  id: Generated<number>;
  release_id: number;
  user_id: number;
  content: ReleaseReactionContent;
  created_at: string;
}

/** The transactional outbox: one row per domain event, written with the change it describes. */
export interface EventsTable {
  id: Generated<number>;
  /** `release.published`, `asset.uploaded`, `ref.created`… (see events/domain-events.ts). */
  type: string;
  repository_id: number | null;
  /** The repository's owner (user or organization), for organization-wide subscribers. */
  owner_id: number | null;
  /** Who made the change. */
  actor_id: number | null;
  /** JSON: the event's data, a snapshot taken inside the transaction. */
  data: string;
  created_at: string;
  created_ms: number;
}

/** An event a consumer has not handled yet; taken with a lease, deleted once handled. */
export interface EventQueueTable {
  consumer: string;
  event_id: number;
  lease_holder: string | null;
  lease_until: Generated<number>;
}

export type WebhookScope = 'repository' | 'organization' | 'global';

export interface WebhooksTable {
  id: Generated<number>;
  scope: WebhookScope;
  repository_id: number | null;
  account_id: number | null;
  name: string;
  active: number;
  /** JSON array of event names (`*` for all). */
  events: string;
  url: string;
  content_type: 'json' | 'form';
  insecure_ssl: string;
  /** The signing secret, encrypted with the instance key; null when none is set. */
  secret_ciphertext: string | null;
  /**
   * The web base URL (scheme, host, prefix) the hook was created through: payload URLs use it
   * unless WHARF_EXTERNAL_URL is set, so receivers get URLs they can call back.
   */
  web_base: string;
  created_at: string;
  /** Epoch ms of creation: the hook receives events recorded from then on. */
  created_ms: number;
  updated_at: string;
  /** Epoch ms of the first failure in the current run of failures; null while healthy. */
  failing_since: number | null;
  /** Why Wharf disabled the hook (null when it did not). */
  disabled_reason: string | null;
  last_response_code: number | null;
  last_response_status: string | null;
  last_response_message: string | null;
}

export type WebhookJobState = 'pending' | 'delivered' | 'failed';

/** One delivery (a payload for a hook, with its GUID) until it succeeds or is given up. */
export interface WebhookJobsTable {
  id: Generated<number>;
  hook_id: number;
  guid: string;
  event: string;
  action: string | null;
  repository_id: number | null;
  payload: string;
  redelivery: number;
  state: WebhookJobState;
  attempts: number;
  next_attempt_at: number;
  lease_holder: string | null;
  lease_until: Generated<number>;
  created_ms: number;
}

/** One attempt at a delivery, as the deliveries API lists them. */
export interface WebhookAttemptsTable {
  id: Generated<number>;
  job_id: number;
  hook_id: number;
  guid: string;
  event: string;
  action: string | null;
  repository_id: number | null;
  redelivery: number;
  delivered_at: string;
  created_ms: number;
  /** Seconds. */
  duration: number;
  status: string;
  status_code: number;
  url: string;
  request_headers: string;
  request_body: string;
  response_headers: string | null;
  response_body: string | null;
}

/** One security-relevant action (services/audit.ts); names are kept as they were at the time. */
export interface AuditLogTable {
  id: Generated<number>;
  /** GitHub's action names where GitHub has one: `user.login`, `repo.access`, `oauth_access.create`… */
  action: string;
  actor_id: number | null;
  /** The actor's login, or `wharf` (Wharf itself) or `cli:<os user>` (the `wharf` command). */
  actor: string;
  actor_ip: string | null;
  /** The user the action was about (a new user, a collaborator, a token's owner). */
  user_id: number | null;
  user_login: string | null;
  /** The organization the action happened in (its repositories' actions included). */
  org_id: number | null;
  org: string | null;
  repository_id: number | null;
  /** `owner/name` */
  repo: string | null;
  /** JSON object: what else is worth knowing (visibility before and after, a tag, a token's scopes). */
  data: string;
  created_ms: number;
}

export interface TokenAddressesTable {
  token_id: number;
  address: string;
  first_seen_ms: number;
}

export interface SigningKeysTable {
  /** 1, 2, …: the highest signs; the key so two nodes cannot both create or rotate at once. */
  generation: number;
  /** sha256 hex of the DER public key (the bundles' key hint). */
  key_id: string;
  public_key_pem: string;
  /** PKCS#8 PEM sealed with the instance key (util/secret-box): never stored in clear. */
  private_key_sealed: string;
  valid_from: string;
  /** When it was rotated out; null for the signing key. */
  valid_until: string | null;
}

export interface AttestationsTable {
  id: Generated<number>;
  repository_id: number;
  /** The immutable release it attests (made by Wharf); null for one a client stored. */
  release_id: number | null;
  predicate_type: string;
  /** The Sigstore bundle, JSON. */
  bundle: string;
  /** `release` (made by Wharf when publishing) or `api` (stored by a client). */
  initiator: string;
  created_at: string;
  /**
   * The `OWNER/REPO` another server's attestation names, kept beside a mirrored or imported
   * release (migration 029); null for those made or stored here.
   */
  origin_repository: string | null;
}

export interface AttestationSubjectsTable {
  attestation_id: number;
  repository_id: number;
  /** `sha256:<hex>`, as GitHub's subject_digest path parameter spells it. */
  digest: string;
}

/** A pull mirror of an upstream repository (docs/mirrors.md). */
export type MirrorKind = 'github' | 'gitea' | 'auto';

export interface MirrorsTable {
  id: Generated<number>;
  repository_id: number;
  /** The upstream repository's web URL (`https://github.com/o/r`, `https://ghes.example/o/r`). */
  upstream_url: string;
  /**
   * The API the upstream speaks: `github` (GitHub.com, GHES, Wharf) or `gitea` (Gitea, Forgejo);
   * `auto` until the first sync has asked the upstream (`/api/v1/version`) and stored the answer.
   */
  kind: MirrorKind;
  /** The upstream token, sealed with the instance key (util/secret-box.ts); null: anonymous. */
  token_sealed: string | null;
  schedule_ms: number;
  /** Only tags matching this glob (and their releases) are mirrored; null: all. */
  tag_glob: string | null;
  /** Only the newest N releases are mirrored; null: all. */
  last_n: number | null;
  /** Only assets whose names match this glob are mirrored; null: all. */
  asset_glob: string | null;
  /** Only releases of these channels (comma-separated, as derived by the repository's rules) are mirrored; null: all. */
  channels: string | null;
  /** 1: releases and assets removed upstream are removed here. */
  prune: number;
  created_by: number;
  created_at: string;
  updated_at: string;
  /** Epoch ms when the scheduler next syncs the mirror. */
  next_sync_ms: number;
  last_started_at: string | null;
  last_finished_at: string | null;
  /** `running`, `ok` or `failed`; null before the first sync. */
  last_status: string | null;
  last_error: string | null;
  /** JSON: what the last sync did (counts). */
  last_summary: string | null;
}

/** An upstream answer kept with its ETag, for conditional requests. */
export interface MirrorHttpCacheTable {
  mirror_id: number;
  url: string;
  etag: string;
  body: string;
}

/** Another instance's trusted root, trusted here for its offline bundles (`wharf keys trust`). */
export interface TrustedRootsTable {
  /** sha256 hex of `document`. */
  id: string;
  /** The URL or file it was read from. */
  source: string;
  /** The trusted-root JSON as read. */
  document: string;
  added_at: string;
}

/** Where a repository's imported releases come from (offline bundles); such a repository is read-only. */
export interface BundleOriginsTable {
  repository_id: number;
  origin_repository: string;
  origin_instance: string | null;
  key_id: string;
  imported_at: string;
}

export interface Database {
  accounts: AccountsTable;
  org_members: OrgMembersTable;
  tokens: TokensTable;
  repositories: RepositoriesTable;
  collaborators: CollaboratorsTable;
  releases: ReleasesTable;
  assets: AssetsTable;
  resumable_uploads: ResumableUploadsTable;
  idempotency_keys: IdempotencyKeysTable;
  rate_limits: RateLimitsTable;
  blob_deletions: BlobDeletionsTable;
  blob_holds: BlobHoldsTable;
  sessions: SessionsTable;
  passwords: PasswordsTable;
  password_reset_links: PasswordResetLinksTable;
  leases: LeasesTable;
  repository_refs: RepositoryRefsTable;
  repository_generations: RepositoryGenerationsTable;
  credential_generations: CredentialGenerationsTable;
  immutable_release_policies: ImmutableReleasePoliciesTable;
  immutable_release_repositories: ImmutableReleaseRepositoriesTable;
  immutable_tags: ImmutableTagsTable;
  ref_intents: RefIntentsTable;
  release_reactions: ReleaseReactionsTable;
  events: EventsTable;
  event_queue: EventQueueTable;
  webhooks: WebhooksTable;
  webhook_jobs: WebhookJobsTable;
  webhook_attempts: WebhookAttemptsTable;
  audit_log: AuditLogTable;
  token_addresses: TokenAddressesTable;
  signing_keys: SigningKeysTable;
  attestations: AttestationsTable;
  attestation_subjects: AttestationSubjectsTable;
  mirrors: MirrorsTable;
  mirror_http_cache: MirrorHttpCacheTable;
  trusted_roots: TrustedRootsTable;
  bundle_origins: BundleOriginsTable;
}

export type Account = Selectable<AccountsTable>;
export type NewAccount = Insertable<AccountsTable>;
export type Token = Selectable<TokensTable>;
export type Repository = Selectable<RepositoriesTable>;
export type RepositoryUpdate = Updateable<RepositoriesTable>;
export type Release = Selectable<ReleasesTable>;
export type NewRelease = Insertable<ReleasesTable>;
export type ReleaseUpdate = Updateable<ReleasesTable>;
export type Asset = Selectable<AssetsTable>;
export type NewAsset = Insertable<AssetsTable>;
export type ResumableUpload = Selectable<ResumableUploadsTable>;
export type IdempotencyKeyRow = Selectable<IdempotencyKeysTable>;
export type Session = Selectable<SessionsTable>;
export type PasswordResetLink = Selectable<PasswordResetLinksTable>;
export type ReleaseReaction = Selectable<ReleaseReactionsTable>;
export type RefIntent = Selectable<RefIntentsTable>;
export type StoredEvent = Selectable<EventsTable>;
export type Webhook = Selectable<WebhooksTable>;
export type WebhookJob = Selectable<WebhookJobsTable>;
export type WebhookAttempt = Selectable<WebhookAttemptsTable>;
export type AuditLogRow = Selectable<AuditLogTable>;
export type SigningKeyRow = Selectable<SigningKeysTable>;
export type Mirror = Selectable<MirrorsTable>;
export type AttestationRow = Selectable<AttestationsTable>;
export type TrustedRootRow = Selectable<TrustedRootsTable>;
export type BundleOrigin = Selectable<BundleOriginsTable>;
