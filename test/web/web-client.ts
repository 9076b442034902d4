/**
 * A minimal browser stand-in for page tests over plain HTTP: keeps cookies, reads the CSRF
 * field out of pages, and posts forms the way a browser does.
 */
export interface PageResult {
  status: number;
  headers: Headers;
  text: string;
}

export class WebClient {
  readonly cookies = new Map<string, string>();

  constructor(readonly base: string) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private remember(headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async request(method: string, path: string, init: { body?: string | Uint8Array; headers?: Record<string, string> } = {}): Promise<PageResult> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.cookies.size) headers.cookie = this.cookieHeader();
    const res = await fetch(this.base + path, { method, headers, body: init.body as BodyInit | undefined, redirect: 'manual' });
    this.remember(res.headers);
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  get(path: string, headers?: Record<string, string>): Promise<PageResult> {
    return this.request('GET', path, { headers });
  }

  post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<PageResult> {
    return this.request('POST', path, {
      body: new URLSearchParams(fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    });
  }

  /** The `_csrf` value of the first form on a page. */
  static csrfOf(page: PageResult): string {
    const m = /name="_csrf" value="([^"]+)"/.exec(page.text);
    if (!m) throw new Error('no CSRF field on the page');
    return m[1]!;
  }

  async signIn(login: string, token: string): Promise<void> {
    const form = await this.get('/login');
    const res = await this.post('/session', { _csrf: WebClient.csrfOf(form), login, token, return_to: '/' });
    if (res.status !== 303) throw new Error(`sign-in failed: ${res.status}`);
  }
}
