// Every money movement goes through here, so that no path forgets the cache or the metrics:
// the SQL function decides and records; this writes the new balance through to Redis.
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { BalanceCache, CachedBalance } from '../cache/balance-cache';
import type { ChargeResult, CreditResult, DebitResult, LedgerStore, PostedEntry, RefundResult, WalletSnapshot } from '../ledger/ledger-store';

export class WalletService {
  constructor(
    readonly store: LedgerStore,
    private readonly cache: BalanceCache,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  async credit(input: Parameters<LedgerStore['credit']>[0]): Promise<CreditResult> {
    const r = await this.guard('credit', () => this.store.credit(input));
    if (r.outcome === 'credited') await this.recorded(input.orgId, 'topup', r);
    return r;
  }

  async debitForPurchase(input: Parameters<LedgerStore['debitForPurchase']>[0]): Promise<DebitResult> {
    const r = await this.guard('debit', () => this.store.debitForPurchase(input));
    if (r.outcome === 'debited') await this.recorded(input.orgId, 'phone_number', r);
    else if (r.outcome === 'insufficient_funds') this.metrics.walletMovements.inc({ kind: 'phone_number', outcome: 'refused' });
    return r;
  }

  async refund(input: Parameters<LedgerStore['refund']>[0]): Promise<RefundResult> {
    const r = await this.guard('refund', () => this.store.refund(input));
    if (r.outcome === 'refunded') await this.recorded(input.orgId, 'phone_number_refund', r);
    return r;
  }

  async chargeCall(input: Parameters<LedgerStore['chargeCall']>[0]): Promise<ChargeResult> {
    const r = await this.guard('call_charge', () => this.store.chargeCall(input));
    if (r.outcome === 'charged') {
      await this.recorded(input.orgId, 'call', r);
      if (r.beyondDebtLimit && !r.replayed) {
        this.metrics.callsBeyondDebtLimit.inc();
        this.log.warn({ orgId: input.orgId, callId: input.callId, balance: r.balanceAfter }, 'call charge took the wallet beyond its debt limit');
      }
    }
    return r;
  }

  /** The wallet from Postgres, refreshing the cache on the way (version-guarded). */
  async snapshot(orgId: string): Promise<WalletSnapshot | undefined> {
    const w = await this.store.getWallet(orgId);
    if (w) await this.writeThrough(orgId, w);
    return w;
  }

  /** The cached balance, read through from Postgres on a miss. Redis errors propagate. */
  async cachedBalance(orgId: string): Promise<CachedBalance | undefined> {
    const hit = await this.cache.get(orgId);
    if (hit) return hit;
    const w = await this.store.getWallet(orgId);
    if (!w) return undefined;
    await this.cache.put(orgId, w);
    return { balance: w.balance, version: w.version, currency: w.currency };
  }

  /** Writes a snapshot another module obtained from a money SQL function (e.g. provisioning). */
  async writeThrough(orgId: string, snap: CachedBalance): Promise<void> {
    try {
      await this.cache.put(orgId, snap);
    } catch (err) {
      // Postgres holds the truth and the money moved; a stale cache entry is bounded by its TTL
      // and by the version guard, and the failure is visible.
      this.metrics.balanceCache.inc({ result: 'write_error' });
      this.log.warn({ orgId, err: (err as Error).message }, 'balance cache write-through failed');
    }
  }

  private async recorded(orgId: string, kind: string, r: PostedEntry): Promise<void> {
    this.metrics.walletMovements.inc({ kind, outcome: r.replayed ? 'replayed' : 'posted' });
    if (!r.replayed) this.metrics.walletMovementAmount.inc({ kind, currency: r.wallet.currency }, Math.abs(r.amount));
    await this.writeThrough(orgId, r.wallet);
  }

  private async guard<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      this.metrics.walletFailures.inc({ operation });
      throw err;
    }
  }
}
