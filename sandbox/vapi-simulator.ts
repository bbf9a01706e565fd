// A stateful stand-in for the part of Vapi's REST API that provisioning uses: import a Twilio
// number (POST /phone-number), list (GET /phone-number), fetch and delete one. Shapes follow
// Vapi's phone-number object and its NestJS-style error body {message, error, statusCode}.
// `POST /sandbox/outage {"seconds":N,"status":503}` (sandbox-outage.ts) makes the REST API and
// every call's control URL answer that status for N seconds.
import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Response, type Router } from 'express';
import { listenLocal } from './listen';
import { delay, NO_FAULTS, rollFailure, type SandboxFaults } from './sandbox-faults';
import { createOutageRoutes, createSandboxOutage, statusName, type SandboxOutage } from './sandbox-outage';
import { vapiList } from './vapi-listing';

const BODY_LIMIT = '64kb';
/** Vapi's own organisation id for the sandbox account (not ours). */
const SANDBOX_VAPI_ORG = '00000000-0000-4000-8000-00000000a91a';

export interface VapiPhoneNumber {
  id: string;
  orgId: string;
  provider: 'twilio';
  number: string;
  name: string | null;
  assistantId: string | null;
  twilioAccountSid: string;
  server: { url: string; secret?: string } | null;
  status: 'active';
  createdAt: string;
  updatedAt: string;
}

export interface VapiSimulator {
  url: string;
  port: number;
  faults: SandboxFaults;
  /** The outage POST /sandbox/outage starts; tests may also start one here. */
  outage: SandboxOutage;
  phoneNumbers: Map<string, VapiPhoneNumber>;
  close(): Promise<void>;
}

/** What a router mounted on the simulator may know of it (see startVapiSimulator's `routers`). */
export interface VapiSimulatorContext {
  /** Where the simulator is reached, e.g. http://127.0.0.1:4020; only known once it listens. */
  baseUrl(): string;
  phoneNumbers: ReadonlyMap<string, VapiPhoneNumber>;
  /** Runs fn when the simulator closes (e.g. to stop webhook retries). */
  onClose(fn: () => void): void;
}
/** A router, or a function building one from the simulator's context (for routes that need its URL). */
export type VapiRouterSpec = Router | ((sim: VapiSimulatorContext) => Router);

/** Vapi's live-control URL takes no Bearer key (the URL is the credential), unlike the REST API. */
const CONTROL_PATH = /^\/call\/[^/]+\/control$/;

