// Checks a real HTTP response against api/openapi.ts: the status must be documented for the
// operation, the content type must match, and a JSON body must validate against its schema.
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Response } from 'supertest';
import { openApiDocument } from '../../api/openapi';

type Method = 'get' | 'post' | 'put' | 'delete';
interface MediaType {
  schema: Record<string, unknown>;
}
interface Operation {
  responses: Record<string, { content?: Record<string, MediaType> }>;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const compiled = new Map<string, ValidateFunction>();

function validatorFor(key: string, schema: Record<string, unknown>): ValidateFunction {
  let v = compiled.get(key);
  if (!v) {
    // Component refs (#/components/schemas/X) resolve against this root.
    v = ajv.compile({ ...schema, components: openApiDocument.components });
    compiled.set(key, v);
  }
  return v;
}

/** Every (method, path, status) checked so far, for coverage assertions. */
export const checked = new Set<string>();

/** Returns a list of problems; empty when the response conforms. */
export function conformance(method: Method, path: string, res: Response): string[] {
  const paths = openApiDocument.paths as unknown as Record<string, Partial<Record<Method, Operation>>>;
  const op = paths[path]?.[method];
  if (!op) return [`${method.toUpperCase()} ${path} is not in the document`];
  const status = String(res.status);
  const documented = op.responses[status];
  if (!documented) return [`${method.toUpperCase()} ${path} answered ${status}, which is not documented (${Object.keys(op.responses).join(', ')})`];
  checked.add(`${method} ${path} ${status}`);
  const content = documented.content;
  if (!content) return [];
  const type = String(res.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
  const media = content[type];
  if (!media) return [`${method.toUpperCase()} ${path} ${status} answered ${type}, documented ${Object.keys(content).join(', ')}`];
  if (type !== 'application/json') return [];
  const validate = validatorFor(`${method} ${path} ${status}`, media.schema);
  if (validate(res.body)) return [];
  return (validate.errors ?? []).map((e) => `${method.toUpperCase()} ${path} ${status}: body${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

/** Asserts conformance inside a test and returns the response for further checks. */
export function expectConforms(method: Method, path: string, res: Response): Response {
  expect(conformance(method, path, res)).toEqual([]);
  return res;
}
