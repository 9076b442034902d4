import { describe, expect, it } from 'vitest';
import { readCredentials } from '../../src/http/auth.ts';

describe('readCredentials', () => {
  it('reads token, Bearer and Basic headers as GitHub does', () => {
    const token = 'wharf_abcDEF-123_xyz';
    expect(readCredentials(undefined)).toEqual({ kind: 'none' });
    expect(readCredentials('   ')).toEqual({ kind: 'none' });
    for (const header of [`token ${token}`, `Bearer ${token}`, `bearer ${token}`, `TOKEN ${token}`, `  token   ${token}  `, `token\t${token}`]) {
      expect(readCredentials(header), header).toEqual({ kind: 'token', candidates: [token] });
    }
    // What follows the scheme is the token, inner spaces and all (it then resolves to no one).
    expect(readCredentials('token a b')).toEqual({ kind: 'token', candidates: ['a b'] });
    expect(readCredentials(`Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`)).toEqual({ kind: 'token', candidates: [token, 'x-access-token'] });
    expect(readCredentials(`Basic ${Buffer.from(token).toString('base64')}`)).toEqual({ kind: 'token', candidates: [token] });
    for (const header of ['token', 'token ', 'Bearer ', 'Digest abc', 'Basic ' + Buffer.from(':').toString('base64')]) {
      expect(readCredentials(header).kind, header).toBe('malformed');
    }
  });
});
