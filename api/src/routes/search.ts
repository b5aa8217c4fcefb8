/** POST /search: validated here, answered by a worker through a search job (the index lives there). */
import { Router } from 'express';
import { errorFromCode } from '../../../shared/src/errors.js';
import type { SearchResult } from '../../../shared/src/jobs/search.js';
import { parse } from '../../../shared/src/validation.js';
import { localsOf } from '../http/request-context.js';
import type { ApiServices } from '../services.js';

export function searchRouter(s: ApiServices): Router {
  const router = Router();
  router.post('/search', async (req, res) => {
    const input = parse(s.schemas.SearchRequest, req.body, 'search');
    const { requestId } = localsOf(res);
    const deadline = Date.now() + s.config.SEARCH_TIMEOUT_MS;
    const result = await s.searchRunner.run<SearchResult>(
      {
        query: input.query,
        k: input.k,
        mode: input.mode,
        ...(input.where !== undefined ? { where: input.where } : {}),
        ...(input.minScore !== undefined ? { minScore: input.minScore } : {}),
        requestId,
        deadline,
      },
      s.config.SEARCH_TIMEOUT_MS,
    );
    if (!result.ok) throw errorFromCode(result.code, result.message);
    res.json(result.value);
  });
  return router;
}
