import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { claimJobAttempts, saveJobOutcome } from '../src/db/jobs-repo.js';
import { DATABASE_BACKENDS, openTestDatabase, type TestDatabase } from './test-database.js';

for (const backend of DATABASE_BACKENDS) {
  describe(`claimJobAttempts (${backend})`, () => {
    let t: TestDatabase;
    before(async () => {
      t = await openTestDatabase(backend);
    });
    after(async () => t.close());

    it('counts each job once more, answers in input order whatever order the rows are locked in', async () => {
      const ref = (jobId: string) => ({ queue: 'ingest', jobId, requestId: 'r' });
      await claimJobAttempts(t.db, [ref('b')]);
      const claimed = await claimJobAttempts(t.db, [ref('c'), ref('b'), ref('a'), ref('c')]);
      assert.deepEqual(
        claimed.map((c) => c.attempt),
        [1, 2, 1, 2], // c named twice counts two attempts, in input order
      );
      assert.ok(claimed.every((c) => c.endedAs === undefined));
    });

    it('counts a first-only claim of a fresh job, and only reports one of a job that ran before', async () => {
      const ref = (jobId: string) => ({ queue: 'ingest', jobId, requestId: 'r', isFirstOnly: true });
      const [fresh] = await claimJobAttempts(t.db, [ref('first-only')]);
      assert.deepEqual(fresh, { attempt: 1, endedAs: undefined, counted: true });
      const [again] = await claimJobAttempts(t.db, [ref('first-only')]);
      assert.deepEqual(again, { attempt: 2, endedAs: undefined, counted: false }, 'ran before: reported, not counted');
      const [still] = await claimJobAttempts(t.db, [ref('first-only')]);
      assert.equal(still?.attempt, 2, 'nothing was written');
      const [counted] = await claimJobAttempts(t.db, [{ queue: 'ingest', jobId: 'first-only', requestId: 'r' }]);
      assert.deepEqual(counted, { attempt: 2, endedAs: undefined, counted: true });
    });

    it('reports a job that already ended, so a duplicate delivery is not run again', async () => {
      await saveJobOutcome(t.db, { queue: 'ingest', jobId: 'done', status: 'succeeded', attempts: 1, result: {}, requestId: 'r' });
      const [claimed] = await claimJobAttempts(t.db, [{ queue: 'ingest', jobId: 'done', requestId: 'r' }]);
      assert.equal(claimed?.endedAs, 'succeeded');
    });
  });
}
