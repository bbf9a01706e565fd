// SANDBOX ONLY: a stand-in for Vapi's call API, kept in memory. Serves `GET /call/:id` in
// Vapi's shape (and Vapi's 401/404 bodies), each call's live-control URL
// (`POST /call/:id/control`, CONTRACT §4.2: how the service ends a call that ran out of money),
// plus endpoints under /sandbox/calls that exist only here, so tests and the sandbox can create
// calls, end them and read what was posted to their control URL. When a call's server URL is
// known, the call's `status-update` and `end-of-call-report` messages are sent there, so the whole
// running-out flow can be exercised offline. Outbound calls (CONTRACT §10): `POST /call` places
// one (Vapi's CreateCallDTO in, its Call out), `GET /call` lists calls by Vapi's filters, newest
// first, a page of at most `limit` (sandbox/vapi-listing.ts); the call then goes in-progress, sends
// its messages like an inbound call (with `monitor.controlUrl`), and ends by control, by
// /sandbox/calls/:id/end, or at its maxDurationSeconds. `POST /sandbox/faults/outbound` makes the
// next POST /call answers slow or 500 after the call exists (a lost answer); `POST
// /sandbox/calls/seed` gives a number a call history of chosen times (more than a page of it).
import express, { Router, type ErrorRequestHandler } from 'express';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { vapiList } from './vapi-listing';
import { createWebhookSender, type WebhookSender, type WebhookTarget } from './vapi-webhooks';

export interface SandboxCall {
  id: string;
  orgId: string;
  type: 'inboundPhoneCall' | 'outboundPhoneCall';
  status: 'queued' | 'ringing' | 'in-progress' | 'forwarding' | 'ended';
  phoneNumberId: string | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  endedReason: string | null;
  /** Vapi's `Monitor` (listenUrl, controlUrl). controlUrl is served by this simulator. */
  monitor: { listenUrl: string; controlUrl: string };
  /** Outbound calls: what POST /call was given (Vapi's Call carries them back in every message). */
  assistantId?: string;
  assistantOverrides?: Record<string, unknown>;
  customer?: { number: string };
}

/** What the next POST /call answers do (tests of a lost answer): counted down per request. */
export interface OutboundFaults {
  /** Answer this much later (ms), after the call was created: past the client's timeout, it is lost. */
  answerDelayMs: number;
  /** The next N creations answer 500 after the call was created (Vapi's answer lost). */
  failAfterCreate: number;
  /** The next N creations are refused with 400 before any call exists. */
  refuseNext: number;
}

/** One message accepted at a call's control URL, as recorded for tests and operators. */
export interface ControlRecord {
  receivedAt: string;
  /** The call's status when the message arrived (a retry after the end sees `ended`). */
  callStatus: SandboxCall['status'];
  message: ControlMessage;
}

/** Bound on the calls one simulator keeps (oldest dropped first). */
export const SANDBOX_MAX_CALLS = 10_000;
/** Bound on the control messages kept per call (oldest dropped first); the service sends two. */
export const SANDBOX_MAX_CONTROL_PER_CALL = 100;
/** Bound on all recorded control messages, in JSON characters: whole logs of the calls that
 * received messages longest ago go first. A message is at most the 64 kB body limit, so one
 * call's full log (100 of them) always fits. */
export const SANDBOX_MAX_CONTROL_CHARS = 16 * 1024 * 1024;
const SANDBOX_VAPI_ORG_ID = '00000000-0000-4000-8000-00000000cafe';

interface ControlLog {
  records: ControlRecord[];
  chars: number[];
  dropped: number;
}

