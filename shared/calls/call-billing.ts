// Bills one call from its recorded end-of-call report through one SQL function, call_settle
// (supabase/migrations/20261130000600_call_settle.sql), which under the wallet row lock and in one
// transaction computes the charge — ceil(seconds × rate ÷ 60), rounded once, the actual duration
// rather than the hold (failure mode 18), bounded by what the call could have lasted and billed
// by our own record when the report is implausible (26) — posts it once per call id, recorded
// even beyond the debt limit (4), stamps the report billed and ends the call's hold (23).
// Then the new balance is written through to Redis, and the call's Redis hold is released only
// once Redis has that balance: without it, Redis would show the balance from before the charge
// with no hold standing for it (28).
// Run by the call-billing worker (source 'report') and by the sweeper (source 'sweeper').
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { Pricing } from '../pricing';
import type { WalletService } from '../wallet/wallet-service';
import type { CallStore, ImplausibleReason, Settlement } from './call-store';
import type { RedisHolds } from './redis-holds';

export type BillOutcome =
  | {
      outcome: 'charged';
      orgId: string;
      /** Seconds billed (exact, from milliseconds; not rounded). */
      seconds: number;
      amount: number;
      replayed: boolean;
      balance: number;
      /** Why the report's own figures were not used, when they were not. */
      implausible: ImplausibleReason | null;
    }
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
  let r: Settlement;
  try {
    r = await d.store.settle({ callId, ratePerMinute: d.pricing.callRatePerMinute, holdGraceSeconds: d.holdGraceSeconds, settledBy: source });
  } catch (err) {
    d.metrics.walletFailures.inc({ operation: 'call_settle' });
    throw err;
  }
  switch (r.outcome) {
    case 'no_report':
      return { outcome: 'no_report' };
    case 'unattributed':
      // Nobody to bill: the number is not ours and the call carried no metadata. Visible, not lost silently.
      d.metrics.walletFailures.inc({ operation: 'call_unattributed' });
      d.log.error({ callId }, 'end-of-call report of a call no organisation owns; not billed');
      return { outcome: 'unattributed' };
    case 'no_wallet':
      d.metrics.walletFailures.inc({ operation: 'call_no_wallet' });
      d.log.error({ callId, orgId: r.org_id }, 'call of an organisation without a wallet; not billed');
      return { outcome: 'no_wallet' };
    case 'already_billed': {
      // Settled before (a retried job, the sweeper and the worker, a late copy). The cache may
      // have missed that settlement's write-through: write the wallet as it is now, and release
      // the Redis hold only once Redis has it.
      const wallet = { balance: r.balance, version: r.version, currency: r.currency, controls: r.controls };
      if (await d.wallet.writeThrough(r.org_id, wallet, () => releaseHot(d, r.org_id, callId))) await releaseHot(d, r.org_id, callId);
      return { outcome: 'already_billed' };
    }
    case 'charged': {
      const orgId = r.org_id;
      if (r.implausible_reason !== null && !r.replayed) {
        d.metrics.callReportsImplausible.inc({ reason: r.implausible_reason });
        d.log.warn(
          { callId, orgId, reason: r.implausible_reason, basis: r.seconds_basis, billedMs: r.billed_ms, amount: r.amount },
          'implausible end-of-call report: billed by the call admission record instead',
        );
      }
      const wallet = { balance: r.balance, version: r.version, currency: r.currency, controls: r.controls };
      const cached = await d.wallet.callCharged(
        orgId,
        { callId, amount: r.amount, replayed: r.replayed, beyondDebtLimit: r.beyond_debt_limit, balanceAfter: r.balance_after, wallet },
        () => releaseHot(d, orgId, callId),
      );
      if (cached) await releaseHot(d, orgId, callId);
      if (!r.replayed) d.metrics.callsSettled.inc({ source });
      return { outcome: 'charged', orgId, seconds: r.billed_ms / 1000, amount: r.amount, replayed: r.replayed, balance: r.balance, implausible: r.implausible_reason };
    }
  }
}

async function releaseHot(d: CallBillingDeps, orgId: string, callId: string): Promise<void> {
  // Best effort: an unreleased Redis hold only delays admissions until it expires.
  await d.hot.release(orgId, callId, Date.now() + d.holdGraceSeconds * 1000).catch((err: unknown) => {
    d.log.warn({ callId, orgId, err: (err as Error).message }, 'could not release the Redis hold of a billed call');
  });
}
