// GET /openapi.json — the API description (api/openapi.ts). Public: it holds no secret.
import { Router } from 'express';
import { openApiDocument } from '../openapi';

export function openApiRoutes(): Router {
  const r = Router();
  r.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument);
  });
  return r;
}
