// Bills one call from its recorded end-of-call report through one SQL function, call_settle
// (supabase/migrations/20261130000600_call_settle.sql), which under the wallet row lock and in one
// transaction computes the charge — ceil(seconds × rate ÷ 60), rounded once, the actual duration
// rather than the hold (failure mode 18), bounded by what the call could have lasted and billed
// by our own record when the report is implausible (26) — posts it once per call id, recorded
// even beyond the debt limit (4), stamps the report billed and ends the call's hold (23).
// Then the new balance is written through to Redis, and the call's Redis hold is released only
// once Redis has that balance: without it, Redis would show the balance from before the charge
// with no hold standing for it (28).
// A release is retried until Redis confirms it (issue 22, item 1): billCall answers whether it
// did (`hotReleased`), the billing worker fails its job when not (BullMQ retries it, and a
// settled call's retry is the already_billed path: the wallet written through again, then the
// release), and Postgres keeps the call on the sweeper's list (calls.hot_released_at null) until
// a release is confirmed, so a repair that gave up or a retry that ran out is finished there.
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
      /** Redis has the new balance and the call's entry no longer counts (else: retry, or the sweeper). */
      hotReleased: boolean;
    }
  | { outcome: 'already_billed'; hotReleased: boolean }
  | { outcome: 'no_report' | 'unattributed' | 'no_wallet' };

/** Who released a settled call's Redis hold that was still counting (billing_gates_call_hold_repairs_total's `by`). */
export type SettledReleaseBy = 'billing_retry' | 'renewal' | 'sweeper' | 'ended';

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
      // the Redis hold only once Redis has it. An entry still counting here is one whose release
      // failed before: repaired now.
      const orgId = r.org_id;
      const wallet = { balance: r.balance, version: r.version, currency: r.currency, controls: r.controls };
      const by: SettledReleaseBy = source === 'report' ? 'billing_retry' : 'sweeper';
      if (!(await d.wallet.writeThrough(orgId, wallet, () => releaseSettled(d, orgId, callId, by)))) return { outcome: 'already_billed', hotReleased: false };
      return { outcome: 'already_billed', hotReleased: (await releaseSettled(d, orgId, callId, by)) !== 'failed' };
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
      const hotReleased = cached && (await releaseHot(d, orgId, callId)) !== 'failed';
      if (!r.replayed) d.metrics.callsSettled.inc({ source });
      return { outcome: 'charged', orgId, seconds: r.billed_ms / 1000, amount: r.amount, replayed: r.replayed, balance: r.balance, implausible: r.implausible_reason, hotReleased };
    }
  }
}

/** What a release of a settled call's Redis hold found: still counting, not counting, or no answer from Redis. */
export type HotRelease = 'released' | 'not_counting' | 'failed';

/**
 * Releases a settled call's Redis hold; 'failed' when Redis did not answer. Once Redis has
 * answered (the entry released now, released before, or unknown to Redis) the call is taken off
 * the sweeper's list (call_hot_released); if that write fails, the sweeper's next pass releases it
 * again (a no-op) and takes it off then.
 */
export async function releaseHot(d: CallBillingDeps, orgId: string, callId: string): Promise<HotRelease> {
  let released: boolean;
  try {
    released = await d.hot.release(orgId, callId, Date.now() + d.holdGraceSeconds * 1000);
  } catch (err) {
    // Not left to the hold's expiry (up to 12 h of refused calls): the caller retries, and the sweeper after it.
    d.log.warn({ callId, orgId, err: (err as Error).message }, 'could not release the Redis hold of a billed call; retried');
    return 'failed';
  }
  await d.store.hotReleased(callId).catch((err: unknown) => {
    d.log.warn({ callId, orgId, err: (err as Error).message }, 'could not record the release of a billed call\'s Redis hold; the sweeper will');
  });
  return released ? 'released' : 'not_counting';
}

/** releaseHot after a first attempt: an entry still counting then is a repair, and counted. */
async function releaseSettled(d: CallBillingDeps, orgId: string, callId: string, by: SettledReleaseBy): Promise<HotRelease> {
  const r = await releaseHot(d, orgId, callId);
  if (r === 'released') {
    d.metrics.callHoldRepairs.inc({ repair: 'settled_released', by });
    d.log.warn({ callId, orgId, by }, 'released the Redis hold of a call already settled in Postgres');
  }
  return r;
}

/** The wallet as Postgres has it now, written through to Redis (version-guarded); true once Redis has it. */
export async function writeWalletThrough(d: CallBillingDeps, orgId: string): Promise<boolean> {
  const w = await d.wallet.store.getWallet(orgId);
  return w === undefined || (await d.wallet.writeThrough(orgId, w));
}

/**
 * Releases the Redis hold of a call Postgres says is settled (a renewal found it so, an "ended"
 * came after the charge, the sweeper's list): the wallet first, as call_settle left it, so that
 * Redis never shows the balance from before the charge without the hold standing for it; then
 * the release: 'released' (it was still counting: a repair, counted), 'not_counting' (nothing to
 * do), 'failed' (Redis did not take the wallet or the release; the sweeper retries).
 * `walletWritten`: the caller has just written this organisation's wallet through.
 */
export async function releaseSettledHold(d: CallBillingDeps, orgId: string, callId: string, by: SettledReleaseBy, walletWritten = false): Promise<HotRelease> {
  if (!walletWritten && !(await writeWalletThrough(d, orgId))) return 'failed';
  return releaseSettled(d, orgId, callId, by);
}
