import { startServer } from '../support/server.ts';
import { describeGhWorkflow } from './gh-workflow.ts';

describeGhWorkflow('against Wharf serving HTTPS itself', async (ca) => {
  const server = await startServer({ env: { WHARF_TLS_CERT: ca.certFile, WHARF_TLS_KEY: ca.keyFile, WHARF_HTTP2: 'true' }, hostName: 'localhost' });
  return { server, base: server.base, close: () => server.close() };
});
