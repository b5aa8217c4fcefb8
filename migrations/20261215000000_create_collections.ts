/**
 * Collections (DESIGN.md §13): a `collections` table, and every row that belongs to a knowledge
 * base carries its collection. Document ids are unique within a collection: documents are keyed
 * (collection_id, id), and chunks, document_revisions, removal_targets, chat_sessions and
 * vector_log name their collection. Everything that exists becomes collection `default`.
 * How far the change log of a collection was compacted moves from log_compaction (one row) to
 * collections.compacted_seq, since each collection's index syncs and checkpoints on its own.
 * SQLite cannot change a primary key in place: documents, chunks and document_revisions are copied
 * into new tables (chunk ids kept, so the HNSW labels and the FTS5 rowids stay valid).
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';

const DEFAULT = 'default';

export async function up(knex: Knex): Promise<void> {
  const isPostgres = (knex.client as { dialect?: unknown }).dialect === 'postgresql';
  await knex.schema.createTable('collections', (t) => {
    t.string('id', 64).primary();
    t.string('uid', 36).notNullable(); // this incarnation: a collection deleted and created again is another one
    t.text('title').nullable();
    t.string('embedder', 200).notNullable(); // builtin | ollama: what the collection was created for
    t.jsonb('metadata').notNullable();
    t.string('status', 16).notNullable(); // active | deleting
    t.bigInteger('compacted_seq').notNullable().defaultTo(0); // its vector_log rows up to here were compacted
    t.bigInteger('created_at').notNullable();
  });
  const meta = (await knex('index_meta').select('embedder').where({ id: 1 }).first()) as { embedder: string } | undefined;
  const compaction = (await knex('log_compaction').select('through_seq').where({ id: 1 }).first()) as { through_seq: number | string } | undefined;
  await knex('collections').insert({
    id: DEFAULT,
    uid: randomUUID(),
    title: 'Default collection',
    embedder: meta?.embedder.startsWith('ollama') ? 'ollama' : 'builtin',
    metadata: '{}',
    status: 'active',
    compacted_seq: Number(compaction?.through_seq ?? 0),
    created_at: Date.now(),
  });
  await knex.schema.dropTable('log_compaction');

  for (const table of ['vector_log', 'removal_targets', 'chat_sessions']) {
    await knex.schema.alterTable(table, (t) => {
      t.string('collection_id', 64).notNullable().defaultTo(DEFAULT);
    });
  }
  await knex.schema.alterTable('vector_log', (t) => t.index(['collection_id', 'seq']));
  await knex.schema.alterTable('chat_sessions', (t) => t.index(['collection_id', 'created_at']));
  if (isPostgres) await rekeyPostgres(knex);
  else await rekeySqlite(knex);
}

async function rekeyPostgres(knex: Knex): Promise<void> {
  for (const table of ['documents', 'chunks', 'document_revisions']) {
    await knex.raw(`alter table ${table} add column collection_id varchar(64) not null default '${DEFAULT}'`);
  }
  await knex.raw('alter table chunks drop constraint chunks_document_id_foreign');
  await knex.raw('alter table chunks drop constraint chunks_document_id_ordinal_unique');
  await knex.raw('alter table documents drop constraint documents_pkey');
  await knex.raw('alter table documents add primary key (collection_id, id)');
  await knex.raw('alter table documents add constraint documents_collection_id_foreign foreign key (collection_id) references collections(id)');
  await knex.raw('alter table chunks add constraint chunks_document_foreign foreign key (collection_id, document_id) references documents(collection_id, id)');
  await knex.raw('alter table chunks add constraint chunks_document_ordinal_unique unique (collection_id, document_id, ordinal)');
  await knex.raw('create index chunks_collection_id_id_index on chunks (collection_id, id)');
  await knex.raw('alter table document_revisions drop constraint document_revisions_pkey');
  await knex.raw('alter table document_revisions add primary key (collection_id, document_id)');
}

async function rekeySqlite(knex: Knex): Promise<void> {
  await knex.raw(`create table documents_new (
    collection_id varchar(64) not null default '${DEFAULT}' references collections(id),
    id varchar(128) not null, title text null, metadata json not null, content text not null,
    content_hash varchar(64) not null, indexed_hash varchar(64) null, revision integer not null default 1,
    status varchar(16) not null, error text null, chunk_count integer not null default 0,
    request_id varchar(128) null, created_at bigint not null, updated_at bigint not null,
    primary key (collection_id, id))`);
  await knex.raw(`insert into documents_new (collection_id, id, title, metadata, content, content_hash, indexed_hash, revision, status, error,
    chunk_count, request_id, created_at, updated_at)
    select '${DEFAULT}', id, title, metadata, content, content_hash, indexed_hash, revision, status, error, chunk_count, request_id, created_at, updated_at
    from documents`);
  await knex.raw(`create table chunks_new (
    id integer not null primary key autoincrement,
    collection_id varchar(64) not null default '${DEFAULT}',
    document_id varchar(128) not null, ordinal integer not null, text text not null, metadata json not null, embedding blob not null,
    foreign key (collection_id, document_id) references documents_new(collection_id, id),
    unique (collection_id, document_id, ordinal))`);
  await knex.raw(`insert into chunks_new (id, collection_id, document_id, ordinal, text, metadata, embedding)
    select id, '${DEFAULT}', document_id, ordinal, text, metadata, embedding from chunks`);
  const sequence: Array<{ seq: number }> = await knex.raw("select seq from sqlite_sequence where name = 'chunks'");
  await knex.raw('drop table chunks');
  await knex.raw('drop table documents');
  await knex.raw('alter table documents_new rename to documents');
  await knex.raw('alter table chunks_new rename to chunks');
  // chunk ids are never used twice (they are HNSW labels and old log rows name them): keep the high-water mark
  if (sequence[0]) await knex.raw("update sqlite_sequence set seq = max(seq, ?) where name = 'chunks'", [sequence[0].seq]);
  await knex.raw('create index documents_collection_status_updated_at_index on documents (collection_id, status, updated_at)');
  await knex.raw('create index chunks_collection_id_id_index on chunks (collection_id, id)');
  await knex.raw(`create table document_revisions_new (collection_id varchar(64) not null default '${DEFAULT}', document_id varchar(128) not null,
    last_revision integer not null, primary key (collection_id, document_id))`);
  await knex.raw(
    `insert into document_revisions_new (collection_id, document_id, last_revision) select '${DEFAULT}', document_id, last_revision from document_revisions`,
  );
  await knex.raw('drop table document_revisions');
  await knex.raw('alter table document_revisions_new rename to document_revisions');
}

export async function down(): Promise<void> {
  // Documents of several collections may share an id: there is no faithful way back to one namespace.
  throw new Error('20261215000000_create_collections cannot be rolled back; restore a backup taken before it');
}
