/** Which function processes each queue of the table (shared/src/jobs/queue-table.ts). */
import type { PayloadOf, QueueName, ResultOf } from '../../../shared/src/jobs/queue-table.js';
import type { Services } from '../services.js';
import type { JobContext } from './job-context.js';
import { processIngest } from './ingest.js';
import { processIngestBatch } from './ingest-batch.js';
import { processRemove } from './remove.js';
import { processSearch } from './search.js';
import { processAnswer } from './answer.js';
import { processDropCollection } from './drop-collection.js';
import { processReindex } from './reindex.js';

export type Processor<N extends QueueName> = (services: Services, job: PayloadOf<N>, context: JobContext) => Promise<ResultOf<N>>;

export const PROCESSORS: { [N in QueueName]: Processor<N> } = {
  ingest: processIngest,
  'ingest-batch': processIngestBatch,
  remove: processRemove,
  search: processSearch,
  answer: processAnswer,
  'drop-collection': processDropCollection,
  reindex: processReindex,
};
