/**
 * The one reader of process.env. Every setting of colmeia is declared here, validated by one zod
 * schema, and passed down from each process's main.ts. A bad environment lists every bad variable.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

const positiveInt = () => z.coerce.number().int().positive();
const nonNegativeInt = () => z.coerce.number().int().nonnegative();
const commaList = () =>
  z
    .string()
    .default('')
    .transform((raw) =>
      raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0),
    );

/** Express 'trust proxy': false, true, a hop count, or a comma list of addresses/subnets (proxy-addr names allowed). */
const trustProxy = () =>
  z
    .string()
    .default('false')
    .transform((raw, ctx): boolean | number | string[] => {
      const value = raw.trim();
      if (value === 'false') return false;
      if (value === 'true') return true;
      if (/^[0-9]{1,2}$/.test(value)) return Number(value);
      const entries = value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0);
      const bad = entries.filter((entry) => !isProxyAddress(entry));
      if (entries.length === 0 || bad.length > 0) {
        ctx.addIssue({ code: 'custom', message: `must be false, true, a hop count or a comma list of IPs/subnets (bad: ${bad.join(', ') || 'empty'})` });
        return z.NEVER;
      }
      return entries;
    });

function isProxyAddress(entry: string): boolean {
  if (entry === 'loopback' || entry === 'linklocal' || entry === 'uniquelocal') return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  if (rest.length > 0 || isIP(address) === 0) return false;
  if (prefix === undefined) return true;
  if (isIP(prefix) !== 0) return isIP(prefix) === isIP(address); // netmask form
  return /^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (isIP(address) === 4 ? 32 : 128);
}

/** The kinds of file POST /documents accepts as a multipart upload (api/src/http/extract-text.ts). */
export const UPLOAD_FILE_TYPES = ['txt', 'md', 'html', 'pdf'] as const;
export type UploadFileType = (typeof UPLOAD_FILE_TYPES)[number];
const uploadTypeList = () =>
  z
    .string()
    .transform((raw) =>
      raw
        .split(',')
        .map((item) => item.trim().toLowerCase())
        .filter((item) => item.length > 0),
    )
    .pipe(z.array(z.enum(UPLOAD_FILE_TYPES, { error: `each type must be one of ${UPLOAD_FILE_TYPES.join(', ')}` })).min(1));

const originList = () =>
  commaList().refine((origins) => origins.every((origin) => /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?$/.test(origin)), {
    message: 'must be a comma list of origins such as https://app.example.com (scheme, host, optional port; no path)',
  });

/** A character of a query string takes up to 9 bytes percent-encoded (3 UTF-8 bytes, %XX each). */
const WHERE_QUERY_BYTES_PER_CHAR = 9;
const HEADER_ROOM_BYTES = 8_192; // the rest of the request line and the other headers

