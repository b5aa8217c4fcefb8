/** parse(schema, value): zod at every edge, with errors that name the field and the rule. */
import type { z } from 'zod';
import { ValidationError, type ValidationIssue } from './errors.js';

export function parse<S extends z.ZodType>(schema: S, value: unknown, what = 'request'): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map(toIssue);
  const first = issues[0];
  const summary = first ? `${first.path || what}: ${first.message}` : 'invalid input';
  throw new ValidationError(`invalid ${what}: ${summary}`, issues);
}

function toIssue(issue: z.core.$ZodIssue): ValidationIssue {
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const base = issue.path.map(String).join('.');
  const path = keys.length === 1 ? [base, keys[0]].filter(Boolean).join('.') : base;
  const custom: unknown = issue.code === 'custom' ? issue.params?.['rule'] : undefined;
  return { path, rule: typeof custom === 'string' ? custom : issue.code, message: issue.message };
}
