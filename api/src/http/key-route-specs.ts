/** The route registry's entries for API keys stored in SQL (routes/keys.ts). */
import { createKeySchemas } from '../routes/keys.js';
import { TIME } from './route-examples.js';
import * as R from './response-schemas.js';
import { errors, ok, type RegistryConfig, type RouteSpec } from './route-spec.js';

const exampleKey = {
  id: 'key_5f0c9a3e1b7d2c4e6a8f0b1d',
  name: 'handbook reader',
  role: 'read',
  collections: ['handbook'],
  createdAt: TIME,
  revokedAt: null,
  lastUsedAt: null,
};

export function keyRoutes(config: RegistryConfig): RouteSpec[] {
  const { KeyInput, KeyParams } = createKeySchemas(config);
  return [
    {
      method: 'post',
      path: '/keys',
      operationId: 'createKey',
      tag: 'keys',
      access: 'admin',
      summary: 'Create an API key with a role and a collection scope; its secret is shown once',
      description:
        'role: read (search, chat, every GET), write (also document writes and removals), admin (also collections and keys). collections: ["*"] for every collection, else existing collection ids. An admin key over some collections creates keys within them only.',
      body: { schema: KeyInput, example: { name: 'handbook reader', role: 'read', collections: ['default'] } },
      responses: {
        201: ok('created', R.ApiKeyCreated, { key: exampleKey, secret: 'colmeia_3q2-7wEe1yQ0yV3sYt3uHc8m0bq3mV1nJk4aXx9Zr2o' }),
        ...errors(400, 401, 404),
      },
    },
    {
      method: 'get',
      path: '/keys',
      operationId: 'listKeys',
      tag: 'keys',
      access: 'admin',
      summary: 'The API keys stored in SQL (never their secrets), revoked ones included; env API_KEYS are not listed',
      responses: { 200: ok('oldest first', R.ApiKeyList, { keys: [exampleKey] }), ...errors(401) },
    },
    {
      method: 'delete',
      path: '/keys/:id',
      operationId: 'revokeKey',
      tag: 'keys',
      access: 'admin',
      summary: 'Revoke an API key: from now on it is a 401 on every web process',
      params: KeyParams,
      responses: { 200: ok('revoked', R.ApiKeyView, { ...exampleKey, revokedAt: TIME }), ...errors(400, 401, 404) },
    },
  ];
}
