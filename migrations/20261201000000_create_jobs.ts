/**
 * One table for what SQL knows of every job: its attempts (counted before each attempt starts, so
 * a job that crashes its worker is counted too) and, once it ends, its outcome. It replaces
 * job_outcomes and the ingest-only attempt counter on documents.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('jobs', (t) => {
    t.string('queue', 16).notNullable();
    t.string('job_id', 200).notNullable();
    t.string('status', 16).notNullable(); // active (attempted, not ended) | succeeded | failed | cancelled
    t.integer('attempts').notNullable().defaultTo(0);
    t.jsonb('result').nullable();
    t.jsonb('error').nullable();
    t.string('request_id', 128).nullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['queue', 'job_id']);
  });
  await knex.raw(`insert into jobs (queue, job_id, status, attempts, result, error, request_id, updated_at)
    select queue, job_id, status, attempts, result, error, request_id, updated_at from job_outcomes`);
  // Unfinished ingests keep the attempts they already used.
  await knex.raw(`insert into jobs (queue, job_id, status, attempts, request_id, updated_at)
    select 'ingest', 'ingest:' || id || ':' || revision, 'active', attempts, request_id, updated_at from documents
    where status in ('pending', 'indexing') and attempts > 0`);
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
  await knex.raw(`insert into job_outcomes select queue, job_id, status, attempts, result, error, request_id, updated_at from jobs where status <> 'active'`);
  await knex.schema.dropTable('jobs');
}
