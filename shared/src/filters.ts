/** The `where` filter with the limits of this deployment's config: parsed by the API and again by the worker. */
import type { Config } from './config.js';
import { createWhereSchema, type Where } from './db/where.js';
import { parse } from './validation.js';

export type FilterLimitsConfig = Pick<Config, 'MAX_FILTER_DEPTH' | 'MAX_FILTER_CONDITIONS' | 'MAX_IN_LIST'>;

export function whereSchema(config: FilterLimitsConfig) {
  return createWhereSchema({ maxDepth: config.MAX_FILTER_DEPTH, maxConditions: config.MAX_FILTER_CONDITIONS, maxInList: config.MAX_IN_LIST });
}

export function parseWhere(config: FilterLimitsConfig, raw: unknown): Where {
  return parse(whereSchema(config), raw, 'where');
}
