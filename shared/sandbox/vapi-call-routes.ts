// SANDBOX ONLY: a stand-in for Vapi's call API, kept in memory. Serves `GET /call/:id` in
// Vapi's shape (and Vapi's 401/404 bodies), plus control endpoints under /sandbox/calls that
// exist only here, so tests and the sandbox can create calls and end them.
import express, { Router } from 'express';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';

export interface SandboxCall {
  id: string;
  orgId: string;
  type: 'inboundPhoneCall';
  status: 'queued' | 'ringing' | 'in-progress' | 'forwarding' | 'ended';
  phoneNumberId: string | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  endedReason: string | null;
}

/** Bound on the calls one simulator keeps (oldest dropped first). */
export const SANDBOX_MAX_CALLS = 10_000;
const SANDBOX_VAPI_ORG_ID = '00000000-0000-4000-8000-00000000cafe';

export function createSandboxCallStore() {
  const calls = new Map<string, SandboxCall>();
  return {
    get: (id: string) => calls.get(id),
    put(call: SandboxCall) {
      calls.set(call.id, call);
      if (calls.size > SANDBOX_MAX_CALLS) {
        const oldest = calls.keys().next().value;
        if (oldest !== undefined) calls.delete(oldest);
      }
      return call;
    },
  };
}
export type SandboxCallStore = ReturnType<typeof createSandboxCallStore>;

const iso = z.string().refine((s) => Number.isFinite(Date.parse(s)), 'must be an ISO-8601 time');
const createBody = z.strictObject({
  id: z.string().min(1).max(200).optional(),
  phoneNumberId: z.string().min(1).max(200).optional(),
  status: z.enum(['queued', 'ringing', 'in-progress']).default('in-progress'),
  startedAt: iso.optional(),
});
const endBody = z.strictObject({
  endedAt: iso.optional(),
  endedReason: z.string().min(1).max(200).default('customer-ended-call'),
});

const notFound = { message: 'Call not found', error: 'Not Found', statusCode: 404 };

export function createVapiCallRoutes(store: SandboxCallStore = createSandboxCallStore()): Router {
  const r = Router();
  const json = express.json({ limit: 64 * 1024 });

  r.get('/call/:id', (req, res) => {
    if (!/^Bearer .+/.test(req.get('authorization') ?? '')) {
      res.status(401).json({ message: 'Invalid Key. Hot tip, you may be using the private key instead of the public key, or vice versa.', error: 'Unauthorized', statusCode: 401 });
      return;
    }
    const call = store.get(req.params.id);
    if (!call) {
      res.status(404).json(notFound);
      return;
    }
    res.json(call);
  });

  r.post('/sandbox/calls', json, (req, res) => {
    const p = createBody.safeParse(req.body ?? {});
    if (!p.success) {
      res.status(400).json({ error: 'invalid_request', message: p.error.issues[0]?.message ?? 'invalid body' });
      return;
    }
    const now = new Date().toISOString();
    const call = store.put({
      id: p.data.id ?? randomUUID(),
      orgId: SANDBOX_VAPI_ORG_ID,
      type: 'inboundPhoneCall',
      status: p.data.status,
      phoneNumberId: p.data.phoneNumberId ?? null,
      createdAt: now,
      updatedAt: now,
      startedAt: p.data.status === 'in-progress' ? (p.data.startedAt ?? now) : null,
      endedAt: null,
      endedReason: null,
    });
    res.status(201).json(call);
  });

  r.post('/sandbox/calls/:id/end', json, (req, res) => {
    const call = store.get(req.params.id);
    const p = endBody.safeParse(req.body ?? {});
    if (!call) {
      res.status(404).json(notFound);
      return;
    }
    if (!p.success) {
      res.status(400).json({ error: 'invalid_request', message: p.error.issues[0]?.message ?? 'invalid body' });
      return;
    }
    const endedAt = p.data.endedAt ?? new Date().toISOString();
    res.json(store.put({ ...call, status: 'ended', startedAt: call.startedAt ?? endedAt, endedAt, endedReason: p.data.endedReason, updatedAt: new Date().toISOString() }));
  });

  return r;
}
