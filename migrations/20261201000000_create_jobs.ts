/**
 * One table for what SQL knows of every job but searches: written when the job is acknowledged
 * (pending, with the payload to run it again if Redis loses it), its attempts (counted before each
 * attempt starts, so a job that crashes its worker is counted too) and, once it ends, its outcome.
 * It replaces job_outcomes and the ingest-only attempt counter on documents.
 * removal_targets holds what a removal removes, resolved when it was acknowledged (documents at
 * their revision then). document_revisions keeps the last revision of every id ever written, so a
 * document created again after a removal continues its revisions and no job id is used twice.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('jobs', (t) => {
    t.string('queue', 16).notNullable();
    t.string('job_id', 200).notNullable();
    t.string('status', 16).notNullable(); // pending | active (attempted, not ended) | succeeded | failed | cancelled
    t.integer('attempts').notNullable().defaultTo(0);
    t.jsonb('data').nullable(); // the payload, to enqueue it again
    t.jsonb('result').nullable();
    t.jsonb('error').nullable();
    t.string('request_id', 128).nullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['queue', 'job_id']);
    t.index(['status', 'updated_at']);
  });
  await knex.schema.createTable('removal_targets', (t) => {
    t.string('job_id', 200).notNullable();
    t.string('document_id', 128).notNullable();
    t.integer('revision').notNullable();
    t.primary(['job_id', 'document_id']);
  });
  await knex.schema.createTable('document_revisions', (t) => {
    t.string('document_id', 128).primary();
    t.integer('last_revision').notNullable();
  });
  await knex.raw('insert into document_revisions (document_id, last_revision) select id, revision from documents');
  await knex.raw(`insert into jobs (queue, job_id, status, attempts, result, error, request_id, updated_at)
    select queue, job_id, status, attempts, result, error, request_id, updated_at from job_outcomes`);
  // Unfinished ingests become pending jobs, with the attempts they already used.
  const payload =
    (knex.client as { dialect?: unknown }).dialect === 'postgresql'
      ? "jsonb_build_object('documentId', id, 'revision', revision, 'requestId', coalesce(request_id, 'migration'))"
      : "json_object('documentId', id, 'revision', revision, 'requestId', coalesce(request_id, 'migration'))";
  await knex.raw(`insert into jobs (queue, job_id, status, attempts, data, request_id, updated_at)
    select 'ingest', 'ingest:' || id || ':' || revision, case when attempts > 0 then 'active' else 'pending' end, attempts, ${payload}, request_id, updated_at
    from documents where status in ('pending', 'indexing')`);
  await knex.schema.dropTable('job_outcomes');
  await knex.raw('alter table documents drop column attempts');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table documents add column attempts integer not null default 0');
  await knex.schema.createTable('job_outcomes', (t) => {
    t.string('queue', 16).notNullable();
    t.string('job_id', 200).notNullable();
    t.string('status', 16).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.jsonb('result').nullable();
    t.jsonb('error').nullable();
    t.string('request_id', 128).nullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['queue', 'job_id']);
  });
  await knex.raw(
    `insert into job_outcomes select queue, job_id, status, attempts, result, error, request_id, updated_at from jobs where status not in ('pending', 'active')`,
  );
  await knex.schema.dropTable('jobs');
  await knex.schema.dropTable('removal_targets');
  await knex.schema.dropTable('document_revisions');
}
