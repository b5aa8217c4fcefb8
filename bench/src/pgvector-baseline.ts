/**
 * The pgvector side of `npm run bench -- --pgvector URL`: the synthetic phase's vectors, groups and
 * query vectors in a PostgreSQL with the `vector` extension, measured the way colmeia is. Rows go in
 * by multi-row INSERTs of 1,000, then the HNSW index is built (same M and efConstruction) with a
 * btree on the group, so ingest is "insert + index build" until searchable. Searches run from one
 * connection with `hnsw.ef_search` at colmeia's ef; filtered searches use pgvector's iterative scan
 * (`strict_order`), so they return k results as colmeia's do, and count the ones that came back short;
 * throughput is `connections` clients for `seconds`. Everything lives in a schema of its own, dropped after.
 */
import pg from 'pg';
import { summarize, type Summary } from './summary.js';

export interface PgvectorParams {
  url: string;
  m: number;
  efConstruction: number;
  ef: number;
  k: number;
  samples: number; // sequential searches per latency figure
  seconds: number;
  connections: number;
}

export interface PgvectorRun {
  size: number;
  version: string;
  insertMs: number;
  buildMs: number;
  docsPerSecond: number; // size ÷ (insert + build)
  search: Summary;
  throughput: number; // searches/s
  filtered: Array<{ percent: number; summary: Summary; shortAnswers: number }>;
}

const SCHEMA = 'colmeia_bench_pgvector';
const INSERT_BATCH = 1_000;

/** Whether the server at `url` can create the extension; the reason when it cannot. */
export async function pgvectorAvailability(url: string): Promise<{ version: string } | { reason: string }> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.query('CREATE EXTENSION IF NOT EXISTS vector');
    const { rows } = await client.query<{ extversion: string }>("SELECT extversion FROM pg_extension WHERE extname = 'vector'");
    return { version: rows[0]?.extversion ?? 'unknown' };
  } catch (err) {
    return { reason: `pgvector is not available there: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function measurePgvector(
  params: PgvectorParams,
  data: { vectors: readonly number[][]; groups: readonly number[]; queries: readonly number[][]; percents: readonly number[] },
): Promise<PgvectorRun> {
  const client = new pg.Client({ connectionString: params.url });
  await client.connect();
  try {
    const version = await setUp(client, data.vectors[0]?.length ?? 0);
    const started = performance.now();
    await insertRows(client, data.vectors, data.groups);
    const inserted = performance.now();
    await buildIndexes(client, params);
    const built = performance.now();
    const queries = data.queries.map(toLiteral);
    await client.query(`SET hnsw.ef_search = ${params.ef}`);
    const plain = `SELECT id FROM ${SCHEMA}.items ORDER BY embedding <=> $1 LIMIT ${params.k}`;
    await timeQueries(client, plain, queries, params.samples, () => []); // warm-up: pages into shared buffers
    const search = summarize((await timeQueries(client, plain, queries, params.samples, () => [])).ms);
    await client.query("SET hnsw.iterative_scan = 'strict_order'");
    const filteredSql = `SELECT id FROM ${SCHEMA}.items WHERE grp < $2 ORDER BY embedding <=> $1 LIMIT ${params.k}`;
    const filtered = [];
    for (const percent of data.percents) {
      const run = await timeQueries(client, filteredSql, queries, params.samples, () => [percent]);
      filtered.push({ percent, summary: summarize(run.ms), shortAnswers: run.rowCounts.filter((rows) => rows < params.k).length });
    }
    const throughput = await measureThroughput(params, plain, queries);
    const size = data.vectors.length;
    return {
      size,
      version,
      insertMs: inserted - started,
      buildMs: built - inserted,
      docsPerSecond: size / ((built - started) / 1_000),
      search,
      throughput,
      filtered,
    };
  } finally {
    await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => undefined);
    await client.end();
  }
}

async function setUp(client: pg.Client, dimension: number): Promise<string> {
  await client.query('CREATE EXTENSION IF NOT EXISTS vector');
  await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await client.query(`CREATE SCHEMA ${SCHEMA}`);
  await client.query(`CREATE TABLE ${SCHEMA}.items (id bigint PRIMARY KEY, grp integer NOT NULL, embedding vector(${dimension}) NOT NULL)`);
  const { rows } = await client.query<{ extversion: string }>("SELECT extversion FROM pg_extension WHERE extname = 'vector'");
  return rows[0]?.extversion ?? 'unknown';
}

async function insertRows(client: pg.Client, vectors: readonly number[][], groups: readonly number[]): Promise<void> {
  for (let start = 0; start < vectors.length; start += INSERT_BATCH) {
    const rows = vectors.slice(start, start + INSERT_BATCH);
    const values: unknown[] = [];
    const tuples = rows.map((vector, i) => {
      values.push(start + i, groups[start + i] ?? 0, toLiteral(vector));
      return `($${3 * i + 1}, $${3 * i + 2}, $${3 * i + 3})`;
    });
    await client.query(`INSERT INTO ${SCHEMA}.items (id, grp, embedding) VALUES ${tuples.join(', ')}`, values);
  }
}

async function buildIndexes(client: pg.Client, params: PgvectorParams): Promise<void> {
  await client.query("SET maintenance_work_mem = '1GB'"); // the graph is built in memory, as hnswlib's is
  await client.query(
    `CREATE INDEX ON ${SCHEMA}.items USING hnsw (embedding vector_cosine_ops) WITH (m = ${params.m}, ef_construction = ${params.efConstruction})`,
  );
  await client.query(`CREATE INDEX ON ${SCHEMA}.items (grp)`);
  await client.query(`ANALYZE ${SCHEMA}.items`);
}

/** Each query in turn until `samples` were sent; the client-side time and row count of each. */
async function timeQueries(
  client: pg.Client,
  sql: string,
  queries: readonly string[],
  samples: number,
  extra: () => unknown[],
): Promise<{ ms: number[]; rowCounts: number[] }> {
  const ms: number[] = [];
  const rowCounts: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    const result = await client.query(sql, [queries[i % queries.length], ...extra()]);
    ms.push(performance.now() - started);
    rowCounts.push(result.rowCount ?? 0);
  }
  return { ms, rowCounts };
}

async function measureThroughput(params: PgvectorParams, sql: string, queries: readonly string[]): Promise<number> {
  const clients = Array.from({ length: params.connections }, () => new pg.Client({ connectionString: params.url }));
  try {
    await Promise.all(clients.map(async (c) => c.connect().then(() => c.query(`SET hnsw.ef_search = ${params.ef}`))));
    let completed = 0;
    const ends = performance.now() + params.seconds * 1_000;
    await Promise.all(
      clients.map(async (c, offset) => {
        for (let i = offset; performance.now() < ends; i++) {
          await c.query(sql, [queries[i % queries.length]]);
          completed++;
        }
      }),
    );
    return completed / params.seconds;
  } finally {
    await Promise.all(clients.map(async (c) => c.end().catch(() => undefined)));
  }
}

function toLiteral(vector: readonly number[]): string {
  return `[${vector.join(',')}]`;
}
