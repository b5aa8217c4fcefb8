/** The release step (Procfile `release:`): migrate and exit. Web and worker also migrate at start. */
import { loadConfigOrExit } from '../config.js';
import { createLogger, serializeError } from '../logger.js';
import { openDatabase } from './connection.js';

const config = loadConfigOrExit();
const logger = createLogger(config, 'release');
try {
  const db = await openDatabase(config, logger);
  await db.destroy();
} catch (err) {
  logger.error('migration failed', { err: serializeError(err) });
  process.exitCode = 1;
}
