// SANDBOX ONLY: a stand-in for Vapi's call API, kept in memory. Serves `GET /call/:id` in
// Vapi's shape (and Vapi's 401/404 bodies), each call's live-control URL
// (`POST /call/:id/control`, CONTRACT §4.2: how the service ends a call that ran out of money),
// plus endpoints under /sandbox/calls that exist only here, so tests and the sandbox can create
// calls, end them and read what was posted to their control URL. When a call's server URL is
// known, the call's `status-update` and `end-of-call-report` messages are sent there, so the whole
// running-out flow can be exercised offline.
import express, { Router, type ErrorRequestHandler } from 'express';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createWebhookSender, type WebhookSender, type WebhookTarget } from './vapi-webhooks';

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
  /** Vapi's `Monitor` (listenUrl, controlUrl). controlUrl is served by this simulator. */
  monitor: { listenUrl: string; controlUrl: string };
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
    get: (id: string) => calls.get(id),
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
    const base = options.baseUrl().replace(/\/+$/, '');
    const path = `/call/${encodeURIComponent(id)}`;
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
        // listenUrl is the shape Vapi gives (a websocket) but is not served by the simulator.
        monitor: { listenUrl: `${base.replace(/^http/, 'ws')}${path}/listen`, controlUrl: `${base}${path}/control` },
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
