/**
 * @module domain/request-body
 * A write's JSON body as an object of members. Services read it only after they have checked
 * that the caller may make the write, so a caller without permission learns nothing from how
 * their input would have been judged (GitHub checks permission first too).
 */
import { BadRequestError } from './errors.ts';

/** The body as an object of members; an absent body is `{}`. */
export function bodyMembers(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError('Body should be a JSON object');
  return body as Record<string, unknown>;
}
