/**
 * The request bodies and query strings of the HTTP API, built from the config's limits. Bodies are
 * strict objects: an unknown key is a 400, so nobody sets status, embedding or chunk ids by mass assignment.
 */
import { z } from 'zod';
import type { Config } from '../../../shared/src/config.js';
import { Id, metadataSchema, nonBlankText, text } from '../../../shared/src/input.js';
import { createWhereSchema } from '../../../shared/src/db/where.js';
import { SearchMode } from '../../../shared/src/jobs/search.js';

export type RequestLimitsConfig = Pick<
  Config,
  | 'MAX_TEXT_CHARS'
  | 'MAX_TITLE_CHARS'
  | 'MAX_METADATA_BYTES'
  | 'MAX_METADATA_DEPTH'
  | 'MAX_QUERY_CHARS'
  | 'MAX_K'
  | 'MAX_FILTER_DEPTH'
  | 'MAX_FILTER_CONDITIONS'
  | 'MAX_IN_LIST'
  | 'MAX_PAGE_SIZE'
  | 'MAX_HASH_PAGE_SIZE'
  | 'MAX_WHERE_QUERY_CHARS'
  | 'MAX_BATCH_DOCUMENTS'
  | 'WRITE_WAIT_MAX_MS'
>;

export const DEFAULT_K = 5;

type FilterLimitsConfig = Pick<Config, 'MAX_FILTER_DEPTH' | 'MAX_FILTER_CONDITIONS' | 'MAX_IN_LIST'>;

/** The `where` filter within this deployment's limits: a client's JSON in, the parsed tree out. */
export function whereSchema(config: FilterLimitsConfig) {
  return createWhereSchema({ maxDepth: config.MAX_FILTER_DEPTH, maxConditions: config.MAX_FILTER_CONDITIONS, maxInList: config.MAX_IN_LIST }).meta(
    whereJsonSchema(config),
  );
}

type WhereSchema = ReturnType<typeof whereSchema>;

/** The filter language as JSON Schema, for the API description: what the parser (db/where.ts) accepts, one level deep. */
function whereJsonSchema(config: FilterLimitsConfig): Record<string, unknown> {
  const scalar = { type: ['string', 'number', 'boolean', 'null'] };
  const ordered = { type: ['string', 'number'] };
  const list = { type: 'array', items: scalar, maxItems: config.MAX_IN_LIST };
  const scalarOperators = { $eq: scalar, $ne: scalar, $gt: ordered, $gte: ordered, $lt: ordered, $lte: ordered, $in: list, $nin: list };
  const moreOperators = { $exists: { type: 'boolean' }, $contains: scalar };
  const notOperand = { type: 'object', minProperties: 1, additionalProperties: false, properties: { ...scalarOperators, ...moreOperators } }; // one level shown
  const operators = { ...scalarOperators, ...moreOperators, $not: notOperand };
  const clauses = { type: 'array', minItems: 1, items: { type: 'object', minProperties: 1 } };
  return {
    type: 'object',
    description: `metadata filter: {field: value}, {field: {$eq|$ne|$gt|$gte|$lt|$lte: v}}, {field: {$in|$nin: [..]}}, {field: {$exists: true|false}}, {field: {$contains: v}} (a list holding v), {field: {$not: {operators}}}, {$and: [..]}, {$or: [..]}, {$not: filter}; at most ${config.MAX_FILTER_CONDITIONS} conditions, ${config.MAX_FILTER_DEPTH} levels of $and/$or/$not`,
    propertyNames: { maxLength: 64, pattern: '^(\\$and|\\$or|\\$not|[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*)$' }, // a dot nests: no empty segment
    properties: { $and: clauses, $or: clauses, $not: { type: 'object', minProperties: 1 } },
    additionalProperties: { anyOf: [scalar, { type: 'object', minProperties: 1, additionalProperties: false, properties: operators }] },
  };
}

/** A page size in a query string, 1 to max. */
function pageSize(max: number, fallback: number) {
  return wholeNumberParam(1, max).default(fallback);
}

export function createRequestSchemas(config: RequestLimitsConfig) {
  const where = whereSchema(config);
  const k = z.number().int().min(1).max(config.MAX_K);
  const DocumentInput = z.strictObject({
    id: Id.optional(),
    text: nonBlankText(config.MAX_TEXT_CHARS),
    title: text(config.MAX_TITLE_CHARS).nullable().optional(),
    metadata: metadataSchema({ maxBytes: config.MAX_METADATA_BYTES, maxDepth: config.MAX_METADATA_DEPTH }).optional(),
  });
  const SearchRequest = searchRequestSchema(config, where, k);
  const RemoveRequest = z.strictObject({
    // {} matches every document: as a removal that is one typo away from emptying the knowledge base
    where: where
      .refine((ast) => !(ast.kind === 'and' && ast.clauses.length === 0), {
        message: 'must hold at least one condition: an empty filter would remove every document',
        params: { rule: 'empty_filter' },
      })
      .meta({ ...whereJsonSchema(config), minProperties: 1 }),
    dryRun: z.boolean().default(false),
  });
  const { DocumentListQuery, DocumentHashesQuery } = documentListQueries(config, where);
  return { DocumentInput, SearchRequest, RemoveRequest, DocumentListQuery, DocumentHashesQuery, k, ...createDataSchemas(config, DocumentInput, where) };
}
export type RequestSchemas = ReturnType<typeof createRequestSchemas>;

