/**
 * The error catalogue is the one place a domain failure gets its HTTP status and GraphQL type.
 * Every error kind the domain defines must be in it, and GraphQL must report what it says.
 */
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { cataloguedKinds, knownFailure } from '../../src/domain/error-catalogue.ts';
import * as domainErrors from '../../src/domain/errors.ts';
import { formatError } from '../../src/graphql/errors.ts';
import { asDomainError } from '../../src/services/db-errors.ts';

const { WharfError } = domainErrors;

/** One instance of every error class `domain/errors.ts` exports. */
function everyDomainError(): InstanceType<typeof WharfError>[] {
  return Object.values(domainErrors)
    .filter((value): value is typeof WharfError => typeof value === 'function' && value.prototype instanceof WharfError)
    .map((Kind) =>
      (Kind as unknown) === domainErrors.ValidationError
        ? new domainErrors.ValidationError([{ code: 'invalid', field: 'x' }])
        : new (Kind as new (m?: string) => InstanceType<typeof WharfError>)('safe message'),
    );
}

describe('error catalogue', () => {
  it('gives every domain error kind a status and a GraphQL type', () => {
    const errors = everyDomainError();
    expect(errors.length).toBeGreaterThanOrEqual(10);
    for (const err of errors) {
      expect(
        cataloguedKinds.some((kind) => err instanceof kind),
        `${err.name} is not in the catalogue`,
      ).toBe(true);
      expect(knownFailure(err)).not.toBeNull();
    }
  });

  it('maps each kind to the status and type GitHub uses', () => {
    const cases: Array<[unknown, number, string]> = [
      [new domainErrors.NotFoundError(), 404, 'NOT_FOUND'],
      [new domainErrors.ValidationError([{ code: 'already_exists', field: 'tag_name' }]), 422, 'UNPROCESSABLE'],
      [new domainErrors.InvalidRequestError('Invalid request.'), 422, 'UNPROCESSABLE'],
      [new domainErrors.BadRequestError('Bad'), 400, 'UNPROCESSABLE'],
      [new domainErrors.UnauthorizedError(), 401, 'FORBIDDEN'],
      [new domainErrors.ForbiddenError('no'), 403, 'FORBIDDEN'],
      [new domainErrors.TooLargeError('big'), 413, 'UNPROCESSABLE'],
      [new domainErrors.UriTooLongError(), 414, 'UNPROCESSABLE'],
      [new domainErrors.ConflictError('busy'), 409, 'UNPROCESSABLE'],
      [new domainErrors.InsufficientStorageError('full'), 507, 'SERVICE_UNAVAILABLE'],
      [new domainErrors.AssetSaveError(), 500, 'INTERNAL'],
    ];
    for (const [err, status, graphqlType] of cases) expect(knownFailure(err)).toMatchObject({ status, graphqlType });
    expect(knownFailure(new domainErrors.ValidationError([{ code: 'invalid', field: 'x' }]))?.errors).toEqual([{ code: 'invalid', field: 'x' }]);
    expect(knownFailure(new Error('boom'))).toBeNull();
  });

  it('turns driver failures that are not faults into domain errors', () => {
    expect(knownFailure(asDomainError(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })))?.status).toBe(507);
    expect(knownFailure(asDomainError(Object.assign(new Error('could not extend file'), { code: '53100' })))?.status).toBe(507);
    expect(knownFailure(asDomainError(Object.assign(new Error('fk'), { code: '23503' })))?.status).toBe(404);
    expect(knownFailure(asDomainError(Object.assign(new Error('nul'), { code: '22021' })))?.status).toBe(422);
    expect(asDomainError(Object.assign(new Error('other'), { code: 'SQLITE_CORRUPT' }))).toBeInstanceOf(Error);
    expect(knownFailure(asDomainError(Object.assign(new Error('other'), { code: 'SQLITE_CORRUPT' })))).toBeNull();
  });

  it("has GraphQL report a resolver's domain error with the catalogue's type and its message", () => {
    for (const err of everyDomainError()) {
      const formatted = formatError(new GraphQLError(err.message, { path: ['repository'], originalError: err }));
      expect(formatted).toEqual({ type: knownFailure(err)!.graphqlType, path: ['repository'], message: err.message });
    }
    const disk = formatError(new GraphQLError('x', { path: ['viewer'], originalError: Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }) }));
    expect(disk.type).toBe('SERVICE_UNAVAILABLE');
    // Anything unexpected keeps its details to itself.
    const fault = formatError(new GraphQLError('secret path /var/lib', { path: ['viewer'], originalError: new Error('secret path /var/lib') }));
    expect(fault.type).toBe('INTERNAL');
    expect(fault.message).not.toContain('secret');
  });
});
