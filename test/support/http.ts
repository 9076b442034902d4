/**
 * A tiny fetch wrapper for raw HTTP assertions: returns status, headers and the parsed body,
 * and validates every JSON body against the GHES OpenAPI description unless told not to.
 */
import { assertMatchesOpenApi } from './openapi.ts';

export interface CallOptions {
  token?: string | null;
  body?: unknown;
  /** Raw body (string or bytes) sent as is. */
  raw?: string | Uint8Array;
  headers?: Record<string, string>;
  /** Skip OpenAPI validation (for non-GitHub routes or deliberately odd responses). */
  skipSchema?: boolean;
  redirect?: 'follow' | 'manual';
}

export interface CallResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function call<T = any>(method: string, url: string, options: CallOptions = {}): Promise<CallResult<T>> {
  const headers: Record<string, string> = { accept: 'application/vnd.github+json', ...options.headers };
  if (options.token) headers.authorization = `token ${options.token}`;
  let body: string | Uint8Array | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, { method, headers, body: body as BodyInit | undefined, redirect: options.redirect ?? 'manual' });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text.length > 0) parsed = JSON.parse(text);
  if (!options.skipSchema && typeof parsed === 'object' && parsed !== null && res.status < 300 && res.status !== 204) {
    assertMatchesOpenApi(method, url, res.status, parsed);
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** Asserts GitHub's error shape and returns the body. */
export function expectGitHubError(result: CallResult, status: number, message?: string | RegExp): any {
  if (result.status !== status) throw new Error(`expected ${status}, got ${result.status}: ${result.text}`);
  const body = result.body as { message?: unknown; documentation_url?: unknown };
  if (typeof body !== 'object' || typeof body.message !== 'string' || typeof body.documentation_url !== 'string') {
    throw new Error(`not a GitHub error body: ${result.text}`);
  }
  if (message instanceof RegExp ? !message.test(body.message) : message !== undefined && body.message !== message) {
    throw new Error(`unexpected message ${JSON.stringify(body.message)}`);
  }
  return body;
}
