/**
 * A `where` filter inside a job payload: the tree the API already parsed and bounded with this
 * deployment's limits (db/where.ts). The worker checks only its shape, once, with this one schema.
 */
import { z } from 'zod';
import type { WhereAst } from '../db/where.js';

const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const Path = z.array(z.string()).min(1);

export const WherePayload: z.ZodType<WhereAst> = z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.enum(['and', 'or']), clauses: z.array(WherePayload) }),
    z.strictObject({ kind: z.enum(['eq', 'ne']), path: Path, value: Scalar }),
    z.strictObject({ kind: z.enum(['gt', 'gte', 'lt', 'lte']), path: Path, value: z.union([z.string(), z.number()]) }),
    z.strictObject({ kind: z.enum(['in', 'nin']), path: Path, values: z.array(Scalar) }),
    z.strictObject({ kind: z.literal('exists'), path: Path }),
    z.strictObject({ kind: z.literal('contains'), path: Path, value: Scalar }),
    z.strictObject({ kind: z.literal('not'), clause: WherePayload }),
  ]),
);