export function createSandboxCallStore() {
  const calls = new Map<string, SandboxCall>();
  const outboundFaults: OutboundFaults = { answerDelayMs: 0, failAfterCreate: 0, refuseNext: 0 };
  /** Where each call's messages go; kept beside the call, not in it (GET /call must not show secrets). */
  const targets = new Map<string, WebhookTarget>();
  const logs = new Map<string, ControlLog>();
  let logChars = 0;
  const dropLog = (id: string) => {
    const log = logs.get(id);
    if (!log) return;
    logChars -= log.chars.reduce((a, b) => a + b, 0);
    logs.delete(id);
  };
  return {
    outboundFaults,
    get: (id: string) => calls.get(id),
    /** Every call kept, oldest first. */
    all: () => [...calls.values()],
    put(call: SandboxCall, target?: WebhookTarget | null) {
      calls.set(call.id, call);
      if (target !== undefined) {
        if (target) targets.set(call.id, target);
        else targets.delete(call.id);
      }
      if (calls.size > SANDBOX_MAX_CALLS) {
        const oldest = calls.keys().next().value;
        if (oldest !== undefined) {
          calls.delete(oldest);
          targets.delete(oldest);
          dropLog(oldest);
        }
      }
      return call;
    },
    target: (id: string) => targets.get(id),
    recordControl(id: string, record: ControlRecord) {
      const log = logs.get(id) ?? { records: [], chars: [], dropped: 0 };
      // Re-inserted so the Map's order is "least recently messaged first" for eviction.
      logs.delete(id);
      logs.set(id, log);
      const size = JSON.stringify(record).length;
      log.records.push(record);
      log.chars.push(size);
      logChars += size;
      while (log.records.length > SANDBOX_MAX_CONTROL_PER_CALL) {
        log.records.shift();
        logChars -= log.chars.shift() ?? 0;
        log.dropped++;
      }
      for (const other of logs.keys()) {
        if (logChars <= SANDBOX_MAX_CONTROL_CHARS || other === id) break;
        dropLog(other);
      }
    },
    controlLog(id: string): { messages: ControlRecord[]; dropped: number } {
      const log = logs.get(id);
      return { messages: log ? [...log.records] : [], dropped: log?.dropped ?? 0 };
    },
  };
}
export type SandboxCallStore = ReturnType<typeof createSandboxCallStore>;

// --- Vapi's live-call-control messages (spec: ClientInboundMessageSay / EndCall / AddMessage) ---
// Strict objects: a field the spec does not name is a typo in the caller, and a 400 here finds it
// before Vapi silently ignores it. The spec marks no field of `say` required; `content` is required
// here because a say without words is a caller bug the tests should catch.
const sayMessage = z.strictObject({
  type: z.literal('say'),
  content: z.string(),
  endCallAfterSpoken: z.boolean().optional(),
  interruptAssistantEnabled: z.boolean().optional(),
  interruptionsEnabled: z.boolean().optional(),
});
const endCallMessage = z.strictObject({ type: z.literal('end-call') });
const addMessage = z.strictObject({
  type: z.literal('add-message'),
  // OpenAIMessage: role and content both required, content nullable.
  message: z.strictObject({ role: z.enum(['assistant', 'function', 'user', 'system', 'tool']), content: z.string().nullable() }),
  triggerResponseEnabled: z.boolean().optional(),
});
// Vapi also knows `control`, `transfer` and `send-transport-message`; the simulator does not act on
// them, so they are refused (400) rather than recorded as if they had done something.
const controlMessage = z.discriminatedUnion('type', [sayMessage, endCallMessage, addMessage]);
export type ControlMessage = z.output<typeof controlMessage>;

/**
 * The endedReason a control message produces. Vapi does not document which reason live control
 * reports; from the spec's `endedReason` enum (627 values) these two fit:
 * - `say` with endCallAfterSpoken: `assistant-ended-call-after-message-spoken` (the assistant spoke
 *   a message and then hung up, which is exactly what that flag asks for);
 * - `end-call`: `assistant-ended-call` (the assistant side hung up; not `manually-canceled`, which
 *   is for calls cancelled before they ran, nor a `customer-*` reason: the caller did nothing).
 * The service should treat any `ended` as ended and not depend on the reason.
 */
export const CONTROL_ENDED_REASON = {
  say: 'assistant-ended-call-after-message-spoken',
  'end-call': 'assistant-ended-call',
} as const;

