/** The route registry's entries for a collection's payload indexes (routes/payload-indexes.ts). */
import { z } from 'zod';
import { createPayloadIndexSchemas } from '../routes/payload-indexes.js';
import { TIME } from './route-examples.js';
import { errors, ok, type RegistryConfig, type RouteSpec } from './route-spec.js';

export const PayloadIndexView = z.strictObject({
  field: z.string().describe('the metadata field, as `where` names it'),
  type: z.enum(['keyword', 'number', 'bool']),
  createdAt: z.string().describe('ISO 8601 time'),
});
export const PayloadIndexList = z.strictObject({ indexes: z.array(PayloadIndexView) });

const example = { field: 'year', type: 'number', createdAt: TIME };

export function payloadIndexRoutes(config: RegistryConfig): RouteSpec[] {
  const { PayloadIndexInput, PayloadIndexParams, PayloadIndexFieldParams } = createPayloadIndexSchemas();
  return [
    {
      method: 'post',
      path: '/collections/:collection/indexes',
      operationId: 'createPayloadIndex',
      access: 'admin',
      tag: 'collections',
      summary: 'Declare a payload index on a metadata field: filters reading only declared fields are answered by the workers without SQL',
      description:
        'Every worker builds postings of the field from the chunks (its next sync, no restart) and keeps them in step with every write. ' +
        'A filter whose every condition reads a declared field is answered from them, exactly as in SQL; any other filter is resolved in SQL as before. ' +
        `At most MAX_PAYLOAD_INDEXES (${config.MAX_PAYLOAD_INDEXES}) per collection (409 beyond); the same declaration again is a 200, another type for a declared field a 409.`,
      params: PayloadIndexParams,
      body: { schema: PayloadIndexInput, example: { field: 'year', type: 'number' } },
      responses: { 201: ok('declared', PayloadIndexView, example), 200: ok('already declared so', PayloadIndexView, example), ...errors(400, 401, 404, 409) },
    },
    {
      method: 'get',
      path: '/collections/:collection/indexes',
      operationId: 'listPayloadIndexes',
      access: 'admin',
      tag: 'collections',
      summary: "A collection's payload indexes, in field order",
      params: PayloadIndexParams,
      responses: { 200: ok('the declared indexes', PayloadIndexList, { indexes: [example] }), ...errors(400, 401, 404) },
    },
    {
      method: 'delete',
      path: '/collections/:collection/indexes/:field',
      operationId: 'deletePayloadIndex',
      access: 'admin',
      tag: 'collections',
      summary: 'Drop a payload index: filters on the field are resolved in SQL again',
      params: PayloadIndexFieldParams,
      responses: { 200: ok('dropped', PayloadIndexView, example), ...errors(400, 401, 404) },
    },
  ];
}
