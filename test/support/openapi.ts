/**
 * Validates response bodies against GitHub's own OpenAPI description for GHES (the newest
 * `ghes-3.x` file in `@octokit/openapi`). Tests call `assertMatchesOpenApi(method, url, status, body)`
 * with the concrete request URL; the operation is found by matching the URL against the spec's
 * path templates.
 */
import { createRequire } from 'node:module';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const require = createRequire(import.meta.url);
const generatedDir = path.join(path.dirname(require.resolve('@octokit/openapi/package.json')), 'generated');

/** The newest GHES description shipped in the package. */
function newestGhesFile(): string {
  const files = readdirSync(generatedDir).filter((f) => /^ghes-\d+\.\d+\.json$/.test(f));
  files.sort((a, b) => {
    const [, am = 0, an = 0] = a.match(/(\d+)\.(\d+)/)!.map(Number);
    const [, bm = 0, bn = 0] = b.match(/(\d+)\.(\d+)/)!.map(Number);
    return am - bm || an - bn;
  });
  return path.join(generatedDir, files[files.length - 1]!);
}

interface Spec {
  paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>>;
  components: Record<string, unknown>;
}

export const ghesSpecFile = newestGhesFile();
const spec = require(ghesSpecFile) as Spec;

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
ajv.addSchema({ components: rebase(spec.components, '') }, 'ghes');

/**
 * Rewrites local `#/components/...` references so they resolve inside the registered `ghes`
 * schema, and turns OpenAPI 3.0's `nullable` without a `type` (which Ajv refuses) into an anyOf.
 */
function rebase(schema: unknown, prefix = 'ghes'): unknown {
  if (Array.isArray(schema)) return schema.map((s) => rebase(s, prefix));
  if (schema && typeof schema === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(schema)) {
      out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${prefix}${v}` : rebase(v, prefix);
    }
    if (out.nullable === true && out.type === undefined) {
      delete out.nullable;
      return { anyOf: [out, { type: 'null' }] };
    }
    return out;
  }
  return schema;
}

const templates = Object.keys(spec.paths).map((template) => {
  const pattern = template
    .split('/')
    .map((seg) => {
      if (seg === '{tag}' || seg === '{ref}') return '.+';
      if (/^\{.+\}$/.test(seg)) return '[^/]+';
      return seg.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
    })
    .join('/');
  const literal = template.split('/').filter((s) => !s.startsWith('{')).length;
  return { template, regex: new RegExp(`^${pattern}$`), literal };
});

/** Finds the spec path for a concrete path (without the `/api/v3` or `/api/uploads` prefix). */
export function findTemplate(concretePath: string): string | null {
  const matches = templates.filter((t) => t.regex.test(concretePath));
  // Prefer the template with the most literal segments (`releases/latest` over `releases/{release_id}`).
  matches.sort((a, b) => b.literal - a.literal);
  return matches[0]?.template ?? null;
}

const cache = new Map<string, ValidateFunction>();

function validatorFor(template: string, method: string, status: number): ValidateFunction | null {
  const key = `${method} ${template} ${status}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const op = spec.paths[template]?.[method.toLowerCase()];
  if (!op) throw new Error(`the GHES description has no ${method} ${template}`);
  const response = op.responses?.[String(status)];
  if (!response) throw new Error(`the GHES description lists no ${status} for ${method} ${template}`);
  const schema = response.content?.['application/json']?.schema;
  if (!schema) return null;
  const validate = ajv.compile(rebase(schema) as object);
  cache.set(key, validate);
  return validate;
}

/**
 * Wharf's documented extensions that GitHub lacks (docs/channels.md), each with the schema its
 * documentation gives; they are checked against these instead of a GitHub path that their URL
 * happens to match (`/releases/channels` is not a release id).
 */
const releaseRef = { $ref: 'ghes#/components/schemas/release' };
const releaseRulesSchema = {
  type: 'object',
  required: ['scheme', 'prefixes', 'channels', 'latest'],
  additionalProperties: false,
  properties: {
    scheme: { enum: ['semver', 'calendar'] },
    prefixes: { type: 'array', items: { type: 'string' } },
    channels: {
      type: 'array',
      items: {
        type: 'object',
        required: ['pattern', 'channel'],
        additionalProperties: false,
        properties: { pattern: { type: 'string' }, channel: { type: 'string' }, scheme: { enum: ['semver', 'calendar'] } },
      },
    },
    latest: { enum: ['semver', 'github'] },
  },
};
const WHARF_EXTENSIONS = [
  {
    name: 'release channels',
    method: 'GET',
    path: /^\/repos\/[^/]+\/[^/]+\/releases\/channels$/,
    validate: ajv.compile({
      type: 'array',
      items: {
        type: 'object',
        required: ['channel', 'prefix', 'releases', 'latest'],
        additionalProperties: false,
        properties: { channel: { type: 'string' }, prefix: { type: 'string' }, releases: { type: 'integer' }, latest: releaseRef },
      },
    }),
  },
  { name: 'release rules', method: 'GET', path: /^\/repos\/[^/]+\/[^/]+\/releases\/rules$/, validate: ajv.compile(releaseRulesSchema) },
  { name: 'release rules', method: 'PATCH', path: /^\/repos\/[^/]+\/[^/]+\/releases\/rules$/, validate: ajv.compile(releaseRulesSchema) },
];

/**
 * Throws unless `body` matches the response schema GitHub documents for this request.
 * `url` may be absolute or a path; the `/api/v3` or `/api/uploads` prefix is removed.
 */
export function assertMatchesOpenApi(method: string, url: string, status: number, body: unknown): void {
  const pathname = new URL(url, 'http://x').pathname.replace(/\/{2,}/g, '/').replace(/^\/api\/(v3|uploads)/, '') || '/';
  const extension = WHARF_EXTENSIONS.find((e) => e.method === method && e.path.test(pathname));
  if (extension) {
    if (!extension.validate(body))
      throw new Error(`${method} ${pathname} → ${status}: body does not match Wharf's ${extension.name}: ${ajv.errorsText(extension.validate.errors)}`);
    return;
  }
  const template = findTemplate(pathname);
  if (!template) throw new Error(`no GHES path template matches ${pathname}`);
  const validate = validatorFor(template, method, status);
  if (!validate) return;
  if (!validate(body)) {
    const details = (validate.errors ?? []).slice(0, 10).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
    throw new Error(`${method} ${pathname} → ${status}: body does not match ${template}:\n${details.join('\n')}`);
  }
}

/** Validates a body against a named component schema (`release`, `simple-user`, …). */
export function assertMatchesSchema(name: string, body: unknown): void {
  const validate = ajv.getSchema(`ghes#/components/schemas/${name}`);
  if (!validate) throw new Error(`no schema ${name}`);
  if (!validate(body)) {
    const details = (validate.errors ?? []).slice(0, 10).map((e) => `${e.instancePath || '/'} ${e.message}`);
    throw new Error(`body does not match ${name}:\n${details.join('\n')}`);
  }
}