const iso = z.string().refine((s) => Number.isFinite(Date.parse(s)), 'must be an ISO-8601 time');
const httpUrl = z.url({ protocol: /^https?$/ }).max(2000);
const createBody = z.strictObject({
  id: z.string().min(1).max(200).optional(),
  phoneNumberId: z.string().min(1).max(200).optional(),
  status: z.enum(['queued', 'ringing', 'in-progress']).default('in-progress'),
  // Omitted: an in-progress call started now. null: Vapi's call object carries no startedAt (as
  // some ended calls' objects do), which GET /call keeps after the call ends.
  startedAt: iso.nullable().optional(),
  // Where this call's webhooks go when its phoneNumberId is not a number imported into this
  // simulator with a server URL (that number's server wins, as it decides for a real call).
  serverUrl: httpUrl.optional(),
  serverSecret: z.string().min(1).max(500).optional(),
});
const endBody = z.strictObject({
  endedAt: iso.optional(),
  endedReason: z.string().min(1).max(200).default('customer-ended-call'),
});

// Vapi's CreateCallDTO, the fields an outbound call from a number needs (others pass through).
const createCallBody = z.looseObject({
  assistantId: z.string().min(1).max(200),
  phoneNumberId: z.string().min(1).max(200),
  customer: z.looseObject({ number: z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'customer.number must be E.164') }),
  assistantOverrides: z
    .looseObject({ maxDurationSeconds: z.number().min(10).max(43200).optional(), metadata: z.record(z.string(), z.unknown()).optional() })
    .optional(),
});
// SANDBOX ONLY: `count` ended outbound calls of one number, the first created at `createdAt` and
// each next `stepMs` later (0: all at one time; negative: going back). Someone else's campaign as
// far as the service is concerned: no metadata of ours, no messages sent.
const seedBody = z.strictObject({
  phoneNumberId: z.string().min(1).max(200),
  assistantId: z.string().min(1).max(200).default('sandbox-seeded'),
  count: z.number().int().min(1).max(SANDBOX_MAX_CALLS),
  createdAt: iso,
  stepMs: z.number().int().min(-3_600_000).max(3_600_000),
});
/** The callee of seeded calls: a fictional US number (555-01xx). */
const SEEDED_CUSTOMER = '+12025550123';
const faultsBody = z.strictObject({
  answerDelayMs: z.number().int().min(0).max(60_000).optional(),
  failAfterCreate: z.number().int().min(0).max(1000).optional(),
  refuseNext: z.number().int().min(0).max(1000).optional(),
});
const unauthorized = { message: 'Invalid Key. Hot tip, you may be using the private key instead of the public key, or vice versa.', error: 'Unauthorized', statusCode: 401 };

const notFound = { message: 'Call not found', error: 'Not Found', statusCode: 404 };
const badRequest = (message: string) => ({ message, error: 'Bad Request', statusCode: 400 });

/** What the simulator needs of an imported number: its server, and its number for messages. */
export interface PhoneNumberLike {
  id: string;
  number: string;
  twilioAccountSid: string;
  server: { url: string; secret?: string } | null;
}

export interface VapiCallRoutesOptions {
  store?: SandboxCallStore;
  /** The simulator's own base URL (e.g. http://127.0.0.1:4020), read when a call is created:
   * the control URL points back at this simulator. A function because a simulator on port 0
   * only knows its port once it listens, after its routes are built. */
  baseUrl: () => string;
  /** The simulator's imported numbers: a call on one of them sends its messages to its server. */
  phoneNumbers?: ReadonlyMap<string, PhoneNumberLike>;
  webhooks?: WebhookSender;
  /** Registers cleanup to run when the simulator closes (stops webhook retries). */
  onClose?: (fn: () => void) => void;
  /** Where an outbound call's messages go when its number has no server here (Vapi: the account's server URL). */
  outboundServer?: () => WebhookTarget | undefined;
}

/** A call as it appears inside a webhook message: Vapi omits unset fields rather than sending null
 * (the spec's `Call` has no nullable times), so the null ones are dropped. */
function callForMessage(call: SandboxCall): Record<string, unknown> {
  return Object.fromEntries(Object.entries(call).filter(([, v]) => v !== null));
}

