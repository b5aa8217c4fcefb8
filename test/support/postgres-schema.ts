/**
 * A private Postgres schema per test, so tests sharing one database (CI has only `test`) never see
 * each other's rows: the returned URL sets search_path through the connection's `options`.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface PostgresSchema {
  url: string;
  schema: string;
  drop(): Promise<void>;
}

export async function createPostgresSchema(baseUrl: string): Promise<PostgresSchema> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  await runSql(baseUrl, `create schema ${schema}`);
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    schema,
    drop: () => runSql(baseUrl, `drop schema if exists ${schema} cascade`),
  };
}

async function runSql(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
