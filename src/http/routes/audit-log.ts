/**
 * @module http/routes/audit-log
 * `GET /enterprises/{enterprise}/audit-log` (GHES): the instance's audit log, for site
 * administrators. A Wharf instance is one enterprise, so any slug names it. `phrase` takes the
 * qualifiers `services/audit.ts` documents; `order` is `desc` (newest first, the default) or
 * `asc`; `page`/`per_page` page through with a `Link` header. GitHub's cursors (`after`,
 * `before`) and `include` (web and git events) have no equivalent here: every entry is a web one.
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { parsePage } from '../../domain/page.ts';
import { ValidationError } from '../../domain/errors.ts';
import { listAuditLog, parsePhrase } from '../../services/audit.ts';
import { docsConfig } from '../errors.ts';
import { requireSiteAdmin, sendPage } from '../route-helpers.ts';
import { auditLogEvent } from '../serializers/audit-log.ts';

function parseOrder(value: unknown): 'asc' | 'desc' {
  if (value === undefined || value === 'desc') return 'desc';
  if (value === 'asc') return 'asc';
  throw new ValidationError([{ resource: 'AuditLog', field: 'order', code: 'invalid' }]);
}

export function auditLogRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Params: { enterprise: string }; Querystring: Record<string, unknown> }>(
    '/enterprises/:enterprise/audit-log',
    docsConfig('enterprise-admin/audit-log#get-the-audit-log-for-an-enterprise'),
    async (request, reply) => {
      requireSiteAdmin(request);
      const query = request.query;
      const page = parsePage(query, 30);
      const filter = parsePhrase(typeof query.phrase === 'string' ? query.phrase : undefined);
      const { entries, total } = await listAuditLog(ctx, { filter, order: parseOrder(query.order), page });
      return sendPage(request, reply, page, total, entries.map(auditLogEvent));
    },
  );
}
