// SANDBOX ONLY: a timed outage of one simulator (CONTRACT §13). `POST /sandbox/outage
// {"seconds":N,"status":503}` makes every other request to that simulator, for N seconds, get that
// status and an error body in the third party's own shape (each simulator passes its shape);
// `seconds: 0` ends the outage at once. The simulator's own test endpoints (paths under
// /sandbox/, e.g. ending a call as its caller, reading what a control URL received) are not part
// of the third party and keep answering, so a test can act and look during the outage. An outage
// is one window per simulator: a new POST replaces it.
import { STATUS_CODES } from 'node:http';
import express, { Router, type ErrorRequestHandler } from 'express';
import { z } from 'zod';

export const OUTAGE_PATH = '/sandbox/outage';
/** The longest outage one POST may ask for (s): a forgotten outage ends within the hour. */
export const OUTAGE_MAX_SECONDS = 3600;
/** The simulators' own test endpoints, which an outage leaves alone. */
const TEST_ENDPOINTS = '/sandbox/';

const outageBody = z.strictObject({
  seconds: z.number().int().min(0).max(OUTAGE_MAX_SECONDS),
  // An outage is the third party failing: a 5xx. Absent, Vapi's and Stripe's usual 503.
  status: z.number().int().min(500).max(599).default(503),
});

export interface OutageWindow {
  status: number;
  /** When the outage ends (ms since the epoch). */
  untilMs: number;
  /** How long it still lasts (ms), at the moment it was read. */
  remainingMs: number;
}

export interface SandboxOutage {
  /** The outage in force now, if any. */
  current(): OutageWindow | undefined;
  /** Starts (or replaces) the outage; 0 seconds ends it. Returns the window now in force. */
  start(seconds: number, status: number): OutageWindow | undefined;
}

export function createSandboxOutage(clock: () => number = Date.now): SandboxOutage {
  let window: { status: number; untilMs: number } | undefined;
  const current = (): OutageWindow | undefined => {
    const now = clock();
    if (window !== undefined && now >= window.untilMs) window = undefined;
    return window === undefined ? undefined : { ...window, remainingMs: window.untilMs - now };
  };
  return {
    current,
    start(seconds, status) {
      window = seconds === 0 ? undefined : { status, untilMs: clock() + seconds * 1000 };
      return current();
    },
  };
}

/** How one simulator words its errors: the third party's own JSON shapes. */
export interface OutageErrorShapes {
  /** The body of a request refused because of the outage. */
  unavailable(status: number, message: string): unknown;
  /** The body of a 4xx for a POST /sandbox/outage the simulator cannot take (400; 413 too big). */
  invalid(status: number, message: string): unknown;
}

/** The reason phrase of an HTTP status (503 → "Service Unavailable"). */
export const statusName = (status: number): string => STATUS_CODES[status] ?? 'Error';

/**
 * Mount first on the simulator's app: POST /sandbox/outage, then the gate that refuses requests
 * while an outage lasts (before authentication and before any body is read, as a load balancer
 * in front of the real API would).
 */
export function createOutageRoutes(outage: SandboxOutage, shapes: OutageErrorShapes): Router {
  const r = Router();
  r.post(OUTAGE_PATH, express.json({ limit: '4kb' }), (req, res) => {
    const p = outageBody.safeParse(req.body);
    if (!p.success) {
      const issue = p.error.issues[0];
      res.status(400).json(shapes.invalid(400, issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'invalid body'));
      return;
    }
    const window = outage.start(p.data.seconds, p.data.status);
    res.json({ outage: window === undefined ? null : { status: window.status, until: new Date(window.untilMs).toISOString() } });
  });
  r.use((req, res, next) => {
    const window = outage.current();
    if (window === undefined || req.path.startsWith(TEST_ENDPOINTS)) return next();
    const seconds = Math.ceil(window.remainingMs / 1000);
    // No Retry-After: neither Stripe nor Vapi sends one, and SDKs that honour it (stripe-node
    // waits up to 60 s) would sleep through the outage instead of meeting it.
    res
      .status(window.status)
      .json(shapes.unavailable(window.status, `${statusName(window.status)}: the simulator is in an outage (POST ${OUTAGE_PATH}) for ${seconds} more second(s).`));
  });
  // A body that is not JSON (or too big) for POST /sandbox/outage: the simulator's shape too.
  const bodyErrors: ErrorRequestHandler = (err: { status?: number; message?: string }, _req, res, next) => {
    if (res.headersSent || typeof err.status !== 'number' || err.status < 400 || err.status >= 500) return next(err);
    res.status(err.status).json(shapes.invalid(err.status, err.message ?? 'invalid body'));
  };
  r.use(bodyErrors);
  return r;
}
