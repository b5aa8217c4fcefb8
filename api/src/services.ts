/** What the web process holds: no index, no embedder; a database, queues, Redis and job runners. */
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { Config } from '../../shared/src/config.js';
import type { Logger } from '../../shared/src/logger.js';
import type { Queues } from '../../shared/src/queue/queues.js';
import type { Events } from '../../shared/src/events.js';
import type { SearchJob } from '../../shared/src/jobs/search.js';
import type { RequestSchemas } from '../../shared/src/request-schemas.js';
import type { JobRunner } from './http/run-job.js';
import type { SseRegistry } from './http/sse.js';

export interface ApiServices {
  config: Config;
  logger: Logger;
  db: Knex;
  redis: Redis;
  queues: Queues;
  events: Events; // publishes questions and cancels; one subscriber fans session events out to SSE streams
  sse: SseRegistry; // open SSE streams, ended on SIGTERM
  searchRunner: JobRunner<SearchJob>;
  schemas: RequestSchemas;
}
