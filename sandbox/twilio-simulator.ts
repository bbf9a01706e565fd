// A stateful stand-in for the part of Twilio's REST API (2010-04-01) that provisioning uses:
// search local numbers, buy one, list owned numbers by FriendlyName, release one. It answers with
// Twilio's envelopes, resource shapes and error bodies ({code, message, more_info, status}), so
// the real `twilio` SDK runs against it unchanged. Deterministic faults by area code (CONTRACT §6):
//   000: search answers 400 / 21452 (permanent)      999: 503 on every request naming the area
//   998: 503 on the first two purchases per name     997: first purchase per name made, answered 504
// For the reconciler's tests it can also hold a purchase past the client's timeout and land it
// later (lateLandings), offer a released number again first (reissue: Twilio recycles numbers),
// and list owned numbers page by page with Twilio's PageSize/Page/PageToken and next_page_uri.
import { randomBytes } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { listenLocal } from './listen';
import { delay, NO_FAULTS, rollFailure, type SandboxFaults } from './sandbox-faults';

const API = '/2010-04-01';
/** Numbers a search returns at most, as Twilio's default page of available numbers. */
const MAX_SEARCH_PAGE = 50;
const MAX_LIST_PAGE = 1000;
const BODY_LIMIT = '64kb';
/** Requests remembered for inspection (tests check them against Twilio's OpenAPI spec). */
const MAX_RECORDED_REQUESTS = 1000;

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, unknown>;
  form: Record<string, unknown>;
  status?: number;
  response?: unknown;
}

export interface OwnedNumber {
  sid: string;
  accountSid: string;
  phoneNumber: string;
  friendlyName: string;
  voiceUrl: string | null;
  createdAt: Date;
}

export interface TwilioSimulator {
  url: string;
  port: number;
  faults: SandboxFaults;
  /** Live numbers by sid (released ones are removed). */
  owned: Map<string, OwnedNumber>;
  /** Purchase requests received per FriendlyName (successful or not), for 998's fault. */
  purchaseRequests: Map<string, number>;
  /** Purchases that bought a number, per FriendlyName, for 997's fault. */
  purchasesMade: Map<string, number>;
  /** The most recent requests, oldest first, bounded by MAX_RECORDED_REQUESTS. */
  requests: RecordedRequest[];
  /**
   * The next `count` purchases are not answered in time: the number is reserved at once (never
   * offered, 21422 to anyone else), becomes owned and listed only after `afterMs`, and the 201 is
   * then written to whatever is left of the connection. A client with a shorter timeout sees a
   * timeout for a purchase that in fact happens later (failure mode 13, the late landing).
   */
  lateLandings: { count: number; afterMs: number };
  /** Numbers the next searches offer first, whatever the area code: a released number re-issued. */
  reissued: string[];
  close(): Promise<void>;
}

class TwilioError {
  constructor(
    readonly status: number,
    readonly code: number,
    readonly message: string,
  ) {}
}

function sendError(res: Response, e: TwilioError): void {
  res.status(e.status).json({ code: e.code, message: e.message, more_info: `https://www.twilio.com/docs/errors/${e.code}`, status: e.status });
}

const unavailable = () => new TwilioError(503, 20503, 'Service Unavailable');

function areaOf(e164: string): string | undefined {
  return /^\+1(\d{3})\d{7}$/.exec(e164)?.[1];
}

function rfc2822(d: Date): string {
  return d.toUTCString().replace('GMT', '+0000');
}

function pretty(e164: string): string {
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
  return m ? `(${m[1]}) ${m[2]}-${m[3]}` : e164;
}

function envelope(key: string, uri: string, items: unknown[], pageSize: number, page = 0, nextPageUri: string | null = null) {
  return {
    [key]: items,
    end: page * pageSize + Math.max(items.length - 1, 0),
    first_page_uri: uri,
    next_page_uri: nextPageUri,
    page,
    page_size: pageSize,
    previous_page_uri: null,
    start: page * pageSize,
    uri,
  };
}

/** The same listing's page `page`, as Twilio links it (the SDK follows next_page_uri verbatim). */
function pageUri(path: string, query: Record<string, unknown>, page: number, size: number): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (typeof v === 'string' && k !== 'Page' && k !== 'PageSize' && k !== 'PageToken') q.set(k, v);
  q.set('PageSize', String(size));
  q.set('Page', String(page));
  q.set('PageToken', `PA${page * size}`);
  return `${path}?${q.toString()}`;
}

