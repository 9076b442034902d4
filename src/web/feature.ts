/**
 * @module web/feature
 * The web pages as a Wharf feature. Routes live at the root next to git smart HTTP
 * (`/{owner}/{repo}/info/refs`, …) and asset downloads (`/{owner}/{repo}/releases/download/…`),
 * which other modules own; the paths below avoid both. Logins such as `login`, `static` and
 * `session` are reserved, so `/login` and `/static/…` cannot shadow an owner.
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';
import type { Feature } from '../features.ts';
import { avatarRoutes } from './avatars.ts';
import { renderErrorPage, webErrorHandler } from './error-pages.ts';
import { registerFormParser } from './forms.ts';
import { imageProxyRoutes, ImageProxySigner } from './image-proxy.ts';
import { accountSettingsPages } from './pages/account-settings.ts';
import { newRepositoryPages } from './pages/new-repository.ts';
import { passwordSettingsPages } from './pages/password-settings.ts';
import { sessionSettingsPages } from './pages/session-settings.ts';
import { archiveRoutes } from './pages/archives.ts';
import { assetUploadPage } from './pages/asset-uploads.ts';
import { comparePages } from './pages/compare.ts';
import { feedRoutes } from './pages/feeds.ts';
import { homePages } from './pages/home.ts';
import { hookSettingsPages } from './pages/hook-settings.ts';
import { mirrorSettingsPages } from './pages/mirror-settings.ts';
import { releaseEditorRoutes } from './pages/release-editor.ts';
import { releaseFormRoutes } from './pages/release-forms.ts';
import { releasePages } from './pages/releases.ts';
import { updateFeedRoutes } from './pages/update-feeds.ts';
import { repositoryPages } from './pages/repository.ts';
import { repositorySettingsPages } from './pages/repository-settings.ts';
import { signInRoutes } from './pages/sign-in.ts';
import { siteAdminPages } from './pages/site-admin.ts';
import { tagPages } from './pages/tags.ts';
import { staticRoutes } from './static-files.ts';
import { identifyVisitor } from './web-auth.ts';

/** Release notes may be 125,000 characters; percent-encoding can triple that. */
const FORM_BODY_LIMIT = 1024 * 1024;

async function pages(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.decorateRequest('webSession', null);
  app.decorateRequest('imageProxy', null);
  const signer = ImageProxySigner.forContext(ctx);
  app.setErrorHandler(webErrorHandler);
  // `/api/…` is the API's, whatever the method: `GET /api/graphql` or `/api/foo` must not be taken
  // for the page of a repository `graphql` of an owner `api` (an HTML page, or a sign-in redirect
  // for an API client whose token is wrong), but get the API's JSON 404.
  app.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith('/api/')) return reply.callNotFound();
    request.imageProxy = signer;
    return identifyVisitor(ctx, request);
  });
  registerFormParser(app, FORM_BODY_LIMIT);
  signInRoutes(app, ctx);
  imageProxyRoutes(app, ctx);
  homePages(app, ctx);
  repositoryPages(app, ctx);
  releasePages(app, ctx);
  tagPages(app, ctx);
  updateFeedRoutes(app, ctx);
  releaseFormRoutes(app, ctx);
  releaseEditorRoutes(app, ctx);
  comparePages(app, ctx);
  feedRoutes(app, ctx);
  archiveRoutes(app, ctx);
  avatarRoutes(app, ctx);
  assetUploadPage(app, ctx);
  hookSettingsPages(app, ctx);
  repositorySettingsPages(app, ctx);
  mirrorSettingsPages(app, ctx);
  accountSettingsPages(app, ctx);
  passwordSettingsPages(app, ctx);
  sessionSettingsPages(app, ctx);
  newRepositoryPages(app, ctx);
  siteAdminPages(app, ctx);
}

/** Browsers asking for a page that does not exist get an HTML 404; API clients keep GitHub's JSON. */
function wantsPage(accept: string | undefined, url: string): boolean {
  return !url.startsWith('/api/') && (accept ?? '').includes('text/html');
}

export const webFeature: Feature = {
  name: 'web',
  notFound(request, reply) {
    if (!wantsPage(request.headers.accept, request.url)) return null;
    request.webSession ??= null;
    return renderErrorPage(request, reply, 404, "This page does not exist, or you don't have access to it.");
  },
  web(app, ctx) {
    staticRoutes(app);
    void app.register((scope) => pages(scope, ctx));
  },
};
