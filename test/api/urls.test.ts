import { afterAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { createRepo, createUser, uniqueName } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';

const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

async function repoUrls(env: Record<string, string>, headers: Record<string, string> = {}) {
  const server = await startServer({ env });
  servers.push(server);
  const user = await createUser(server, uniqueName('u'));
  const { full } = await createRepo(server, user);
  const res = await call('GET', `${server.api}/repos/${full}`, { token: user.token, headers });
  return { server, full, body: res.body };
}

describe('URLs in responses', () => {
  it('use WHARF_EXTERNAL_URL when set', async () => {
    const { full, body } = await repoUrls({ WHARF_EXTERNAL_URL: 'https://releases.example.com/' });
    expect(body.url).toBe(`https://releases.example.com/api/v3/repos/${full}`);
    expect(body.html_url).toBe(`https://releases.example.com/${full}`);
    expect(body.clone_url).toBe(`https://releases.example.com/${full}.git`);
  });

  it('follow the Host header, and X-Forwarded-* only behind a trusted proxy', async () => {
    const plain = await repoUrls({}, { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' });
    expect(plain.body.url).toBe(`${plain.server.api}/repos/${plain.full}`);
    const proxied = await repoUrls({ WHARF_TRUST_PROXY: 'true' }, { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'wharf.example:8443' });
    expect(proxied.body.url).toBe(`https://wharf.example:8443/api/v3/repos/${proxied.full}`);
    const link = await call('GET', `${proxied.server.api}/users/${proxied.full.split('/')[0]}/repos?per_page=1&page=1`, {});
    expect(link.status).toBe(200);
  });
});
