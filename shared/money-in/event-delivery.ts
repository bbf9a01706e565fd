// Delivers one stored wallet event to the organisation's webhook, signed
// `Billing-Gates-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` (CONTRACT §7).
// A non-2xx or a network error throws, so the BullMQ job retries it with backoff; a delivered
// event is recorded so a replayed job sends nothing again.
//
// Where it may go (shared/money-in/webhook-address.ts): the URL is judged again here, and a host
// name's addresses are judged by the lookup the connection itself uses, so the address checked is
// the one connected to. A refused delivery makes no connection; it is counted
// (`outcome="refused_address"`) and logged with the host and the address, never the URL's path,
// query or credentials, nor the signing secret. A host written as a refused IP literal (saved
// before this check existed, or in sandbox mode) cannot change: that job ends at once. A host
// name whose answer is refused throws like a network error and is retried on the job's own
// exponential backoff, within its attempts: a DNS answer can change, and the backoff keeps it
// from hammering.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { signatureHeader } from '../timestamped-hmac';
import type { MoneyInStore } from './money-in-store';
import { guardedLookup, hostLiteral, RefusedAddressError, webhookUrlProblem, type AddressPolicy, type Resolver } from './webhook-address';

export const SIGNATURE_HEADER = 'Billing-Gates-Signature';

export interface EventDeliveryDeps {
  moneyIn: MoneyInStore;
  metrics: Metrics;
  log: Logger;
  timeoutMs: number;
  /** Sandbox mode: loopback webhooks (and plain http to loopback) are allowed. */
  sandbox: boolean;
  /** How host names are resolved; the system's dns.lookup unless a test gives its own. */
  resolve?: Resolver;
}

export type DeliveryOutcome = 'delivered' | 'already' | 'no_webhook' | 'not_found' | 'refused_address';

/** POSTs once and answers the status; the connection goes only to an address the lookup passed. */
function post(url: URL, headers: Record<string, string>, body: string, timeoutMs: number, policy: AddressPolicy, resolve: Resolver | undefined): Promise<number> {
  return new Promise((done, fail) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      {
        protocol: url.protocol,
        hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
        port: url.port === '' ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        // A socket of its own: never one pooled by another request that was not checked.
        agent: false,
        lookup: guardedLookup(policy, resolve),
        signal: AbortSignal.timeout(timeoutMs),
      },
      (res) => {
        done(res.statusCode ?? 0);
        // Only the status matters; the body is not read (nor waited for).
        res.on('error', () => undefined);
        res.destroy();
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

export async function deliverWalletEvent(d: EventDeliveryDeps, eventId: number): Promise<DeliveryOutcome> {
  const e = await d.moneyIn.eventForDelivery(eventId);
  if (e.outcome === 'not_found') return 'not_found';
  if (e.delivered) return 'already';
  if (e.webhook_url === null || e.signing_secret === null) {
    d.metrics.walletEventDeliveries.inc({ type: e.type, outcome: 'no_webhook' });
    return 'no_webhook';
  }
  const refused = (host: string, address: string | null, reason: string) => {
    d.metrics.walletEventDeliveries.inc({ type: e.type, outcome: 'refused_address' });
    d.log.warn({ eventId, orgId: e.org_id, type: e.type, host, address, reason }, 'wallet event not delivered: the webhook points at a refused address');
  };
  // Judged as at PUT, which also judges an IP literal (connected to without a lookup): a URL that
  // is not acceptable now (the rule or the mode changed since it was saved) is not called, and no
  // retry can change that.
  const problem = webhookUrlProblem(e.webhook_url, d.sandbox);
  if (problem !== null) {
    const host = URL.canParse(e.webhook_url) ? new URL(e.webhook_url).hostname : '(unparseable)';
    refused(host, hostLiteral(host), problem);
    return 'refused_address';
  }
  const url = new URL(e.webhook_url);
  if (url.username !== '' || url.password !== '') {
    // As before this check: fetch refused such URLs, so they were never delivered (and retried).
    d.metrics.walletEventDeliveries.inc({ type: e.type, outcome: 'retrying' });
    throw new Error(`wallet event ${eventId}: the webhook URL carries credentials, which are not sent`);
  }
  // A host name: every address it resolves to is judged by the connection's own lookup.
  const policy: AddressPolicy = url.protocol === 'http:' ? { loopback: true, loopbackOnly: true } : { loopback: d.sandbox };
  const body = JSON.stringify({ id: String(e.id), type: e.type, createdAt: e.created_at, data: e.data });
  let status = 0;
  try {
    status = await post(url, { 'content-type': 'application/json', [SIGNATURE_HEADER]: signatureHeader(e.signing_secret, body) }, body, d.timeoutMs, policy, d.resolve);
  } catch (err) {
    if (err instanceof RefusedAddressError) {
      refused(err.host, err.address, err.range);
      throw new Error(`wallet event ${eventId}: ${err.message}; retried in case the answer changes`);
    }
    d.metrics.walletEventDeliveries.inc({ type: e.type, outcome: 'retrying' });
    throw new Error(`wallet event ${eventId}: ${(err as Error).message}`);
  }
  if (status < 200 || status > 299) {
    d.metrics.walletEventDeliveries.inc({ type: e.type, outcome: 'retrying' });
    throw new Error(`wallet event ${eventId}: webhook answered ${status}`);
  }
  await d.moneyIn.eventDelivered(eventId);
  d.metrics.walletEventDeliveries.inc({ type: e.type, outcome: 'delivered' });
  return 'delivered';
}
