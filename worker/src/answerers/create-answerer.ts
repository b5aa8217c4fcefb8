/**
 * Picks the answerer named by config.ANSWERER, so startServices has one call to make and tests choose
 * the answerer through config alone. Pass the same concurrency limit as the embedder so
 * OLLAMA_MAX_CONCURRENCY bounds every model call of the process, not each part's separately.
 */
import type { Config } from '../../../shared/src/config.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { Answerer } from './answerer.js';
import { createExtractiveAnswerer } from './extractive.js';
import { createOllamaAnswerer, type OllamaAnswererConfig, type OllamaAnswererOptions } from './ollama.js';

export type AnswererConfig = Pick<Config, 'ANSWERER'> & OllamaAnswererConfig;

export function createAnswerer(config: AnswererConfig, logger: Logger, options: OllamaAnswererOptions = {}): Answerer {
  switch (config.ANSWERER) {
    case 'ollama':
      return createOllamaAnswerer(config, logger, options);
    case 'extractive':
      return createExtractiveAnswerer();
  }
}
