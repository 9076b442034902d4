import { startNginx } from '../support/nginx.ts';
import { startServer } from '../support/server.ts';
import { TOOLS } from '../support/tools.ts';
import { describeGhWorkflow } from './gh-workflow.ts';

describeGhWorkflow(
  'behind nginx terminating TLS (Wharf on plain HTTP)',
  async (ca) => {
    const server = await startServer({ env: { WHARF_TRUST_PROXY: 'true' } });
    const proxy = await startNginx(ca, Number(new URL(server.base).port));
    return {
      server,
      base: proxy.base,
      async close() {
        await proxy.close();
        await server.close();
      },
    };
  },
  [TOOLS.nginx],
);
