/**
 * The OpenAPI 3.1 description of the API, generated from the route registry (route-registry.ts)
 * with zod's own JSON Schema conversion (z.toJSONSchema, draft 2020-12, which OpenAPI 3.1 uses):
 * nothing here is written by hand but the prose. Request schemas are converted as their input
 * (what a client sends), response schemas as their output; every schema in response-schemas.ts is
 * a named component. Built once per app and served as /openapi.json.
 */
import { z } from 'zod';
import * as R from './response-schemas.js';
import { openApiPath, type ResponseSpec, type RouteSpec } from './route-registry.js';

export const OPENAPI_VERSION = '3.1.0';
export const API_VERSION = '1'; // the contract's version: bump it when a route changes incompatibly

type JsonSchema = Record<string, unknown>;
export type OpenApiDocument = Record<string, unknown> & {
  paths: Record<string, Record<string, JsonSchema>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: JsonSchema };
};

const FIELD_NOTES: Record<string, string> = {
  where:
    'metadata filter: {field: value}, {field: {$eq|$ne|$gt|$gte|$lt|$lte: v}}, {field: {$in|$nin: [..]}}, {field: {$exists|$contains|$not: ..}}, {$and: [..]}, {$or: [..]}, {$not: filter}',
  metadata: 'a JSON object (limits: MAX_METADATA_BYTES as JSON, MAX_METADATA_DEPTH levels)',
};

export function createOpenApiDocument(routes: readonly RouteSpec[]): OpenApiDocument {
  const named = z.registry<{ id: string }>();
  const names = new Map<z.ZodType, string>();
  for (const [name, schema] of Object.entries(R)) {
    if (!(schema instanceof z.ZodType) || name === 'TextBody') continue;
    named.add(schema, { id: name });
    names.set(schema, name);
  }
  const components = z.toJSONSchema(named, {
    io: 'output',
    target: 'draft-2020-12',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }).schemas;
  const schemas: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(components)) schemas[name] = withoutDialect(schema);

  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const operations = (paths[openApiPath(route.path)] ??= {});
    operations[route.method] = operation(route, (schema) => {
      const name = names.get(schema);
      return name !== undefined ? { $ref: `#/components/schemas/${name}` } : jsonSchema(schema, 'output');
    });
  }
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: 'colmeia',
      version: API_VERSION,
      description:
        'A knowledge-base service: documents in, search by meaning, questions answered by background workers and pushed over Server-Sent Events. Errors are {"error": {"code", "message", "details?"}}.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    tags: ['collections', 'documents', 'search', 'chat', 'jobs', 'keys', 'service', 'reference'].map((name) => ({ name })),
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'one of API_KEYS (admin over every collection) or a key made by POST /keys (a role and a collection scope); while neither exists, no key is needed. Each operation says the role it needs (x-access); outside its collections a key gets 404, below the role 403.',
        },
        accessToken: {
          type: 'apiKey',
          in: 'query',
          name: 'access_token',
          description: 'the API key in the URL: event streams only (EventSource sends no headers)',
        },
      },
    },
  };
}

function operation(route: RouteSpec, responseSchema: (schema: z.ZodType) => JsonSchema): JsonSchema {
  const parameters = [
    ...parametersOf(route.params, 'path'),
    ...parametersOf(route.query, 'query'),
    ...Object.entries(route.headers ?? {}).map(([name, header]) => ({
      name,
      in: 'header',
      required: false,
      description: header.description,
      schema: jsonSchema(header.schema, 'input'),
    })),
  ];
  const content: Record<string, JsonSchema> = {};
  if (route.body) content['application/json'] = { schema: jsonSchema(route.body.schema, 'input'), example: route.body.example };
  if (route.upload) {
    const fields = jsonSchema(route.upload.fields, 'input');
    const properties = {
      [route.upload.fileField]: { type: 'string', contentMediaType: 'application/octet-stream', description: 'the file' },
      ...(fields['properties'] as JsonSchema | undefined),
    };
    content['multipart/form-data'] = { schema: { ...fields, properties, required: [route.upload.fileField], description: route.upload.description } };
  }
  const security = route.access === 'public' ? [] : route.path.endsWith('/events') ? [{ bearer: [] }, { accessToken: [] }] : undefined;
  return {
    operationId: route.operationId,
    'x-access': route.access,
    ...(route.needsAllCollections ? { 'x-needs-all-collections': true } : {}),
    tags: [route.tag],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(security ? { security } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(Object.keys(content).length > 0 ? { requestBody: { required: true, content } } : {}),
    responses: Object.fromEntries(Object.entries(route.responses).map(([status, spec]) => [status, response(spec, responseSchema)])),
  };
}

function response(spec: ResponseSpec, responseSchema: (schema: z.ZodType) => JsonSchema): JsonSchema {
  const contentType = spec.contentType ?? 'application/json';
  const schema = contentType === 'application/json' ? responseSchema(spec.schema) : { type: 'string' };
  return { description: spec.description, content: { [contentType]: { schema, ...(spec.example !== undefined ? { example: spec.example } : {}) } } };
}

/** One parameter per property of a path or query schema, converted as input (query values are strings). */
function parametersOf(schema: z.ZodObject | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const converted = jsonSchema(schema, 'input');
  const properties = (converted['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = new Set((converted['required'] ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({ name, in: where, required: where === 'path' || required.has(name), schema: property }));
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const converted = z.toJSONSchema(schema, {
    io,
    target: 'draft-2020-12',
    unrepresentable: 'any',
    override: ({ jsonSchema: json, path }) => {
      const note = FIELD_NOTES[String(path.at(-1))];
      if (note !== undefined && json.description === undefined) json.description = note;
      if (json.type === 'integer') delete json.pattern; // a query value described as the number it must spell (its meta), not the digits rule
    },
  });
  return withoutDialect(converted);
}

/** OpenAPI 3.1's dialect is the default and components are named by their key: drop $schema and $id. */
function withoutDialect(schema: JsonSchema): JsonSchema {
  const { $schema: _dialect, $id: _id, ...rest } = schema;
  return rest;
}
