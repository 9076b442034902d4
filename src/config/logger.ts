/**
 * @module config/logger
 * The process's logger: JSON lines for machines (log collectors, `journalctl -o cat | jq`), or
 * pino-pretty's coloured single lines for people at a terminal. `WHARF_LOG_FORMAT=auto` (the
 * default) picks by whether stdout is a terminal. Pretty printing runs in this thread (no
 * transport worker), so lines written just before an exit are not lost.
 *
 * JSON lines to stdout are written without blocking the thread (pino's `destination`, sonic-boom):
 * a busy server writes one line per request, and a synchronous `write` for each was a tenth of
 * the cost of a remembered read (docs/performance.md#the-fast-path). Lines logged while a write
 * is under way go out together in the next. Nothing is lost on the way out: pino writes what is
 * left synchronously when the process exits, by `process.exit` (the shutdown in `main.ts`, a
 * start-up error) or an uncaught exception alike; only a process killed outright (SIGKILL) can
 * lose the lines of the write under way.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { WharfConfig } from './config.ts';

export function resolveLogFormat(format: WharfConfig['logFormat'], stdoutIsTty = Boolean(process.stdout.isTTY)): 'pretty' | 'json' {
  if (format !== 'auto') return format;
  return stdoutIsTty ? 'pretty' : 'json';
}

/** Fields the request line's message already says; pretty output leaves them out. */
/**
 * Lines waiting for stdout are held up to this many bytes: when whatever reads stdout stops
 * reading, later lines are dropped (sonic-boom's `drop`) rather than growing the heap without end
 * or, as a synchronous write would, stopping every request.
 */
const LOG_BUFFER_LIMIT_BYTES = 16 * 1024 * 1024;

const SAID_IN_MESSAGE = 'pid,hostname,method,url,status,responseTime,user,error';

export function createLogger(config: Pick<WharfConfig, 'logLevel' | 'logFormat'>, destination: NodeJS.WritableStream = process.stdout): Logger {
  if (resolveLogFormat(config.logFormat) === 'json') {
    return pino({ level: config.logLevel }, destination === process.stdout ? pino.destination({ dest: 1, sync: false, maxLength: LOG_BUFFER_LIMIT_BYTES }) : destination);
  }
  const colorize = destination === process.stdout && Boolean(process.stdout.isTTY);
  return pino({ level: config.logLevel }, pretty({ destination, colorize, singleLine: true, ignore: SAID_IN_MESSAGE, translateTime: 'SYS:HH:MM:ss.l', sync: true }));
}
