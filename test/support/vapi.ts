// Helpers for the call-gate tests: Vapi webhook bodies in Vapi's shape, a number registered for
// an organisation, and a small HTTP server running the Vapi call simulator.
import { randomUUID } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import type { RequestListener } from 'node:http';
import { listenLocal } from '../../sandbox/listen';
import { createOutageRoutes, createSandboxOutage } from '../../sandbox/sandbox-outage';
import { createSandboxCallStore, createVapiCallRoutes, type SandboxCallStore } from '../../sandbox/vapi-call-routes';
import { vapiError } from '../../sandbox/vapi-simulator';
import { createWebhookSender, type WebhookSender, type WebhookTarget } from '../../sandbox/vapi-webhooks';
import type { Services } from '../../shared/process/services';
import { TEST_VAPI_SECRET } from './context';

let numberSeq = 0;

export interface TestNumber {
  orgId: string;
  vapiPhoneNumberId: string;
  e164: string;
  assistantId: string;
}

/** Registers a fresh number for the org (through the same SQL function operators use). */
export async function registerNumber(services: Services, orgId: string, assistantId = `asst-${randomUUID()}`): Promise<TestNumber> {
  numberSeq++;
  const e164 = `+1415${String(process.pid % 1000).padStart(3, '0')}${String(numberSeq).padStart(4, '0')}`;
  const vapiPhoneNumberId = `pn-${randomUUID()}`;
  const r = await services.store.registerPhoneNumber({ orgId, e164, vapiPhoneNumberId, assistantId });
  if (r.outcome !== 'registered') throw new Error(`fixture number not registered: ${r.outcome}`);
  return { orgId, vapiPhoneNumberId, e164, assistantId };
}

export function assistantRequest(num: Pick<TestNumber, 'vapiPhoneNumberId' | 'e164'>, callId = `call-${randomUUID()}`) {
  return {
    message: {
      type: 'assistant-request',
      timestamp: Date.now(),
      call: { id: callId, orgId: 'vapi-org-1', type: 'inboundPhoneCall', phoneNumberId: num.vapiPhoneNumberId, customer: { number: '+14155550100' } },
      phoneNumber: { id: num.vapiPhoneNumberId, number: num.e164 },
      customer: { number: '+14155550100' },
    },
  };
}

export function statusUpdate(callId: string, status: string, orgId?: string) {
  return {
    message: {
      type: 'status-update',
      status,
      endedReason: status === 'ended' ? 'customer-ended-call' : undefined,
      call: { id: callId, ...(orgId ? { assistantOverrides: { metadata: { orgId } } } : {}) },
    },
  };
}

export function endOfCallReport(callId: string, o: { orgId?: string; seconds: number; num?: Pick<TestNumber, 'vapiPhoneNumberId' | 'e164'> }) {
  const startedAt = new Date(Date.UTC(2026, 10, 23, 12, 0, 0));
  const endedAt = new Date(startedAt.getTime() + o.seconds * 1000);
  return {
    message: {
      type: 'end-of-call-report',
      endedReason: 'customer-ended-call',
      startedAt: startedAt.toISOString(),
      endedAt: endedAt.toISOString(),
      durationSeconds: o.seconds,
      cost: 0.12,
      costs: [{ type: 'transport', cost: 0.01 }],
      artifact: { transcript: 'AI: Hello.\nUser: Hi.', messages: [] },
      analysis: { summary: 'short call' },
      call: {
        id: callId,
        phoneNumberId: o.num?.vapiPhoneNumberId,
        ...(o.orgId ? { metadata: { orgId: o.orgId } } : {}),
      },
      phoneNumber: o.num ? { id: o.num.vapiPhoneNumberId, number: o.num.e164 } : undefined,
    },
  };
}

export const postWebhook = (app: RequestListener, body: unknown) =>
  request(app).post('/api/vapi/webhook').set('x-vapi-secret', TEST_VAPI_SECRET).set('Content-Type', 'application/json').send(JSON.stringify(body));

/** GET /call queries kept by startVapiCallSimulator (the last ones only). */
const LISTINGS_KEPT = 100;

/** The Vapi call simulator on an ephemeral port, as the sandbox would mount it (without the REST
 * API's Bearer check, so tests drive /sandbox/calls directly). `listings`: the query of each
 * GET /call it answered, oldest first, so a test can see how a client paged. POST /sandbox/outage
 * works as on the real simulator. */
export async function startVapiCallSimulator(
  options: { outboundServer?: () => WebhookTarget | undefined } = {},
): Promise<{ url: string; calls: SandboxCallStore; webhooks: WebhookSender; listings: URLSearchParams[]; close(): Promise<void> }> {
  const calls = createSandboxCallStore();
  const webhooks = createWebhookSender({ backoffMs: 20, timeoutMs: 2000 });
  let url = '';
  const app = express();
  const closers: Array<() => void> = [];
  const listings: URLSearchParams[] = [];
  // POST /sandbox/outage (CONTRACT §13), first as in the real simulator: during one, Vapi's API answers the outage.
  app.use(createOutageRoutes(createSandboxOutage(), { unavailable: vapiError, invalid: vapiError }));
  app.get('/call', (req, _res, next) => {
    listings.push(new URLSearchParams(req.originalUrl.split('?')[1] ?? ''));
    if (listings.length > LISTINGS_KEPT) listings.shift();
    next();
  });
  app.use(createVapiCallRoutes({ store: calls, webhooks, baseUrl: () => url, outboundServer: options.outboundServer, onClose: (fn) => closers.push(fn) }));
  const listening = await listenLocal(app);
  url = listening.url;
  return {
    url,
    calls,
    webhooks,
    listings,
    close: () => {
      webhooks.close();
      for (const fn of closers) fn();
      return listening.close();
    },
  };
}

/** The gate-decision counter's value for one label set. */
export async function gateCount(services: Services, outcome: string, path: string): Promise<number> {
  const m = await services.metrics.gateDecisions.get();
  return m.values.find((v) => v.labels.gate === 'call' && v.labels.outcome === outcome && v.labels.path === path)?.value ?? 0;
}
