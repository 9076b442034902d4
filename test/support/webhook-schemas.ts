/**
 * Validates webhook payloads against GitHub's own schemas: the `x-webhooks` section of the
 * api.github.com description in `@octokit/openapi` (e.g. `release-published`, `push`, `ping`).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const require = createRequire(import.meta.url);
const file = path.join(path.dirname(require.resolve('@octokit/openapi/package.json')), 'generated', 'api.github.com.deref.json');
const spec = require(file) as { 'x-webhooks': Record<string, { post: { requestBody: { content: Record<string, { schema: unknown }> } } }> };

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);

/** OpenAPI 3.0's `nullable` as JSON Schema (Ajv refuses `nullable` without `type`). */
function toJsonSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (schema && typeof schema === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(schema)) out[k] = toJsonSchema(v);
    if (out.nullable === true) {
      delete out.nullable;
      return { anyOf: [out, { type: 'null' }] };
    }
    return out;
  }
  return schema;
}

const cache = new Map<string, ValidateFunction>();

/** Throws with Ajv's errors unless `payload` matches the webhook schema `name` (`release-published`, `push`…). */
export function assertWebhookPayload(name: string, payload: unknown): void {
  let validate = cache.get(name);
  if (!validate) {
    const hook = spec['x-webhooks'][name];
    if (!hook) throw new Error(`no webhook schema named ${name}`);
    validate = ajv.compile(toJsonSchema(hook.post.requestBody.content['application/json']!.schema) as object);
    cache.set(name, validate);
  }
  if (!validate(payload)) throw new Error(`${name} payload does not match GitHub's schema: ${JSON.stringify(validate.errors?.slice(0, 5), null, 1)}`);
}

const responseCache = new Map<string, ValidateFunction>();

/**
 * Throws with Ajv's errors unless `body` matches the api.github.com response schema of `method
 * path` (a template such as `/repos/{owner}/{repo}/immutable-releases`) for `status`: for routes
 * GHES's description does not have yet.
 */
export function assertDotcomResponse(method: string, template: string, status: number, body: unknown): void {
  const key = `${method} ${template} ${status}`;
  let validate = responseCache.get(key);
  if (!validate) {
    const paths = (spec as unknown as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>> }).paths;
    const schema = paths[template]?.[method.toLowerCase()]?.responses[String(status)]?.content?.['application/json']?.schema;
    if (!schema) throw new Error(`no api.github.com response schema for ${key}`);
    validate = ajv.compile(toJsonSchema(schema) as object);
    responseCache.set(key, validate);
  }
  if (!validate(body)) throw new Error(`${key} does not match api.github.com's schema: ${ajv.errorsText(validate.errors)}`);
}