function resource(n: OwnedNumber) {
  const at = rfc2822(n.createdAt);
  return {
    account_sid: n.accountSid,
    address_requirements: 'none',
    address_sid: null,
    api_version: '2010-04-01',
    beta: false,
    capabilities: { voice: true, sms: true, mms: true, fax: false },
    date_created: at,
    date_updated: at,
    emergency_status: 'Inactive',
    emergency_address_sid: null,
    emergency_address_status: 'unregistered',
    friendly_name: n.friendlyName,
    identity_sid: null,
    origin: 'twilio',
    phone_number: n.phoneNumber,
    sid: n.sid,
    sms_application_sid: null,
    sms_fallback_method: 'POST',
    sms_fallback_url: null,
    sms_method: 'POST',
    sms_url: null,
    status_callback: null,
    status_callback_method: 'POST',
    trunk_sid: null,
    uri: `${API}/Accounts/${n.accountSid}/IncomingPhoneNumbers/${n.sid}.json`,
    voice_application_sid: null,
    voice_caller_id_lookup: false,
    voice_fallback_method: 'POST',
    voice_fallback_url: null,
    voice_method: 'POST',
    voice_url: n.voiceUrl,
    bundle_sid: null,
    voice_receive_mode: 'voice',
    status: 'in-use',
    type: 'local',
  };
}

function available(e164: string) {
  return {
    friendly_name: pretty(e164),
    phone_number: e164,
    lata: '722',
    locality: 'Sandbox',
    rate_center: 'SANDBOX',
    latitude: 37.77,
    longitude: -122.41,
    region: 'CA',
    postal_code: '94103',
    iso_country: 'US',
    address_requirements: 'none',
    beta: false,
    capabilities: { voice: true, sms: true, mms: true },
  };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function pageSize(req: Request, max: number): number {
  const n = Number(str(req.query.PageSize) ?? 50);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, max) : 50;
}

