/** The example values the route registry's entries show (each passes its schema: see the registry tests). */
export const TIME = '2026-11-22T10:00:00.000Z';
export const HASH = 'a3f1c2d4e5b60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
export const exampleDocument = {
  id: 'bees',
  title: 'Bees',
  metadata: { lang: 'en' },
  status: 'ready',
  error: null,
  chunkCount: 1,
  revision: 1,
  contentHash: HASH,
  fileHash: null,
  indexedHash: HASH,
  seq: 12,
  requestId: 'b7e3c1d2-0f4a-4e55-9d8c-2a1b3c4d5e6f',
  createdAt: TIME,
  updatedAt: TIME,
};
export const exampleQuestion = {
  id: 41,
  sessionId: 's1',
  role: 'user',
  content: 'Where do bees keep nectar?',
  metadata: { type: 'question', k: 5 },
  replyTo: null,
  createdAt: TIME,
};
export const exampleAnswer = {
  id: 42,
  sessionId: 's1',
  role: 'assistant',
  replyTo: 41,
  createdAt: TIME,
  content: 'From the most relevant passages:\n\n“Honey bees store nectar in the comb.” [1]\n\nSources:\n[1] Bees',
  metadata: {
    type: 'analysis_result',
    sources: [{ documentId: 'bees', chunkId: 7, score: 0.61, title: 'Bees' }],
    jobId: 'answer:41',
    answerer: 'extractive',
    model: null,
    grounded: true,
    retrievalQuery: 'Where do bees keep nectar?',
    citations: { valid: [1], invalid: [] },
    timings: { retrieveMs: 4, generateMs: 1, totalMs: 6 },
  },
};
export const exampleAnswerSources = {
  messageId: 42,
  sessionId: 's1',
  replyTo: 41,
  createdAt: TIME,
  citations: { valid: [1], invalid: [] },
  sources: [
    {
      n: 1,
      documentId: 'bees',
      revision: 1,
      currentRevision: 2,
      chunkId: 7,
      ordinal: 0,
      span: { start: 0, end: 36 },
      score: 0.61,
      vectorScore: 0.61,
      title: 'Bees',
      quote: 'Honey bees store nectar in the comb.',
      quoteChars: 36,
    },
  ],
};
export const exampleStatus = {
  workers: [
    {
      id: 'worker-1',
      pid: 4242,
      host: 'dyno.1',
      startedAt: TIME,
      lastSeen: TIME,
      indexSize: 1,
      appliedSeq: 1,
      checkpointSeq: 0,
      embedder: 'builtin-hash-v1:384',
      status: 'ready',
      collections: {
        default: { size: 1, appliedSeq: 1, checkpointSeq: 0, lastSyncMs: 0.04 },
        handbook: { size: 12, appliedSeq: 40, checkpointSeq: 40, lastSyncMs: 0.03 },
      },
    },
  ],
  queues: [{ name: 'ingest', waiting: 0, active: 0, succeeded: 1, failed: 0, delayed: 0, newestJob: 1 }],
  documents: { pending: 0, indexing: 0, ready: 1, failed: 0 },
  latestSeq: 1,
};
export const exampleCancelledAnswer = {
  ...exampleAnswer,
  content: '',
  metadata: { type: 'analysis_error', error: { code: 'cancelled', message: 'cancelled by the client' }, jobId: 'answer:41' },
};
export const exampleRemoveJob = { job: { queue: 'remove', id: 'remove:5d0c3b7e-9a41-4f7e-8b1a-6c2d9e0f1a2b' } };
