/**
 * @module services/release-input
 * Reads create/update bodies as GitHub's schema validation does: a missing required member or a
 * member of the wrong JSON type is 422 `Invalid request.` (no `errors[]`); unknown and read-only
 * members are ignored (hub sends whole release objects back).
 */
import { InvalidRequestError } from '../domain/errors.ts';
import { CHANNEL_NAME } from '../domain/release-version.ts';

export type MakeLatest = 'true' | 'false' | 'legacy';

export interface ReleaseFields {
  tag_name?: string;
  /** null or "" mean "the default branch" (hub sends ""). */
  target_commitish?: string | null;
  name?: string | null;
  body?: string | null;
  draft?: boolean;
  prerelease?: boolean;
  make_latest?: MakeLatest;
  generate_release_notes?: boolean;
  /** Wharf's extension: the release's channel (null: derive it from the tag again). */
  channel?: string | null;
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function stringOrNull(body: Record<string, unknown>, key: string, nullable: boolean): string | null | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (value === null && nullable) return null;
  if (typeof value !== 'string') {
    throw new InvalidRequestError(`Invalid request.\n\nFor 'properties/${key}', ${describe(value)} is not a string${nullable ? ' or null' : ''}.`);
  }
  return value;
}

function bool(body: Record<string, unknown>, key: string): boolean | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new InvalidRequestError(`Invalid request.\n\nFor 'properties/${key}', ${describe(value)} is not a boolean.`);
  return value;
}

export function parseReleaseFields(body: Record<string, unknown>, requireTag: boolean): ReleaseFields {
  if (requireTag && body.tag_name === undefined) throw new InvalidRequestError('Invalid request.\n\n"tag_name" wasn\'t supplied.');
  const fields: ReleaseFields = {};
  const tag = stringOrNull(body, 'tag_name', false);
  if (tag !== undefined) fields.tag_name = tag as string;
  const target = stringOrNull(body, 'target_commitish', true);
  if (target !== undefined) fields.target_commitish = target;
  const name = stringOrNull(body, 'name', true);
  if (name !== undefined) fields.name = name;
  const text = stringOrNull(body, 'body', true);
  if (text !== undefined) fields.body = text;
  const draft = bool(body, 'draft');
  if (draft !== undefined) fields.draft = draft;
  const prerelease = bool(body, 'prerelease');
  if (prerelease !== undefined) fields.prerelease = prerelease;
  const generate = bool(body, 'generate_release_notes');
  if (generate !== undefined) fields.generate_release_notes = generate;
  const makeLatest = body.make_latest;
  if (makeLatest !== undefined) {
    if (typeof makeLatest !== 'string') throw new InvalidRequestError(`Invalid request.\n\nFor 'properties/make_latest', ${describe(makeLatest)} is not a string.`);
    if (makeLatest !== 'true' && makeLatest !== 'false' && makeLatest !== 'legacy') {
      throw new InvalidRequestError(`Invalid request.\n\nFor 'properties/make_latest', "${makeLatest}" is not one of ["true", "false", "legacy"].`);
    }
    fields.make_latest = makeLatest;
  }
  const channel = stringOrNull(body, 'channel', true);
  if (channel !== undefined) {
    if (channel !== null && !CHANNEL_NAME.test(channel)) {
      throw new InvalidRequestError(`Invalid request.\n\nFor 'properties/channel', ${describe(channel)} does not match ${CHANNEL_NAME.source}.`);
    }
    fields.channel = channel;
  }
  if (body.discussion_category_name !== undefined) stringOrNull(body, 'discussion_category_name', true);
  return fields;
}
