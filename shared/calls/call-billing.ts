// Bills one call from its recorded end-of-call report: charge = callCharge(actual seconds), never
// the hold (failure mode 18); once per call id (wallet_charge_call's key); recorded even beyond
// the debt limit (failure mode 4); then the report is stamped billed and the hold released.
// Run by the call-billing worker (source 'report') and by the sweeper (source 'sweeper').
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { callCharge, callSeconds, type Pricing } from '../pricing';
import type { WalletService } from '../wallet/wallet-service';
import type { CallStore } from './call-store';
import type { RedisHolds } from './redis-holds';

export type BillOutcome =
  | { outcome: 'charged'; orgId: string; seconds: number; amount: number; replayed: boolean; balance: number }
  | { outcome: 'already_billed' | 'no_report' | 'unattributed' | 'no_wallet' };

export interface CallBillingDeps {
  store: CallStore;
  wallet: WalletService;
  hot: RedisHolds;
  pricing: Pricing;
  metrics: Metrics;
  log: Logger;
  holdGraceSeconds: number;
}

export async function billCall(d: CallBillingDeps, callId: string, source: 'report' | 'sweeper'): Promise<BillOutcome> {
  const report = await d.store.getReport(callId);
  if (!report) return { outcome: 'no_report' };
  if (report.billed) return { outcome: 'already_billed' };
  if (report.org_id === null) {
    // Nobody to bill: the number is not ours and the call carried no metadata. Visible, not lost silently.
    d.metrics.walletFailures.inc({ operation: 'call_unattributed' });
    d.log.error({ callId }, 'end-of-call report of a call no organisation owns; not billed');
    return { outcome: 'unattributed' };
  }
  const orgId = report.org_id;
  const seconds = callSeconds(report.started_at ?? undefined, report.ended_at ?? undefined, report.duration_seconds ?? undefined);
  if (seconds === undefined) d.log.warn({ callId, orgId }, 'end-of-call report without a duration; billed as zero seconds');
  const billedSeconds = seconds ?? 0;
  const amount = callCharge(d.pricing, billedSeconds);
  const r = await d.wallet.chargeCall({ orgId, callId, amount, reference: `call ${callId}: ${billedSeconds} s` });
  if (r.outcome === 'not_found') {
    d.metrics.walletFailures.inc({ operation: 'call_no_wallet' });
    d.log.error({ callId, orgId }, 'call of an organisation without a wallet; not billed');
    return { outcome: 'no_wallet' };
  }
  if (r.outcome === 'key_conflict') {
    // Charged already from other timestamps (the sweeper's view of the call, then its late report).
    d.log.warn({ callId, orgId, amount }, 'call already charged with another amount; keeping the first charge');
    await d.store.markBilled(callId, r.entry_id, source);
    await releaseHot(d, orgId, callId);
    return { outcome: 'already_billed' };
  }
  await d.store.markBilled(callId, r.entryId, source);
  await releaseHot(d, orgId, callId);
  if (!r.replayed) d.metrics.callsSettled.inc({ source });
  return { outcome: 'charged', orgId, seconds: billedSeconds, amount, replayed: r.replayed, balance: r.wallet.balance };
}

async function releaseHot(d: CallBillingDeps, orgId: string, callId: string): Promise<void> {
  // Best effort: an unreleased Redis hold only delays admissions until it expires.
  await d.hot.release(orgId, callId, Date.now() + d.holdGraceSeconds * 1000).catch((err: unknown) => {
    d.log.warn({ callId, orgId, err: (err as Error).message }, 'could not release the Redis hold of a billed call');
  });
}
