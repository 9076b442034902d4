/**
 * @module web/layout
 * The page frame shared by every page (header with the signed-in user, main, footer) and the one
 * way pages are sent: HTML with the security headers and no caching of personalised content.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { html, type Html, type HtmlValue } from './html.ts';
import { setPageSecurityHeaders } from './security.ts';
import { staticUrl } from './static-files.ts';
import { webPath } from './format.ts';

export interface PageOptions {
  title: string;
  body: HtmlValue;
  /** Extra `<link>` elements (Atom feeds). */
  head?: HtmlValue;
}

/** The hidden CSRF field every form of a signed-in page carries. */
export function csrfField(request: FastifyRequest): Html {
  return request.webSession ? html`<input type="hidden" name="_csrf" value="${request.webSession.csrfSecret}">` : html``;
}

function header(request: FastifyRequest): Html {
  const user = request.principal?.user;
  const returnTo = request.url.startsWith('/') && !request.url.startsWith('//') ? request.url : '/';
  const account = user
    ? html`<a class="who" href="${webPath(user.login)}">${user.login}</a>
        ${request.webSession ? html`<a href="/settings/profile">Settings</a>` : ''}
        ${request.webSession ? html`<form method="post" action="/logout" class="inline">${csrfField(request)}<button type="submit" class="link">Sign out</button></form>` : ''}`
    : html`<a href="/login?return_to=${encodeURIComponent(returnTo)}">Sign in</a>`;
  return html`<header class="site"><nav aria-label="Site"><a class="brand" href="/">Wharf</a><span class="grow"></span>${account}</nav></header>`;
}

export function layout(request: FastifyRequest, options: PageOptions): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="${staticUrl('favicon.svg')}" type="image/svg+xml">
<title>${options.title} · Wharf</title>
<link rel="stylesheet" href="${staticUrl('wharf.css')}">
<script src="${staticUrl('dom.js')}" defer></script>
${options.head}
<script src="${staticUrl('wharf.js')}" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
${header(request)}
<main id="main" tabindex="-1">
${options.body}
</main>
<footer class="site"><p>Wharf release server</p></footer>
</body>
</html>
`;
}

export function sendHtml(reply: FastifyReply, status: number, page: Html): FastifyReply {
  setPageSecurityHeaders(reply);
  reply.header('cache-control', 'no-cache, private');
  reply.header('vary', 'Cookie, Authorization');
  return reply.code(status).type('text/html; charset=utf-8').send(page.value);
}

export function sendPage(request: FastifyRequest, reply: FastifyReply, options: PageOptions, status = 200): FastifyReply {
  return sendHtml(reply, status, layout(request, options));
}