export function createTwilioSimulatorApp(state: Omit<TwilioSimulator, 'url' | 'port' | 'close'>) {
  const app = express();
  app.disable('x-powered-by');
  /**
   * Where candidates start per area code: random per simulator start, so that a restarted
   * sandbox (whose memory is empty) does not offer the numbers an earlier run already recorded
   * as live in the database. Bought numbers are never offered again.
   */
  const firstSuffix = new Map<string, number>();
  const startOf = (code: string) => {
    let start = firstSuffix.get(code);
    if (start === undefined) {
      start = Math.floor(Math.random() * 9000);
      firstSuffix.set(code, start);
    }
    return start;
  };
  /** Numbers bought by a purchase that has not landed yet (lateLandings): taken, not yet listed. */
  const landing = new Set<string>();
  const isOwned = (e164: string) => landing.has(e164) || [...state.owned.values()].some((n) => n.phoneNumber === e164);

  app.use(async (_req, res, next) => {
    await delay(state.faults.latencyMs);
    if (rollFailure(state.faults)) return sendError(res, unavailable());
    next();
  });
  app.use(express.urlencoded({ extended: false, limit: BODY_LIMIT }));
  app.use((req, res, next) => {
    const record: RecordedRequest = { method: req.method, path: req.path, query: { ...req.query }, form: { ...((req.body as Record<string, unknown> | undefined) ?? {}) } };
    state.requests.push(record);
    if (state.requests.length > MAX_RECORDED_REQUESTS) state.requests.shift();
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      record.status = res.statusCode;
      record.response = body;
      return json(body);
    };
    next();
  });

  const account = express.Router({ mergeParams: true });
  app.use(`${API}/Accounts/:accountSid`, (req, res, next) => {
    if (!/^AC[0-9a-fA-F]{32}$/.test(String(req.params.accountSid))) return sendError(res, new TwilioError(404, 20404, 'The requested resource was not found'));
    next();
  }, account);

  account.get('/AvailablePhoneNumbers/:country/Local.json', (req, res) => {
    const raw = str(req.query.AreaCode);
    // The SDK sends the area code as a number, so "000" arrives as "0".
    const area = raw !== undefined && /^\d{1,3}$/.test(raw) ? raw.padStart(3, '0') : undefined;
    if (area === '999') return sendError(res, unavailable());
    if (area === '000') return sendError(res, new TwilioError(400, 21452, 'No phone numbers found in area code 000'));
    if (raw !== undefined && area === undefined) return sendError(res, new TwilioError(400, 21451, `Invalid area code ${raw}`));
    const size = pageSize(req, MAX_SEARCH_PAGE);
    const code = area ?? '415';
    const items: string[] = [];
    for (const e164 of state.reissued) if (items.length < size && !isOwned(e164)) items.push(e164);
    for (let suffix = startOf(code); items.length < size && suffix < 10_000; suffix++) {
      const e164 = `+1${code}555${String(suffix).padStart(4, '0')}`;
      if (!isOwned(e164) && !items.includes(e164)) items.push(e164);
    }
    res.json(envelope('available_phone_numbers', req.originalUrl, items.map(available), size));
  });

  account.get('/IncomingPhoneNumbers.json', (req, res) => {
    const name = str(req.query.FriendlyName);
    const number = str(req.query.PhoneNumber);
    const size = pageSize(req, MAX_LIST_PAGE);
    const page = Math.max(0, Math.floor(Number(str(req.query.Page) ?? 0)) || 0);
    const all = [...state.owned.values()]
      .filter((n) => n.accountSid === (req.params as { accountSid?: string }).accountSid)
      .filter((n) => name === undefined || n.friendlyName === name)
      .filter((n) => number === undefined || n.phoneNumber === number);
    const items = all.slice(page * size, (page + 1) * size).map(resource);
    const more = all.length > (page + 1) * size;
    const path = `${req.baseUrl}${req.path}`;
    res.json(envelope('incoming_phone_numbers', req.originalUrl, items, size, page, more ? pageUri(path, req.query, page + 1, size) : null));
  });

  account.post('/IncomingPhoneNumbers.json', async (req, res) => {
    const body = req.body as Record<string, unknown>;
    const phone = str(body.PhoneNumber);
    const friendlyName = str(body.FriendlyName) ?? phone ?? '';
    if (phone === undefined || !/^\+1\d{10}$/.test(phone)) {
      return sendError(res, new TwilioError(400, 21421, 'PhoneNumber is required and must be a valid E.164 number'));
    }
    if (friendlyName.length > 64) return sendError(res, new TwilioError(400, 21201, 'FriendlyName is too long'));
    const area = areaOf(phone);
    const seen = (state.purchaseRequests.get(friendlyName) ?? 0) + 1;
    state.purchaseRequests.set(friendlyName, seen);
    await delay(state.faults.purchaseLatencyMs);
    if (area === '999') return sendError(res, unavailable());
    if (area === '998' && seen <= 2) return sendError(res, unavailable());
    if (isOwned(phone)) return sendError(res, new TwilioError(400, 21422, `PhoneNumber ${phone} is not available`));
    // 997's fault is on the first purchase *made* under the name (CONTRACT §6): a purchase refused
    // with 21422 bought nothing and must not use it up. Counting it made concurrent 997 requests
    // that lost a candidate to each other complete on attempt 1 (test/provisioning/area-997-races).
    const made = (state.purchasesMade.get(friendlyName) ?? 0) + 1;
    state.purchasesMade.set(friendlyName, made);
    // In place: the test holds this same array (the simulator object copies state's fields).
    const offered = state.reissued.indexOf(phone);
    if (offered >= 0) state.reissued.splice(offered, 1);
    const late = state.lateLandings.count > 0 ? state.lateLandings.afterMs : 0;
    if (late > 0) {
      state.lateLandings.count--;
      landing.add(phone);
      await delay(late);
      landing.delete(phone);
    }
    const n: OwnedNumber = {
      sid: `PN${randomBytes(16).toString('hex')}`,
      accountSid: String((req.params as { accountSid?: string }).accountSid),
      phoneNumber: phone,
      friendlyName,
      voiceUrl: str(body.VoiceUrl) ?? null,
      createdAt: new Date(),
    };
    state.owned.set(n.sid, n);
    if (area === '997' && made === 1) return sendError(res, new TwilioError(504, 20504, 'Gateway Timeout'));
    res.status(201).json(resource(n));
  });

  const bySid = (file: unknown) => /^(PN[0-9a-fA-F]{32})\.json$/.exec(String(file))?.[1];
  account.get('/IncomingPhoneNumbers/:file', (req, res) => {
    const n = state.owned.get(bySid(req.params.file) ?? '');
    if (!n) return sendError(res, new TwilioError(404, 20404, 'The requested resource was not found'));
    res.json(resource(n));
  });
  account.delete('/IncomingPhoneNumbers/:file', (req, res) => {
    const sid = bySid(req.params.file) ?? '';
    if (!state.owned.delete(sid)) return sendError(res, new TwilioError(404, 20404, 'The requested resource was not found'));
    res.status(204).end();
  });

  app.use((_req, res) => sendError(res, new TwilioError(404, 20404, 'The requested resource was not found')));
  return app;
}

export async function startTwilioSimulator(options: { port?: number; host?: string; faults?: Partial<SandboxFaults> } = {}): Promise<TwilioSimulator> {
  const state = {
    faults: { ...NO_FAULTS, ...options.faults },
    owned: new Map<string, OwnedNumber>(),
    purchaseRequests: new Map<string, number>(),
    purchasesMade: new Map<string, number>(),
    requests: [] as RecordedRequest[],
    lateLandings: { count: 0, afterMs: 0 },
    reissued: [] as string[],
  };
  const app = createTwilioSimulatorApp(state);
  return { ...state, ...(await listenLocal(app, options.port ?? 0, options.host ?? '127.0.0.1')) };
}
