/**
 * @module main
 * Process entry: load configuration, build Wharf, listen; on SIGTERM/SIGINT stop accepting
 * connections and let in-flight requests finish (up to the configured grace period).
 */
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config/config.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`wharf: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const wharf = await buildApp(config);
  const address = await wharf.app.listen({ host: config.host, port: config.port });
  wharf.ctx.log.info({ address, dataDir: config.dataDir, externalUrl: config.externalUrl }, 'wharf is serving');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    wharf.ctx.log.info({ signal }, 'shutting down; waiting for in-flight requests');
    const timer = setTimeout(() => {
      wharf.ctx.log.warn('grace period over; exiting');
      process.exit(1);
    }, config.shutdownGraceMs);
    timer.unref();
    wharf.close().then(
      () => process.exit(0),
      (err: unknown) => {
        wharf.ctx.log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`wharf: failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