export const Config = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'), // production: JSON logs, API keys required
    PORT: z.coerce.number().int().min(0).max(65535).default(3000), // web port; 0 = any free port (tests)
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
      .default('redis://127.0.0.1:6379'), // queues, pub/sub, heartbeats
    REDIS_TLS_REJECT_UNAUTHORIZED: z.stringbool().default(true), // rediss:// certificate check; Heroku Redis needs false
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// (unset means SQLite)')
      .optional(), // unset: SQLite file in DATA_DIR
    DATABASE_SSL: z.stringbool().optional(), // force TLS to Postgres on or off; default: on when the URL asks (sslmode) or DYNO is set
    SQLITE_SYNCHRONOUS: z.enum(['NORMAL', 'FULL']).default('NORMAL'), // NORMAL: a commit survives a process crash, not a power loss; FULL: fsync per commit (~4 ms each, blocking the event loop)
    SQLITE_CHECKPOINT_INTERVAL_MS: positiveInt().default(1_000), // each process checkpoints the SQLite WAL this often (PASSIVE), rather than inside the commit that crosses 4 MB
    DATA_DIR: z.string().min(1).default('./data'), // the SQLite database (durable data) and the index checkpoints (a cache); with DATABASE_URL only the cache
    DYNO: z.string().optional(), // set by Heroku-like hosts: web and worker do not share a disk, so SQLite is refused
    EMBEDDER: z.enum(['builtin', 'ollama']).default('builtin'), // builtin: feature hashing, no model
    BUILTIN_EMBED_DIM: z.coerce.number().int().min(64).max(4096).default(384), // dimension of the builtin embedder
    OLLAMA_HOST: z.url().default('http://127.0.0.1:11434'), // Ollama server for EMBEDDER=ollama or ANSWERER=ollama
    EMBED_MODEL: z.string().min(1).default('nomic-embed-text'), // Ollama embedding model
    ANSWERER: z.enum(['extractive', 'ollama']).default('extractive'), // extractive: quoted passages, no model
    CHAT_MODEL: z.string().min(1).default('llama3.2'), // Ollama chat model
    OLLAMA_TIMEOUT_MS: positiveInt().default(60_000), // one Ollama HTTP call, below the answer job timeout
    OLLAMA_MAX_CONCURRENCY: positiveInt().default(2), // model calls in flight per worker
    EMBEDDER_RETRY_MS: positiveInt().default(5_000), // a collection's embedder that could not be made (Ollama down, model missing) is tried again after this
    API_KEYS: commaList().refine((keys) => keys.every((key) => /^[\x21-\x7e]+$/.test(key)), 'keys must be visible ASCII (a Bearer token)'), // comma-separated admin keys over every collection; when set, or once a key exists in SQL (POST /keys), every route but /health needs Authorization: Bearer
    API_KEY_CACHE_MS: nonNegativeInt().max(60_000).default(0), // how long a web process trusts what it read of a key stored in SQL; 0: read it on every request (a revocation takes effect at once), N: up to N ms late
    MAX_API_KEY_COLLECTIONS: positiveInt().default(100), // collections one key stored in SQL may name (POST /keys)
    TRUST_PROXY: trustProxy(), // Express 'trust proxy': false (direct), a hop count (Heroku router: 1) or proxy subnets; true lets clients spoof X-Forwarded-For
    CORS_ORIGINS: originList(), // comma-separated browser origins allowed by CORS; unset: no CORS headers at all
    RATE_LIMIT_WINDOW_MS: positiveInt().default(60_000), // rate-limit window, shared by all web processes through Redis
    RATE_LIMIT_MAX: nonNegativeInt().optional(), // requests per window per API key (per client IP without keys), 429 above; 0 = no limit; unset: 600 with NODE_ENV=production, no limit otherwise (a local run loads thousands of files)
    MAX_SSE_STREAMS_PER_KEY: positiveInt().default(20), // open event streams per API key (per IP without keys); 429 above
    LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'), // winston level
    QUEUE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_:.-]{1,64}$/, 'letters, digits, _ : . - only')
      .default('colmeia'), // Redis key prefix of queues and channels
    HNSW_M: z.coerce.number().int().min(2).max(128).default(16), // graph degree
    HNSW_EF_CONSTRUCTION: z.coerce.number().int().min(10).max(2000).default(200), // build-time candidate list
    HNSW_EF_SEARCH: z.coerce.number().int().min(10).max(2000).default(200), // search-time candidate list (recall vs speed)
    HNSW_INITIAL_CAPACITY: positiveInt().default(10_000), // slots allocated at start; grows by doubling before it is full
    FILTER_EXACT_MAX_IDS: positiveInt().default(2_000), // filtered search scores at most this many allowed chunks exactly; more go through HNSW
    HYBRID_CANDIDATES: positiveInt().max(1_000).default(50), // hybrid search takes max(k, this) candidates from each side before fusing them
    RRF_K: positiveInt().max(1_000).default(10), // rank fusion constant: a hit ranked r on a side adds weight/(RRF_K + r) (10 measured best, see README Retrieval modes)
    HYBRID_VECTOR_WEIGHT: z.coerce.number().min(0).max(10).default(0.2), // weight of the vector side in rank fusion, the lexical side's being 1; 0.2 measured best with the builtin embedder: raise it for a semantic one
    ANSWER_MIN_SCORE: z.coerce.number().min(-1).max(1).default(0.2), // answers quote a passage only if it shares a word with the question or its vector similarity is at least this
    REWRITE_TIMEOUT_MS: positiveInt().default(10_000), // ANSWERER=ollama: time the chat model gets to make a follow-up standalone before the raw question is used
    CHECKPOINT_EVERY_OPS: positiveInt().default(5_000), // write a checkpoint after this many applied log rows
    CHECKPOINT_INTERVAL_MS: positiveInt().default(60_000), // ... or this often when anything changed
    CHUNK_SIZE: z.coerce.number().int().min(100).max(20_000).default(1_000), // characters per chunk
    CHUNK_OVERLAP: nonNegativeInt().max(5_000).default(150), // characters shared by neighbouring chunks
    EMBED_BATCH_SIZE: z.coerce.number().int().min(1).max(1_024).default(64), // chunks per embedder call
    SEARCH_TIMEOUT_MS: positiveInt().default(5_000), // POST /search answers 504 after this
    INGEST_TIMEOUT_MS: positiveInt().default(300_000), // one ingest attempt
    ANSWER_TIMEOUT_MS: positiveInt().default(180_000), // one answer attempt
    REMOVE_TIMEOUT_MS: positiveInt().default(120_000), // one removal attempt
    REINDEX_TIMEOUT_MS: positiveInt().default(3_600_000), // one attempt of a collection's reindex (a re-run resumes from its staged vectors)
    JOB_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3), // attempts of ingest, remove and answer jobs (stalls included)
    JOB_BACKOFF_MS: positiveInt().default(1_000), // first retry delay; doubles with jitter
    INGEST_CONCURRENCY: positiveInt().default(8), // ingest jobs at once per worker; their claims and commits are written together (group commit)
    REMOVE_CONCURRENCY: positiveInt().default(1), // remove jobs at once per worker
    REINDEX_CONCURRENCY: positiveInt().default(1), // reindex jobs at once per worker
    SEARCH_CONCURRENCY: positiveInt().default(8), // search jobs at once per worker (they overlap Redis and SQL waits)
    ANSWER_CONCURRENCY: positiveInt().default(4), // answer jobs at once per worker (model calls are also capped by OLLAMA_MAX_CONCURRENCY)
    STALL_INTERVAL_MS: positiveInt().default(5_000), // a job whose worker stops reporting is retried after about this
    SWEEP_INTERVAL_MS: positiveInt().default(60_000), // how often a worker looks for acknowledged jobs that Redis lost
    SWEEP_MIN_AGE_MS: nonNegativeInt().default(30_000), // ... untouched for at least this long
    LOG_COMPACT_INTERVAL_MS: positiveInt().default(300_000), // how often a worker deletes vector_log rows every live worker's checkpoint has passed
    LOG_COMPACT_BATCH: positiveInt().default(10_000), // ... at most this many rows each time
    HEARTBEAT_INTERVAL_MS: positiveInt().default(5_000), // worker heartbeat to Redis (also carries the worker's metrics)
    WATCHDOG_INTERVAL_MS: positiveInt().default(5_000), // web and worker check their Redis connections this often and reopen stuck ones
    REDIS_KEEPALIVE_MS: positiveInt().default(10_000), // TCP keepalive idle time on queue connections (a vanished peer is noticed ~10 s later)
    COLMEIA_TEST_ABORT_MARKER: z.string().min(8).optional(), // tests only: an ingest whose text contains it calls process.abort(); refused in production
    SHUTDOWN_GRACE_MS: positiveInt().default(25_000), // time active jobs and requests get after SIGTERM
    ANSWER_PROGRESS_INTERVAL_MS: positiveInt().default(5_000), // progress events while an answer is generated (keeps clients informed)
    SSE_HEARTBEAT_MS: positiveInt().max(25_000).default(15_000), // SSE comment line this often; routers drop streams silent for 55 s
    SSE_RETRY_MS: positiveInt().default(2_000), // reconnect delay SSE clients are told (`retry:`)
    IDEMPOTENCY_TTL_MS: positiveInt().default(86_400_000), // how long an Idempotency-Key and its response are kept
    BODY_LIMIT_BYTES: positiveInt().default(1_048_576), // JSON request body (413 above)
    UPLOAD_MAX_BYTES: positiveInt().default(10_485_760), // one file uploaded to POST /documents as multipart/form-data (413 above)
    UPLOAD_TYPES: z.string().default('txt,md,html,pdf').pipe(uploadTypeList()), // file kinds an upload may be (comma list of txt, md, html, pdf; 415 otherwise)
    UPLOAD_PDF_MAX_PAGES: positiveInt().default(500), // pages of an uploaded PDF (413 above); its extraction also stops once the text passes MAX_TEXT_CHARS
    UPLOAD_EXTRACT_TIMEOUT_MS: positiveInt().default(15_000), // text extraction of one PDF or HTML upload, in a worker thread (400 unreadable_file after)
    MAX_TEXT_CHARS: positiveInt().default(500_000), // document text length
    MAX_TITLE_CHARS: positiveInt().default(500), // document title length
    MAX_CHUNKS_PER_DOCUMENT: positiveInt().default(2_000), // a longer document ends failed with this reason
    MAX_METADATA_BYTES: positiveInt().default(16_384), // metadata as JSON
    MAX_METADATA_DEPTH: positiveInt().default(5), // nesting of metadata objects and arrays
    MAX_QUERY_CHARS: positiveInt().default(2_000), // search query and chat question length
    MAX_SOURCE_QUOTE_CHARS: positiveInt().max(20_000).default(4_000), // characters of each source's text kept with an answer (GET /chat/messages/:id/sources)
    MAX_K: z.coerce.number().int().min(1).max(1_000).default(100), // results per search
    MAX_FILTER_DEPTH: positiveInt().default(6), // nesting of $and/$or in where
    MAX_FILTER_CONDITIONS: positiveInt().default(64), // field conditions in one where
    MAX_IN_LIST: positiveInt().default(1_000), // values in $in/$nin
    MAX_PAYLOAD_INDEXES: positiveInt().max(100).default(16), // payload indexes one collection may declare (POST /collections/:c/indexes; each holds a value per chunk in every worker)
    MAX_PAGE_SIZE: positiveInt().default(200), // GET /documents and GET /documents/:id/chunks page size
    MAX_BATCH_DOCUMENTS: positiveInt().default(100), // documents in one POST /documents/batch (the body also stays within BODY_LIMIT_BYTES)
    WRITE_WAIT_MAX_MS: positiveInt().max(28_000).default(20_000), // longest ?wait=true of a write (and its default timeoutMs); then 202 with the state so far
    MAX_HASH_PAGE_SIZE: positiveInt().max(100_000).default(5_000), // GET /document-hashes page size (and its default): a folder sync reads the ids and hashes of a collection
    MAX_WHERE_QUERY_CHARS: positiveInt().default(4_096), // characters of a `where` filter in a query string, once decoded
    HTTP_MAX_HEADER_BYTES: positiveInt().default(65_536), // request line and headers together (431 above); must hold a MAX_WHERE_QUERY_CHARS filter of 9-byte escapes
  })
  .superRefine((config, ctx) => {
    if (config.MAX_WHERE_QUERY_CHARS * WHERE_QUERY_BYTES_PER_CHAR + HEADER_ROOM_BYTES > config.HTTP_MAX_HEADER_BYTES) {
      const needed = config.MAX_WHERE_QUERY_CHARS * WHERE_QUERY_BYTES_PER_CHAR + HEADER_ROOM_BYTES;
      ctx.addIssue({ code: 'custom', path: ['HTTP_MAX_HEADER_BYTES'], message: `must be at least ${needed} to hold a MAX_WHERE_QUERY_CHARS filter` });
    }
    if (config.CHUNK_OVERLAP >= config.CHUNK_SIZE) {
      ctx.addIssue({ code: 'custom', path: ['CHUNK_OVERLAP'], message: 'must be smaller than CHUNK_SIZE' });
    }
    if (config.NODE_ENV === 'production' && config.API_KEYS.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['API_KEYS'], message: 'required when NODE_ENV=production' });
    }
    if (config.NODE_ENV === 'production' && config.COLMEIA_TEST_ABORT_MARKER !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['COLMEIA_TEST_ABORT_MARKER'], message: 'a test-only crash switch; never set it in production' });
    }
    if (config.DYNO !== undefined && config.DATABASE_URL === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_URL'],
        message: 'required when DYNO is set: web and worker dynos do not share a disk, so SQLite cannot work; use Postgres',
      });
    }
  });
export type Config = z.infer<typeof Config>;

/** The rate limit when RATE_LIMIT_MAX is unset in production. */
export const PRODUCTION_RATE_LIMIT_MAX = 600;

/** Requests per RATE_LIMIT_WINDOW_MS per key; 0 means no limit (RATE_LIMIT_MAX=0, or unset outside production). */
export function rateLimitMaxOf(config: Pick<Config, 'RATE_LIMIT_MAX' | 'NODE_ENV'>): number {
  return config.RATE_LIMIT_MAX ?? (config.NODE_ENV === 'production' ? PRODUCTION_RATE_LIMIT_MAX : 0);
}

export class ConfigError extends Error {
  constructor(readonly report: string) {
    super(`invalid configuration:\n${report}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment (process.env by default); throws ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = Config.safeParse(input);
  if (!result.success) throw new ConfigError(z.prettifyError(result.error));
  return result.data;
}

/** For each process's main.ts: the config, or a report on stderr and exit code 1 before anything connects. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