/** Vapi's error body (NestJS): {message, error: the status's reason phrase, statusCode}. */
export function vapiError(status: number, message: string) {
  return { message, error: statusName(status), statusCode: status };
}
function sendError(res: Response, status: number, message: string): void {
  res.status(status).json(vapiError(status, message));
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export interface VapiSimulatorState {
  faults: SandboxFaults;
  outage: SandboxOutage;
  phoneNumbers: Map<string, VapiPhoneNumber>;
}

export function createVapiSimulatorApp(state: VapiSimulatorState, routers: Router[] = []) {
  const app = express();
  app.disable('x-powered-by');
  // First: during an outage nothing else runs (not even the Bearer check), as behind a failing
  // load balancer; the simulator's /sandbox/ test endpoints keep answering.
  app.use(createOutageRoutes(state.outage, { unavailable: vapiError, invalid: vapiError }));
  app.use(async (req, res, next) => {
    await delay(state.faults.latencyMs);
    const control = req.method === 'POST' && CONTROL_PATH.test(req.path);
    if (!control && !/^Bearer \S+$/.test(req.get('authorization') ?? '')) return sendError(res, 401, 'Invalid Key. Hot tip, make sure you are using the private key.');
    if (rollFailure(state.faults)) return sendError(res, 503, 'Service Unavailable');
    next();
  });
  app.use(express.json({ limit: BODY_LIMIT }));

  app.post('/phone-number', (req, res) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const number = str(b.number);
    const accountSid = str(b.twilioAccountSid);
    if (b.provider !== 'twilio') return sendError(res, 400, 'provider must be one of the following values: twilio, vonage, vapi, telnyx, byo-phone-number');
    if (number === undefined || !/^\+[1-9]\d{6,14}$/.test(number)) return sendError(res, 400, 'number must be a valid phone number in the E.164 format');
    if (accountSid === undefined || str(b.twilioAuthToken) === undefined) return sendError(res, 400, 'twilioAccountSid and twilioAuthToken are required');
    if ([...state.phoneNumbers.values()].some((p) => p.number === number)) return sendError(res, 400, `Number ${number} already exists`);
    const server = b.server as { url?: unknown; secret?: unknown } | undefined;
    const now = new Date().toISOString();
    const p: VapiPhoneNumber = {
      id: randomUUID(),
      orgId: SANDBOX_VAPI_ORG,
      provider: 'twilio',
      number,
      name: str(b.name) ?? null,
      assistantId: str(b.assistantId) ?? null,
      twilioAccountSid: accountSid,
      server: server && typeof server.url === 'string' ? { url: server.url, ...(typeof server.secret === 'string' ? { secret: server.secret } : {}) } : null,
      status: 'active',
      createdAt: now,
      updatedAt: now,
    };
    state.phoneNumbers.set(p.id, p);
    res.status(201).json(p);
  });

  // Vapi's list (sandbox/vapi-listing.ts): no page token, a client pages by createdAt bounds.
  app.get('/phone-number', (req, res) => {
    const listed = vapiList(state.phoneNumbers.values(), req.query);
    if (!listed.ok) return sendError(res, 400, listed.message);
    res.json(listed.items);
  });
  app.get('/phone-number/:id', (req, res) => {
    const p = state.phoneNumbers.get(String(req.params.id));
    if (!p) return sendError(res, 404, 'Phone Number not found');
    res.json(p);
  });
  app.delete('/phone-number/:id', (req, res) => {
    const p = state.phoneNumbers.get(String(req.params.id));
    if (!p) return sendError(res, 404, 'Phone Number not found');
    state.phoneNumbers.delete(p.id);
    res.json(p);
  });

  // Further Vapi resources (e.g. GET /call/:id from sandbox/vapi-call-routes.ts) mount here.
  for (const r of routers) app.use(r);

  app.use((_req, res) => sendError(res, 404, 'Cannot find the requested resource'));
  // A body that is not JSON, or too big: Vapi's error shape rather than express's HTML page.
  const bodyErrors: ErrorRequestHandler = (err: { status?: number; message?: string }, _req, res, next) => {
    if (res.headersSent || typeof err.status !== 'number' || err.status < 400 || err.status >= 500) return next(err);
    sendError(res, err.status, err.message ?? 'invalid body');
  };
  app.use(bodyErrors);
  return app;
}

export async function startVapiSimulator(
  options: { port?: number; host?: string; faults?: Partial<SandboxFaults>; routers?: VapiRouterSpec[] } = {},
): Promise<VapiSimulator> {
  const state: VapiSimulatorState = { faults: { ...NO_FAULTS, ...options.faults }, outage: createSandboxOutage(), phoneNumbers: new Map() };
  // Set once listening; read later by routes (a holder, since routes are built before the port is known).
  const where: { baseUrl?: string } = {};
  const cleanups: Array<() => void> = [];
  const context: VapiSimulatorContext = {
    baseUrl() {
      if (where.baseUrl === undefined) throw new Error('the Vapi simulator is not listening yet');
      return where.baseUrl;
    },
    phoneNumbers: state.phoneNumbers,
    onClose: (fn) => cleanups.push(fn),
  };
  const routers = (options.routers ?? []).map((r) => (isRouterFactory(r) ? r(context) : r));
  const app = createVapiSimulatorApp(state, routers);
  const listening = await listenLocal(app, options.port ?? 0, options.host ?? '127.0.0.1');
  // A simulator bound to every interface is still reached on loopback from this machine, and the
  // service accepts loopback control URLs only in sandbox mode: advertise 127.0.0.1.
  where.baseUrl = listening.url.replace(/^http:\/\/(0\.0\.0\.0|\[::\]|::)(?=:)/, 'http://127.0.0.1');
  return {
    ...state,
    ...listening,
    async close() {
      for (const fn of cleanups.splice(0)) fn();
      await listening.close();
    },
  };
}

/** Express routers are functions too; a factory is told apart by not being one (no `use`). */
function isRouterFactory(r: VapiRouterSpec): r is (sim: VapiSimulatorContext) => Router {
  return typeof (r as Partial<Router>).use !== 'function';
}
