/**
 * @module features
 * Wharf's feature modules, each registering its routes into the right part of the server and
 * starting/stopping its background work. `app.ts` walks this list and registers nothing by hand,
 * so adding a feature is one line here.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from './context.ts';
import { accountsFeature } from './features/accounts.ts';
import { assetsFeature } from './features/assets.ts';
import { attestationsFeature } from './features/attestations.ts';
import { auditFeature } from './features/audit.ts';
import { gitFeature } from './features/git.ts';
import { metaFeature } from './features/meta.ts';
import { releaseNotesFeature } from './features/release-notes.ts';
import { releasesFeature } from './features/releases.ts';
import { repositoriesFeature } from './features/repositories.ts';
import { graphqlFeature } from './graphql/feature.ts';
import { healthFeature } from './features/health.ts';
import { metricsFeature } from './features/metrics.ts';
import { webFeature } from './web/feature.ts';
import { webhooksFeature } from './features/webhooks.ts';
import { mirrorsFeature } from './features/mirrors.ts';
import { refReconciliationFeature } from './features/ref-reconciliation.ts';

export interface Feature {
  name: string;
  /** Hooks and routes on the whole server (every request, before routing), e.g. metrics. */
  server?(app: FastifyInstance, ctx: AppContext): void;
  /** Routes under `/api/v3` (JSON bodies, auth, rate limits, ETags already applied). */
  api?(app: FastifyInstance, ctx: AppContext): void;
  /** Routes under `/api/uploads` (raw bodies; each route registers its own body handling). */
  uploads?(app: FastifyInstance, ctx: AppContext): void;
  /**
   * Routes at the web root that read their request bodies raw (git's smart HTTP), each feature's
   * in a context of its own: no JSON or form parsing, no API pipeline.
   */
  raw?(app: FastifyInstance, ctx: AppContext): void;
  /** Routes at the web root (pages, browser downloads, GraphQL at `/api/graphql`). */
  web?(app: FastifyInstance, ctx: AppContext): void;
  /** Answers an unmatched request (the web pages' HTML 404 for browsers); returns null to pass. */
  notFound?(request: FastifyRequest, reply: FastifyReply): FastifyReply | null;
  start?(ctx: AppContext): Promise<void>;
  stop?(ctx: AppContext): Promise<void>;
}

export const features: Feature[] = [
  metricsFeature,
  healthFeature,
  metaFeature,
  accountsFeature,
  repositoriesFeature,
  gitFeature,
  releasesFeature,
  releaseNotesFeature,
  assetsFeature,
  attestationsFeature,
  graphqlFeature,
  webhooksFeature,
  mirrorsFeature,
  auditFeature,
  webFeature,
  // After every feature that listens to ref changes (releases): its start-up round may record some.
  refReconciliationFeature,
];