export function createVapiCallRoutes(options: VapiCallRoutesOptions): Router {
  const store = options.store ?? createSandboxCallStore();
  const webhooks = options.webhooks ?? createWebhookSender();
  options.onClose?.(() => webhooks.close());
  const r = Router();
  const json = express.json({ limit: 64 * 1024 });
  // Outbound calls end at their maxDurationSeconds, as Vapi cuts them.
  const timers = new Set<NodeJS.Timeout>();
  options.onClose?.(() => {
    for (const t of timers) clearTimeout(t);
  });
  const bearer = (req: express.Request) => /^Bearer .+/.test(req.get('authorization') ?? '');
  /** A call's Monitor: its control URL is served here; listenUrl has Vapi's shape (a websocket) but is not served. */
  function monitorOf(id: string): SandboxCall['monitor'] {
    const base = options.baseUrl().replace(/\/+$/, '');
    const path = `/call/${encodeURIComponent(id)}`;
    return { listenUrl: `${base.replace(/^http/, 'ws')}${path}/listen`, controlUrl: `${base}${path}/control` };
  }

  /** The number a call came in on, as Vapi's messages carry it (id and number for the tenant lookup). */
  function phoneNumberFor(call: SandboxCall) {
    const p = call.phoneNumberId === null ? undefined : options.phoneNumbers?.get(call.phoneNumberId);
    return p ? { id: p.id, provider: 'twilio', number: p.number, twilioAccountSid: p.twilioAccountSid } : undefined;
  }

  function notify(call: SandboxCall, message: Record<string, unknown>): void {
    const target = store.target(call.id);
    if (!target) return; // no server URL known: Vapi would have nowhere to send it either
    const phoneNumber = phoneNumberFor(call);
    webhooks.send(target, call.id, { message: { ...message, timestamp: Date.now(), call: callForMessage(call), ...(phoneNumber ? { phoneNumber } : {}) } });
  }

  function notifyStatus(call: SandboxCall): void {
    notify(call, { type: 'status-update', status: call.status, ...(call.status === 'ended' && call.endedReason ? { endedReason: call.endedReason } : {}) });
  }

  /** Moves a live call to ended and sends what Vapi sends: the ended status, then the report.
   * A call without a start time keeps none (it is not invented from its end): its report then
   * carries endedAt but neither startedAt nor a duration, like its call object. */
  function end(call: SandboxCall, endedAt: string, endedReason: string): SandboxCall {
    const wasLive = call.status !== 'ended';
    const startedAt = call.startedAt;
    const ended = store.put({ ...call, status: 'ended', startedAt, endedAt, endedReason, updatedAt: new Date().toISOString() });
    if (wasLive) {
      notifyStatus(ended);
      const durationMs = startedAt === null ? undefined : Math.max(0, Date.parse(endedAt) - Date.parse(startedAt));
      notify(ended, {
        type: 'end-of-call-report',
        endedReason,
        ...(startedAt === null ? {} : { startedAt }),
        endedAt,
        // Not in the spec but in real reports (reference/vapi.md); the service uses it as a fallback.
        ...(durationMs === undefined ? {} : { durationMs, durationSeconds: durationMs / 1000 }),
        cost: 0,
        costs: [],
        artifact: { messages: [], transcript: '' },
        analysis: {},
      });
    }
    return ended;
  }

  // Vapi POST /call: an outbound call from one of the account's numbers. 201 with the Call
  // (status queued); then in-progress and its messages, as for an inbound call.
  r.post('/call', json, async (req, res) => {
    if (!bearer(req)) {
      res.status(401).json(unauthorized);
      return;
    }
    const faults = store.outboundFaults;
    if (faults.refuseNext > 0) {
      faults.refuseNext--;
      res.status(400).json(badRequest('Couldn\'t Get Phone Number. (sandbox: refused on request)'));
      return;
    }
    const p = createCallBody.safeParse(req.body);
    if (!p.success) {
      const issue = p.error.issues[0];
      res.status(400).json(badRequest(issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'invalid call'));
      return;
    }
    const now = new Date().toISOString();
    const id = randomUUID();
    const numberServer = options.phoneNumbers?.get(p.data.phoneNumberId)?.server ?? null;
    const target: WebhookTarget | null = numberServer ? { url: numberServer.url, ...(numberServer.secret !== undefined ? { secret: numberServer.secret } : {}) } : (options.outboundServer?.() ?? null);
    const queued = store.put(
      {
        id,
        orgId: SANDBOX_VAPI_ORG_ID,
        type: 'outboundPhoneCall',
        status: 'queued',
        phoneNumberId: p.data.phoneNumberId,
        createdAt: now,
        updatedAt: now,
        startedAt: null,
        endedAt: null,
        endedReason: null,
        monitor: monitorOf(id),
        assistantId: p.data.assistantId,
        assistantOverrides: p.data.assistantOverrides ?? {},
        customer: { number: p.data.customer.number },
      },
      target,
    );
    const answer = { ...queued };
    // The callee picks up at once: in-progress, with its status-update (the control URL in it).
    const live = store.put({ ...queued, status: 'in-progress', startedAt: new Date().toISOString(), updatedAt: new Date().toISOString() });
    notifyStatus(live);
    const maxSeconds = p.data.assistantOverrides?.maxDurationSeconds ?? 600;
    const timer = setTimeout(() => {
      timers.delete(timer);
      const c = store.get(id);
      if (c && c.status !== 'ended') end(c, new Date().toISOString(), 'exceeded-max-duration');
    }, maxSeconds * 1000);
    timer.unref();
    timers.add(timer);
    if (faults.answerDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, faults.answerDelayMs));
    if (faults.failAfterCreate > 0) {
      faults.failAfterCreate--;
      res.status(500).json({ message: 'Internal server error (sandbox: the call was created)', error: 'Internal Server Error', statusCode: 500 });
      return;
    }
    res.status(201).json(answer);
  });

  // Vapi GET /call: calls by its filters (id, phoneNumberId, assistantId), then as every Vapi list
  // answers (sandbox/vapi-listing.ts): newest first, at most `limit`, within the createdAt bounds.
  r.get('/call', (req, res) => {
    if (!bearer(req)) {
      res.status(401).json(unauthorized);
      return;
    }
    const q = (k: string) => (typeof req.query[k] === 'string' ? req.query[k] : undefined);
    const [id, phoneNumberId, assistantId] = [q('id'), q('phoneNumberId'), q('assistantId')];
    const matching = store
      .all()
      .filter((c) => (id === undefined || c.id === id) && (phoneNumberId === undefined || c.phoneNumberId === phoneNumberId) && (assistantId === undefined || c.assistantId === assistantId));
    const listed = vapiList(matching, req.query);
    if (!listed.ok) {
      res.status(400).json(badRequest(listed.message));
      return;
    }
    res.json(listed.items);
  });

  // SANDBOX ONLY: a number's call history (see seedBody), so that a listing has pages to read.
  r.post('/sandbox/calls/seed', json, (req, res) => {
    const p = seedBody.safeParse(req.body ?? {});
    if (!p.success) {
      res.status(400).json({ error: 'invalid_request', message: p.error.issues[0]?.message ?? 'invalid body' });
      return;
    }
    const first = Date.parse(p.data.createdAt);
    const ids: string[] = [];
    for (let i = 0; i < p.data.count; i++) {
      const id = randomUUID();
      const at = new Date(first + i * p.data.stepMs);
      const createdAt = at.toISOString();
      store.put(
        {
          id,
          orgId: SANDBOX_VAPI_ORG_ID,
          type: 'outboundPhoneCall',
          status: 'ended',
          phoneNumberId: p.data.phoneNumberId,
          createdAt,
          updatedAt: createdAt,
          startedAt: createdAt,
          endedAt: new Date(at.getTime() + 30_000).toISOString(),
          endedReason: 'customer-ended-call',
          monitor: monitorOf(id),
          assistantId: p.data.assistantId,
          assistantOverrides: {},
          customer: { number: SEEDED_CUSTOMER },
        },
        null,
      );
      ids.push(id);
    }
    res.status(201).json({ ids });
  });

  // SANDBOX ONLY: the next POST /call answers (see OutboundFaults).
  r.post('/sandbox/faults/outbound', json, (req, res) => {
    const p = faultsBody.safeParse(req.body ?? {});
    if (!p.success) {
      res.status(400).json({ error: 'invalid_request', message: p.error.issues[0]?.message ?? 'invalid body' });
      return;
    }
    Object.assign(store.outboundFaults, p.data);
    res.json(store.outboundFaults);
  });

  r.get('/call/:id', (req, res) => {
    if (!bearer(req)) {
      res.status(401).json(unauthorized);
      return;
    }
    const call = store.get(req.params.id);
    if (!call) {
      res.status(404).json(notFound);
      return;
    }
    res.json(call);
  });

  // Vapi's live call control. No Bearer key: Vapi's default (monitorPlan.controlAuthenticationEnabled
  // false) makes the URL itself the credential. Answers 200 {"received":true}; Vapi documents no
  // body, and callers must treat any 2xx as done.
  r.post('/call/:id/control', json, (req, res) => {
    const call = store.get(req.params.id);
    if (!call) {
      res.status(404).json(notFound);
      return;
    }
    const p = controlMessage.safeParse(req.body);
    if (!p.success) {
      const issue = p.error.issues[0];
      res.status(400).json(badRequest(issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'invalid control message'));
      return;
    }
    const message = p.data;
    // Recorded even when the call has already ended: the service may retry, and tests count tries.
    store.recordControl(call.id, { receivedAt: new Date().toISOString(), callStatus: call.status, message });
    const hangUp = message.type === 'end-call' || (message.type === 'say' && message.endCallAfterSpoken === true);
    // The simulator speaks instantly, so a say that ends the call ends it now.
    if (hangUp && call.status !== 'ended') end(call, new Date().toISOString(), CONTROL_ENDED_REASON[message.type]);
    res.status(200).json({ received: true });
  });

  r.get('/sandbox/calls/:id/control', (req, res) => {
    const call = store.get(req.params.id);
    if (!call) {
      res.status(404).json(notFound);
      return;
    }
    res.json({ callId: call.id, status: call.status, ...store.controlLog(call.id) });
  });

  r.post('/sandbox/calls', json, (req, res) => {
    const p = createBody.safeParse(req.body ?? {});
    if (!p.success) {
      res.status(400).json({ error: 'invalid_request', message: p.error.issues[0]?.message ?? 'invalid body' });
      return;
    }
    const now = new Date().toISOString();
    const id = p.data.id ?? randomUUID();
    const numberServer = p.data.phoneNumberId === undefined ? null : (options.phoneNumbers?.get(p.data.phoneNumberId)?.server ?? null);
    const target: WebhookTarget | null = numberServer
      ? { url: numberServer.url, ...(numberServer.secret !== undefined ? { secret: numberServer.secret } : {}) }
      : p.data.serverUrl !== undefined
        ? { url: p.data.serverUrl, ...(p.data.serverSecret !== undefined ? { secret: p.data.serverSecret } : {}) }
        : null;
    const call = store.put(
      {
        id,
        orgId: SANDBOX_VAPI_ORG_ID,
        type: 'inboundPhoneCall',
        status: p.data.status,
        phoneNumberId: p.data.phoneNumberId ?? null,
        createdAt: now,
        updatedAt: now,
        startedAt: p.data.status === 'in-progress' ? (p.data.startedAt === undefined ? now : p.data.startedAt) : null,
        endedAt: null,
        endedReason: null,
        monitor: monitorOf(id),
      },
      target,
    );
    notifyStatus(call);
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
    res.json(end(call, p.data.endedAt ?? new Date().toISOString(), p.data.endedReason));
  });

  // A body that is not JSON (or too big) gets Vapi's error shape, not express's HTML page.
  const bodyErrors: ErrorRequestHandler = (err: { status?: number; message?: string }, _req, res, next) => {
    if (res.headersSent || typeof err.status !== 'number' || err.status < 400 || err.status >= 500) return next(err);
    res.status(err.status).json({ message: err.message ?? 'invalid body', error: err.status === 413 ? 'Payload Too Large' : 'Bad Request', statusCode: err.status });
  };
  r.use(bodyErrors);

  return r;
}
