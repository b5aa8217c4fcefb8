/**
 * winston loggers: JSON lines in production, one readable line per event in development.
 * One logger per process, created in main.ts or startServices and passed down; children carry context.
 */
import winston from 'winston';
import type { Config } from './config.js';

export type Logger = winston.Logger;

export function createLogger(config: Pick<Config, 'NODE_ENV' | 'LOG_LEVEL'>, role: string): Logger {
  const readable = winston.format.printf(({ timestamp, level, message, ...fields }) => {
    const rest = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
    return `${String(timestamp)} ${level} ${String(message)}${rest}`;
  });
  const logger = winston.createLogger({
    level: config.LOG_LEVEL,
    defaultMeta: { role, pid: process.pid },
    format: winston.format.combine(
      winston.format.errors({ stack: true }),
      winston.format.timestamp(),
      config.NODE_ENV === 'production' ? winston.format.json() : readable,
    ),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })],
  });
  return droppingDisabledLevels(logger);
}

/**
 * winston formats every entry (timestamp, JSON) before its transports look at the level, so a
 * debug line at LOG_LEVEL=info costs as much as a written one; on a search that is two such lines
 * per job. Entries below every transport's level are dropped at the root's write, which each child
 * logger's write ends in, before any formatting.
 */
function droppingDisabledLevels(logger: Logger): Logger {
  const write = logger.write.bind(logger) as (entry: unknown, ...rest: unknown[]) => boolean;
  logger.write = ((entry: winston.LogEntry, ...rest: unknown[]) => (logger.isLevelEnabled(entry.level) ? write(entry, ...rest) : true)) as Logger['write'];
  return logger;
}

/** A plain object for a log field: name, message, code and stack, plus the cause chain. */
export function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const code = (err as { code?: unknown }).code;
  return {
    name: err.name,
    message: err.message,
    ...(code !== undefined ? { code } : {}),
    stack: err.stack,
    ...(err.cause !== undefined ? { cause: serializeError(err.cause) } : {}),
  };
}