function searchRequestSchema(config: RequestLimitsConfig, where: WhereSchema, k: z.ZodNumber) {
  return z.strictObject({
    query: nonBlankText(config.MAX_QUERY_CHARS),
    k: k.default(DEFAULT_K),
    where: where.optional(),
    mode: SearchMode.default('hybrid').describe('hybrid (default): both sides fused by reciprocal rank; vector: by meaning; lexical: by words'),
    minScore: z
      .number()
      .min(-1)
      .max(1_000_000)
      .optional()
      .describe("drop results whose score is lower; the scale is the mode's: hybrid (0, 1], vector cosine [-1, 1], lexical engine relevance ≥ 0"),
    minSeq: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe(
        "read your writes: a write's seq; 409 index_behind if the answering index, synced, has not applied it (a seq not committed in this collection)",
      ),
  });
}

/** GET /documents's and GET /document-hashes's queries. */
function documentListQueries(config: RequestLimitsConfig, where: WhereSchema) {
  const DocumentListQuery = z.strictObject({
    where: z
      .string()
      .max(config.MAX_WHERE_QUERY_CHARS)
      .transform((raw, ctx) => {
        try {
          return JSON.parse(raw) as unknown;
        } catch {
          ctx.addIssue({ code: 'custom', message: 'must be JSON', params: { rule: 'json' } });
          return z.NEVER;
        }
      })
      .pipe(where)
      .meta({ type: 'string', maxLength: config.MAX_WHERE_QUERY_CHARS, contentMediaType: 'application/json', contentSchema: whereJsonSchema(config) })
      .optional(),
    status: z.enum(['pending', 'indexing', 'ready', 'failed']).optional(),
    limit: pageSize(config.MAX_PAGE_SIZE, 50),
    cursor: Id.optional(),
  });
  const DocumentHashesQuery = z.strictObject({
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'must be 1-128 characters: letters, digits, _ . : -')
      .optional(),
    limit: pageSize(config.MAX_HASH_PAGE_SIZE, config.MAX_HASH_PAGE_SIZE),
    cursor: Id.optional(),
  });
  return { DocumentListQuery, DocumentHashesQuery };
}

/** digits only: z.coerce would take 0x10, " 5 " and 1e2 */
function wholeNumberParam(min: number, max: number) {
  return z
    .string()
    .regex(new RegExp(`^[0-9]{1,${String(max).length}}$`), 'must be a whole number written in digits')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .meta({ type: 'integer', minimum: min, maximum: max });
}

/** Batch writes, waiting for a write to be searchable, reading chunks back, counting and metadata updates. */
function createDataSchemas<D extends z.ZodType>(config: RequestLimitsConfig, DocumentInput: D, where: ReturnType<typeof whereSchema>) {
  const DocumentBatch = z.strictObject({
    documents: z
      .array(DocumentInput)
      .min(1)
      .max(config.MAX_BATCH_DOCUMENTS)
      .describe(`1 to ${config.MAX_BATCH_DOCUMENTS} documents, each as the body of POST /documents; ids must differ`),
  });
  const WriteWaitQuery = z.strictObject({
    wait: z.enum(['true', 'false']).default('false').describe('true: answer once the change is searchable through every live worker, or its job failed'),
    timeoutMs: wholeNumberParam(1, config.WRITE_WAIT_MAX_MS)
      .optional()
      .describe(`how long to wait (default and at most ${config.WRITE_WAIT_MAX_MS} ms); then 202 with the state so far`),
  });
  const CountRequest = z.strictObject({ where: where.optional() });
  const MetadataPatch = z.strictObject({
    metadata: metadataSchema({ maxBytes: config.MAX_METADATA_BYTES, maxDepth: config.MAX_METADATA_DEPTH }).describe('replaces the whole metadata object'),
  });
  const ChunksQuery = z.strictObject({
    around: wholeNumberParam(1, 2 ** 32 - 1)
      .optional()
      .describe('a chunk id of this document: answer that chunk and its n neighbours on each side'),
    n: wholeNumberParam(0, config.MAX_PAGE_SIZE).default(2).describe('with around: neighbours on each side'),
    limit: wholeNumberParam(1, config.MAX_PAGE_SIZE).default(50).describe('without around: chunks per page'),
    after: wholeNumberParam(0, 1_000_000).optional().describe("without around: the previous page's nextAfter (an ordinal)"),
  });
  return { DocumentBatch, WriteWaitQuery, CountRequest, MetadataPatch, ChunksQuery };
}
