// Delivers one stored wallet event to the organisation's webhook, signed
// `Billing-Gates-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` (CONTRACT §7).
// A non-2xx or a network error throws, so the BullMQ job retries it with backoff; a delivered
// event is recorded so a replayed job sends nothing again.
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { signatureHeader } from '../timestamped-hmac';
import type { MoneyInStore } from './money-in-store';

export const SIGNATURE_HEADER = 'Billing-Gates-Signature';

export interface EventDeliveryDeps {
  moneyIn: MoneyInStore;
  metrics: Metrics;
  log: Logger;
  timeoutMs: number;
}

export async function deliverWalletEvent(d: EventDeliveryDeps, eventId: number): Promise<'delivered' | 'already' | 'no_webhook' | 'not_found'> {
  const e = await d.moneyIn.eventForDelivery(eventId);
  if (e.outcome === 'not_found') return 'not_found';
  if (e.delivered) return 'already';
  if (e.webhook_url === null || e.signing_secret === null) {
    d.metrics.walletEventDeliveries.inc({ type: e.type, outcome: 'no_webhook' });
    return 'no_webhook';
  }
  const body = JSON.stringify({ id: String(e.id), type: e.type, createdAt: e.created_at, data: e.data });
  let status = 0;
  try {
    const res = await fetch(e.webhook_url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signatureHeader(e.signing_secret, body) },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(d.timeoutMs),
    });
    status = res.status;
    await res.body?.cancel().catch(() => undefined);
  } catch (err) {
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
