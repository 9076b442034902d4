/**
 * @module web/forms
 * HTML form bodies (`application/x-www-form-urlencoded`) as plain string maps.
 */
import type { FastifyInstance } from 'fastify';
import { BadRequestError } from '../domain/errors.ts';

export type FormFields = Record<string, string>;

/** Registers the form parser in this encapsulation context (and only this one). */
export function registerFormParser(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit }, (_req, body, done) => {
    const fields: FormFields = {};
    for (const [k, v] of new URLSearchParams(body as string)) fields[k] = v;
    done(null, fields);
  });
}

export function formFields(body: unknown): FormFields {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError('Expected a form body');
  return body as FormFields;
}

/** A checkbox is present (any value) when ticked. */
export function checked(fields: FormFields, name: string): boolean {
  return fields[name] !== undefined;
}
