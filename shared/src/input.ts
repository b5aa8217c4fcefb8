/**
 * Building blocks of request and job schemas: ids, text and metadata with explicit limits. Text must
 * be storable alike on SQLite and Postgres, so NUL and lone surrogates are refused on both.
 * Metadata is checked in place and never rebuilt key by key, so "__proto__" stays plain data.
 */
import { z } from 'zod';

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
export const Id = z.string().regex(ID_PATTERN, 'must be 1-128 characters: letters, digits, _ . : - (not first)');

/** A collection id: also a directory name under DATA_DIR/index/, so lower case, digits, _ and - only. */
export const COLLECTION_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const CollectionId = z.string().regex(COLLECTION_ID_PATTERN, 'must be 1-64 characters: lower-case letters, digits, _ - (not first)');
export const DEFAULT_COLLECTION = 'default';

export function text(maxChars: number) {
  return z
    .string()
    .max(maxChars)
    .refine((value) => !value.includes('\u0000'), { message: 'must not contain NUL (\\u0000)', params: { rule: 'no_nul' } })
    .refine(isWellFormed, { message: 'must not contain lone UTF-16 surrogates', params: { rule: 'well_formed_unicode' } });
}

export function nonBlankText(maxChars: number) {
  return text(maxChars)
    .refine((value) => value.trim().length > 0, { message: 'must not be blank', params: { rule: 'not_blank' } })
    .meta({ minLength: 1, pattern: '\\S' }); // what the refinement means, for the JSON Schema (OpenAPI)
}

export type Metadata = Record<string, unknown>;

export function metadataSchema(limits: { maxBytes: number; maxDepth: number }) {
  // type: what the refinement requires first, for the JSON Schema (OpenAPI)
  return z
    .custom<Metadata>()
    .meta({ type: 'object' })
    .superRefine((value, ctx) => {
      if (!isPlainObject(value)) {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object', params: { rule: 'object' } });
        return;
      }
      const problem = findMetadataProblem(value, limits.maxDepth, 1, '');
      if (problem) {
        ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path, params: { rule: problem.rule } });
        return;
      }
      const bytes = Buffer.byteLength(JSON.stringify(value));
      if (bytes > limits.maxBytes) {
        ctx.addIssue({ code: 'custom', message: `must be at most ${limits.maxBytes} bytes as JSON (got ${bytes})`, params: { rule: 'max_bytes' } });
      }
    });
}

interface MetadataProblem {
  path: string[];
  rule: string;
  message: string;
}

function findMetadataProblem(value: unknown, maxDepth: number, depth: number, key: string): MetadataProblem | undefined {
  const at = (rule: string, message: string): MetadataProblem => ({ path: key ? [key] : [], rule, message });
  if (value === null || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : at('finite', 'numbers must be finite');
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return at('no_nul', 'must not contain NUL (\\u0000)');
    return isWellFormed(value) ? undefined : at('well_formed_unicode', 'must not contain lone UTF-16 surrogates');
  }
  if (depth > maxDepth) return at('max_depth', `must be nested at most ${maxDepth} levels deep`);
  const entries = Array.isArray(value) ? value.map((item, i) => [String(i), item] as const) : isPlainObject(value) ? Object.entries(value) : undefined;
  if (!entries) return at('json', 'must be JSON data');
  for (const [childKey, child] of entries) {
    if (childKey.includes('\u0000') || !isWellFormed(childKey)) return at('key', 'keys must be text without NUL or lone surrogates');
    const problem = findMetadataProblem(child, maxDepth, depth + 1, childKey);
    if (problem) return { ...problem, path: key ? [key, ...problem.path] : problem.path };
  }
  return undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** String.prototype.isWellFormed, spelled out for Node 20 typings: no unpaired surrogate. */
export function isWellFormed(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      return false;
    }
  }
  return true;
}
