/**
 * git smart-HTTP probes without the git CLI: the `info/refs` request every clone, fetch and push
 * starts with, authenticated as git authenticates (HTTP Basic with the token as password).
 */
export function basicAuth(token: string): string {
  return `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
}

export interface GitProbe {
  status: number;
  text: string;
}

/** `GET /{owner}/{repo}.git/info/refs?service=…`; returns the status (and drains the body). */
export async function gitInfoRefs(base: string, full: string, service: 'git-upload-pack' | 'git-receive-pack', token?: string | null): Promise<number> {
  return (await gitInfoRefsFull(base, full, service, token)).status;
}

export async function gitInfoRefsFull(base: string, full: string, service: 'git-upload-pack' | 'git-receive-pack', token?: string | null): Promise<GitProbe> {
  const headers: Record<string, string> = { 'user-agent': 'git/2.39.0' };
  if (token) headers.authorization = basicAuth(token);
  const res = await fetch(`${base}/${full}.git/info/refs?service=${service}`, { headers });
  return { status: res.status, text: await res.text() };
}
