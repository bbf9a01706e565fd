// GET /admin/queues — Bull Board over every queue, behind operator auth (bearer ADMIN_TOKEN, or
// basic auth user "admin" for a browser). Bull Board has no auth of its own: seeing it is seeing
// Redis. Every queue is read-only: our queues move money (a purchase, a refund, a call charge) and
// the database, not the board, is the state machine; the sweepers re-drive stuck work, so a
// hand-made retry, removal or "add job" could only race them. Job data and return values are shown
// through an allowlist of id fields; anything else is redacted.
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Router } from 'express';
import type { Services } from '../../shared/process/services';
import { requireOperator } from '../middleware/operator-auth';

export const BULL_BOARD_PATH = '/admin/queues';

/** Fields our job payloads and results may carry that are safe to show: opaque ids and states. */
export const VISIBLE_JOB_FIELDS: ReadonlySet<string> = new Set(['requestId', 'callId', 'task', 'status', 'outcome', 'attempts']);
export const REDACTED = '[redacted]';
/** Limits the walk over a hostile or huge payload. */
const MAX_REDACT_DEPTH = 4;
const MAX_VISIBLE_STRING = 200;

/** Keeps allowlisted scalar fields, replaces every other value with a marker. Pure; never throws. */
export function redactJobData(data: unknown, depth = 0): unknown {
  if (data === null || data === undefined) return data;
  if (Array.isArray(data)) return depth >= MAX_REDACT_DEPTH ? REDACTED : data.map((v) => redactJobData(v, depth + 1));
  if (typeof data !== 'object') return REDACTED;
  if (depth >= MAX_REDACT_DEPTH) return REDACTED;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    const scalar = typeof value === 'number' || typeof value === 'boolean' || (typeof value === 'string' && value.length <= MAX_VISIBLE_STRING);
    if (VISIBLE_JOB_FIELDS.has(key) && scalar) out[key] = value;
    else if (value !== null && typeof value === 'object') out[key] = redactJobData(value, depth + 1);
    else out[key] = REDACTED;
  }
  return out;
}

export function bullBoardRoutes({ config, queues }: Services): Router {
  const board = new ExpressAdapter();
  board.setBasePath(BULL_BOARD_PATH);
  const adapters = queues.all().map((queue) => {
    const adapter = new BullMQAdapter(queue, { readOnlyMode: true, description: 'read-only: the database and the sweepers drive this queue' });
    adapter.setFormatter('data', (data: unknown) => redactJobData(data));
    adapter.setFormatter('returnValue', (value: unknown) => redactJobData(value));
    return adapter;
  });
  createBullBoard({ queues: adapters, serverAdapter: board, options: { uiConfig: { boardTitle: 'billing-gates' } } });
  const r = Router();
  r.use(BULL_BOARD_PATH, requireOperator(config.auth.adminToken, { allowBasic: true }), board.getRouter() as Router);
  return r;
}
