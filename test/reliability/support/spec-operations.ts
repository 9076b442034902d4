/**
 * The releases and release-assets operations of GitHub's GHES OpenAPI description, reduced to
 * what a fuzzer needs: method, path template, path and query parameters, and the JSON body's
 * properties with their types.
 */
import { createRequire } from 'node:module';
import { ghesSpecFile } from '../../support/openapi.ts';

const require = createRequire(import.meta.url);

export interface SpecParam {
  name: string;
  in: 'path' | 'query' | 'header';
  schema: { type?: string; enum?: unknown[] };
}

export interface SpecOperation {
  id: string;
  method: string;
  template: string;
  /** Uploads go to the uploads host (`/api/uploads`), everything else to `/api/v3`. */
  host: 'api' | 'uploads';
  params: SpecParam[];
  bodyProps: Record<string, { type?: string; enum?: unknown[] }>;
  requiredBody: string[];
  rawBody: boolean;
}

interface RawOp {
  operationId: string;
  parameters?: Array<{ $ref?: string } & Partial<SpecParam>>;
  requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, { type?: string; enum?: unknown[] }>; required?: string[] } }> };
  servers?: Array<{ url: string }>;
}

export function releaseOperations(): SpecOperation[] {
  const spec = require(ghesSpecFile) as { paths: Record<string, Record<string, RawOp>>; components: { parameters: Record<string, SpecParam> } };
  const ops: SpecOperation[] = [];
  for (const [template, methods] of Object.entries(spec.paths)) {
    if (!template.startsWith('/repos/{owner}/{repo}/releases')) continue;
    for (const [method, op] of Object.entries(methods)) {
      if (!['get', 'post', 'patch', 'put', 'delete'].includes(method)) continue;
      const params = (op.parameters ?? []).map((p) => (p.$ref ? spec.components.parameters[p.$ref.split('/').pop()!]! : (p as SpecParam)));
      const content = op.requestBody?.content ?? {};
      const json = content['application/json']?.schema;
      ops.push({
        id: op.operationId,
        method: method.toUpperCase(),
        template,
        host: (op.servers ?? []).some((s) => s.url.includes('uploads')) ? 'uploads' : 'api',
        params,
        bodyProps: json?.properties ?? {},
        requiredBody: json?.required ?? [],
        rawBody: !json && Object.keys(content).length > 0,
      });
    }
  }
  return ops;
}
