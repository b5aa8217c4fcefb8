/** POST /search: validated here, answered by a worker through a search job (the index lives there). */
import { Router, type Request, type Response } from 'express';
import { errorFromCode } from '../../../shared/src/errors.js';
import type { SearchResult } from '../../../shared/src/jobs/search.js';
import { parse } from '../../../shared/src/validation.js';
import { localsOf } from '../http/request-context.js';
import { COLLECTION_PREFIXES, collectionOf } from '../http/collection-scope.js';
import type { ApiServices } from '../services.js';

export function searchRouter(s: ApiServices): Router {
  const router = Router();
  for (const prefix of COLLECTION_PREFIXES) router.post(`${prefix}/search`, async (req, res) => search(s, req, res));
  return router;
}

/** Searches one collection: the job goes to any worker, which holds every collection's index. */
async function search(s: ApiServices, req: Request, res: Response): Promise<void> {
  const collection = await collectionOf(s, req);
  const input = parse(s.schemas.SearchRequest, req.body, 'search');
  const { requestId } = localsOf(res);
  const deadline = Date.now() + s.config.SEARCH_TIMEOUT_MS;
  const result = await s.searchRunner.run<SearchResult>(
    {
      collection,
      query: input.query,
      k: input.k,
      mode: input.mode,
      ...(input.where !== undefined ? { where: input.where } : {}),
      ...(input.minScore !== undefined ? { minScore: input.minScore } : {}),
      ...(input.minSeq !== undefined ? { minSeq: input.minSeq } : {}),
      requestId,
      deadline,
    },
    s.config.SEARCH_TIMEOUT_MS,
  );
  if (!result.ok) throw errorFromCode(result.code, result.message);
  res.json(result.value);
}
