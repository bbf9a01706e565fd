// zod at the edge: every body, query and header is parsed here before a handler sees it.
import type { Request } from 'express';
import type { z } from 'zod';
import { AppError } from '../../shared/errors';

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'The request is invalid.';
  const where = issue.path.length > 0 ? issue.path.join('.') : 'body';
  return `${where}: ${issue.message}`;
}

export function parseInput<S extends z.ZodTypeAny>(schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new AppError('invalid_request', describe(r.error), { issues: r.error.issues.slice(0, 5).map((i) => ({ path: i.path.join('.'), message: i.message })) });
  return r.data;
}

export const parseBody = <S extends z.ZodTypeAny>(schema: S, req: Request) => parseInput(schema, req.body ?? {});
export const parseQuery = <S extends z.ZodTypeAny>(schema: S, req: Request) => parseInput(schema, req.query);
