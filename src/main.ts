/**
 * @module main
 * Process entry: load and check the configuration, build Wharf, listen; on SIGTERM/SIGINT stop
 * accepting connections and let in-flight requests finish (up to the configured grace period).
 *
 * A setting that is invalid or unusable ends the process with exit code 2 and one line naming
 * it. The checks that need no database run before the application is loaded, so such failures
 * are reported within a second.
 */
import { ConfigError, loadConfig, type WharfConfig } from './config/config.ts';
import { checkDirectories, checkPort, listenError, loadTlsFiles } from './config/preflight.ts';
import { describeStore } from './config/describe.ts';
import { WHARF_VERSION } from './version.ts';

function exitOnConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`wharf: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

async function main(): Promise<void> {
  // Everything Wharf writes (database, blobs, repositories, temporary files, git's own files) is
  // private to its user, whatever umask the service manager passed down.
  process.umask(0o077);
  let config: WharfConfig;
  try {
    config = loadConfig();
    checkDirectories(config);
    if (config.tls) loadTlsFiles(config.tls);
    await checkPort(config);
  } catch (err) {
    exitOnConfigError(err);
  }
  const { buildApp } = await import('./app.ts');
  const wharf = await buildApp(config).catch(exitOnConfigError);
  const address = await wharf.app.listen({ host: config.host, port: config.port }).catch((err: unknown) => {
    exitOnConfigError(listenError(config, err));
  });
  wharf.ctx.log.info(
    {
      version: WHARF_VERSION,
      address,
      externalUrl: config.externalUrl,
      tls: config.tls ? (config.tls.http2 ? 'on (HTTP/2 and HTTP/1.1)' : 'on') : 'off',
      ...describeStore(config),
    },
    'wharf is serving',
  );

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
  process.stderr.write(`wharf: failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
