// POST /api/vapi/webhook — Vapi's server URL. Authenticates (401 otherwise), then answers 200
// to EVERY message, whatever its shape: a non-2xx makes Vapi fail the call with a technical
// error (failure mode 16). Dispatch by message.type; assistant-request is the call gate.
// Mounted before the app's JSON parser: the raw body is read by vapiAuthenticator (HMAC needs the
// bytes), once per request, shared with the failed-authentication limiter in front. Requests that
// carry the shared secret usually never reach this router: api/webhook-fast-lane.ts answers them
// before express runs, with the same dispatcher (webhookDispatcher).
import type { ServerResponse } from 'node:http';
import { Router, type Request, type Response } from 'express';
import type { CallGate, GateDecision } from '../../shared/calls/call-gate';
import { REFUSAL_MESSAGES } from '../../shared/calls/call-gate';
import { endedCall, learnControlUrl, recordEndOfCallReport, type CallReportDeps } from '../../shared/calls/call-reports';
import type { CallServices } from '../../shared/calls/call-services';
import { gateRequestOf, keyedByOurCallId, vapiEnvelope, type GateRequest, type VapiMessage } from '../../shared/calls/vapi-messages';
import type { Services } from '../../shared/process/services';
import { vapiAuthenticator } from '../middleware/vapi-auth';

const RECEIVED = { received: true } as const;

/**
 * Every webhook answer, written as res.json would (the same status, Content-Type and body) minus
 * the ETag: express hashes every body it sends to make one, and an answer to a POST is never
 * revalidated. Plain node: the fast lane's responses are not express responses.
 */
export function sendJson(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

function answerFor(decision: GateDecision) {
  if (decision.kind === 'refused') return { error: decision.message };
  return {
    assistantId: decision.assistantId,
    assistantOverrides: { maxDurationSeconds: decision.maxDurationSeconds, metadata: { orgId: decision.orgId } },
  };
}

export interface VapiWebhookDeps {
  services: Services;
  gate: CallGate;
  reports: CallReportDeps;
  admitted: CallServices['admitted'];
}

export function webhookDeps(services: Services): VapiWebhookDeps {
  return { services, gate: services.calls.gate, reports: services.calls.reports, admitted: services.calls.admitted };
}

export interface WebhookDispatcher {
  /** Answers one authenticated webhook request from its raw body (200 whatever it holds). */
  dispatch(body: Buffer, res: ServerResponse): Promise<void>;
  /** An authenticated request whose body could not be read (too large, aborted): still 200. */
  unreadable(err: Error | undefined, res: ServerResponse): void;
}

export function vapiWebhookRoutes(deps: VapiWebhookDeps): Router {
  const dispatcher = webhookDispatcher(deps);
  const { config } = deps.services;
  const authenticate = vapiAuthenticator(
    { secret: config.auth.vapiWebhookSecret, hmacSecret: config.auth.vapiWebhookHmacSecret, maxSkewSeconds: config.auth.vapiWebhookMaxSkewSeconds },
    config.callGate.webhookBodyBytes,
  );
  const r = Router();

  r.post('/webhook', async (req: Request, res: Response) => {
    // Usually already decided by the limiter in front (the same verdict, the body read once).
    const caller = await authenticate(req, res);
    if (caller.by === undefined) {
      res.status(401).json({ error: 'unauthorized', message: 'Vapi webhook credentials are required.' });
      return;
    }
    if (caller.body === undefined) return dispatcher.unreadable(caller.bodyError, res);
    await dispatcher.dispatch(caller.body, res);
  });
  return r;
}

/** The webhook's answers, by message type: shared by the express route and the fast lane. */
export function webhookDispatcher({ services, gate, reports, admitted }: VapiWebhookDeps): WebhookDispatcher {
  const { log } = services;

  function unreadable(err: Error | undefined, res: ServerResponse): void {
    // An unreadable or oversized body with the secret: Vapi still needs its 200.
    log.warn({ err: err?.message }, 'vapi webhook: unreadable body');
    sendJson(res, 200, RECEIVED);
  }

  async function dispatch(body: Buffer, res: ServerResponse): Promise<void> {
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      json = undefined;
    }
    // Parsed once. An assistant-request (the hot path) reads only its three fields; every other
    // message, and one that carries a control URL, goes through the full zod schema.
    const gateRequest = gateRequestOf(json);
    if (gateRequest !== undefined) {
      try {
        return await assistantRequest(gateRequest, res);
      } catch (err) {
        return unexpected('assistant-request', gateRequest.callId, err, res);
      }
    }
    let message: VapiMessage | undefined;
    if (json !== undefined) {
      const parsed = vapiEnvelope.safeParse(json);
      if (parsed.success) message = keyedByOurCallId(parsed.data.message);
    }
    if (message === undefined) {
      log.warn({ bytes: body.length }, 'vapi webhook: not a Vapi message');
      sendJson(res, 200, RECEIVED);
      return;
    }
    try {
      await handle(message, res);
      // After the answer: the control URL has its own table (any order of messages is fine), and
      // an assistant-request that carries one must not wait on Redis and Postgres for it.
      if (message.call?.monitor?.controlUrl !== undefined) await learnControlUrl(reports, message);
    } catch (err) {
      unexpected(message.type, message.call?.id, err, res);
    }
  }

  async function handle(message: VapiMessage, res: ServerResponse): Promise<void> {
    switch (message.type) {
      case 'assistant-request':
        return await assistantRequest(
          { callId: message.call?.id, vapiPhoneNumberId: message.call?.phoneNumberId ?? message.phoneNumber?.id ?? null, e164: message.phoneNumber?.number ?? null },
          res,
        );
      case 'status-update':
        await endedCall(reports, message);
        sendJson(res, 200, RECEIVED);
        return;
      case 'end-of-call-report': {
        const outcome = await recordEndOfCallReport(reports, message);
        if (outcome === 'invalid') log.warn('vapi webhook: end-of-call report without a call id');
        sendJson(res, 200, RECEIVED);
        return;
      }
      default:
        sendJson(res, 200, RECEIVED);
    }
  }

  function unexpected(type: string, callId: string | undefined, err: unknown, res: ServerResponse): void {
    // Still 200: a failed report is recovered by the sweeper (hold expiry, GET /call/{id}).
    log.error({ type, callId, err: (err as Error).message }, 'vapi webhook: handling failed');
    if (res.headersSent) return;
    sendJson(res, 200, type === 'assistant-request' ? { error: REFUSAL_MESSAGES.unavailable } : RECEIVED);
  }

  async function assistantRequest(r: GateRequest, res: ServerResponse): Promise<void> {
    const decision = await gate.decide(r.callId, { vapiPhoneNumberId: r.vapiPhoneNumberId, e164: r.e164 });
    sendJson(res, 200, answerFor(decision));
    await admitted(decision);
  }

  return { dispatch, unreadable };
}
