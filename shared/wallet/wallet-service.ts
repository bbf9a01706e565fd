// Every money movement goes through here, so that no path forgets the cache or the metrics:
// the SQL function decides and records; this writes the new balance through to Redis.
//
// A write-through that fails is repaired, not only logged (failure mode 28): it is retried at
// once, and then in the background (bounded attempts, exponential backoff, and at once whenever
// the Redis connection becomes ready again) until the cache holds this version or a newer one, or
// the cached wallet is removed so that the next read fills from Postgres. A caller whose next
// step is only safe once Redis has the new balance (releasing a billed call's Redis hold) passes
// it as `afterRepair`.
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { BalanceCache, CachedBalance } from '../cache/balance-cache';
import type { CreditResult, DebitResult, LedgerStore, PostedEntry, RefundResult, WalletSnapshot } from '../ledger/ledger-store';

export interface CacheRepairOptions {
  /** Background attempts after the immediate retry has failed. */
  maxAttempts: number;
  /** Delay before the first background attempt; doubles per attempt up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Organisations with a repair pending at once; beyond it a repair is given up (and counted). */
  maxPending: number;
}

export const DEFAULT_CACHE_REPAIR: CacheRepairOptions = { maxAttempts: 12, baseDelayMs: 100, maxDelayMs: 5000, maxPending: 10_000 };

/** A call charge posted by call_settle (shared/calls/call-billing.ts), as the wallet service records it. */
export interface CallCharge {
  callId: string;
  amount: number;
  replayed: boolean;
  beyondDebtLimit: boolean;
  balanceAfter: number;
  wallet: CachedBalance;
}

interface PendingRepair {
  snap: CachedBalance;
  attempts: number;
  running: boolean;
  timer: NodeJS.Timeout | undefined;
  after: Array<() => Promise<unknown>>;
}

export class WalletService {
  private readonly pending = new Map<string, PendingRepair>();
  private readonly stopListening: () => void;
  private closed = false;

  constructor(
    readonly store: LedgerStore,
    private readonly cache: BalanceCache,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly repair: CacheRepairOptions = DEFAULT_CACHE_REPAIR,
  ) {
    // Back from an outage: repair at once, before the stale balance can be read for long.
    this.stopListening = cache.onReady(() => this.repairAllNow());
  }

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

  /**
   * Records a call charge that call_settle posted (metrics, the debt-limit warning) and writes the
   * wallet through. Returns whether Redis has the new balance now; if not, `afterRepair` runs once
   * the background repair has put it there (or removed the stale one).
   */
  async callCharged(orgId: string, c: CallCharge, afterRepair?: () => Promise<unknown>): Promise<boolean> {
    this.metrics.walletMovements.inc({ kind: 'call', outcome: c.replayed ? 'replayed' : 'posted' });
    if (!c.replayed) this.metrics.walletMovementAmount.inc({ kind: 'call', currency: c.wallet.currency }, c.amount);
    if (c.beyondDebtLimit && !c.replayed) {
      this.metrics.callsBeyondDebtLimit.inc();
      this.log.warn({ orgId, callId: c.callId, balance: c.balanceAfter }, 'call charge took the wallet beyond its debt limit');
    }
    return this.writeThrough(orgId, c.wallet, afterRepair);
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

  /**
   * Writes a snapshot another module obtained from a money SQL function (e.g. provisioning).
   * Returns true when Redis holds this version or a newer one. Otherwise the write is retried in
   * the background (see the top of this file) and `afterRepair` runs once it succeeds.
   */
  async writeThrough(orgId: string, snap: CachedBalance, afterRepair?: () => Promise<unknown>): Promise<boolean> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.cache.put(orgId, snap);
        if (attempt > 0) this.metrics.balanceCacheRepairs.inc({ result: 'retried' });
        this.supersede(orgId, snap);
        return true;
      } catch (err) {
        lastError = err;
      }
    }
    this.metrics.balanceCache.inc({ result: 'write_error' });
    this.log.warn({ orgId, version: snap.version, err: (lastError as Error).message }, 'balance cache write-through failed; repairing in the background');
    this.scheduleRepair(orgId, snap, afterRepair);
    return false;
  }

  /** Stops the background repairs (process shutdown); a stale entry is then bounded by its TTL. */
  close(): void {
    this.closed = true;
    this.stopListening();
    for (const p of this.pending.values()) clearTimeout(p.timer);
    if (this.pending.size > 0) this.log.warn({ pending: this.pending.size }, 'balance cache repairs abandoned at shutdown');
    this.pending.clear();
  }

  /** Organisations whose cached wallet is waiting for a repair (for tests and operators). */
  pendingRepairs(): number {
    return this.pending.size;
  }

  private scheduleRepair(orgId: string, snap: CachedBalance, afterRepair?: () => Promise<unknown>): void {
    if (this.closed) return;
    let p = this.pending.get(orgId);
    if (p === undefined) {
      if (this.pending.size >= this.repair.maxPending) {
        this.metrics.balanceCacheRepairs.inc({ result: 'gave_up' });
        this.log.error({ orgId }, 'too many balance cache repairs pending; this one is left to the TTL');
        return;
      }
      p = { snap, attempts: 0, running: false, timer: undefined, after: [] };
      this.pending.set(orgId, p);
    } else if (snap.version > p.snap.version) {
      p.snap = snap;
    }
    if (afterRepair) p.after.push(afterRepair);
    if (!p.running && p.timer === undefined) this.arm(orgId, p);
  }

  private arm(orgId: string, p: PendingRepair): void {
    const delay = Math.min(this.repair.maxDelayMs, this.repair.baseDelayMs * 2 ** p.attempts);
    p.timer = setTimeout(() => void this.runRepair(orgId), delay);
    p.timer.unref();
  }

  private repairAllNow(): void {
    for (const [orgId, p] of this.pending) {
      if (p.running) continue;
      clearTimeout(p.timer);
      p.timer = undefined;
      void this.runRepair(orgId);
    }
  }

  /** A successful write of `snap` also completes a pending repair of that version or an older one. */
  private supersede(orgId: string, snap: CachedBalance): void {
    const p = this.pending.get(orgId);
    if (p === undefined || p.running || p.snap.version > snap.version) return;
    clearTimeout(p.timer);
    this.pending.delete(orgId);
    this.metrics.balanceCacheRepairs.inc({ result: 'rewritten' });
    this.runAfter(orgId, p.after);
  }

  private async runRepair(orgId: string): Promise<void> {
    const p = this.pending.get(orgId);
    if (p === undefined || p.running || this.closed) return;
    p.running = true;
    p.timer = undefined;
    p.attempts++;
    const snap = p.snap;
    let result: 'rewritten' | 'invalidated' | undefined;
    let error: unknown;
    try {
      // The version guard makes this safe whatever was written meanwhile.
      await this.cache.put(orgId, snap);
      result = 'rewritten';
    } catch (err) {
      error = err;
      try {
        // A Redis that refuses writes (e.g. out of memory) still accepts DEL: the next read misses
        // and fills from Postgres.
        await this.cache.invalidate(orgId);
        result = 'invalidated';
      } catch (err2) {
        error = err2;
      }
    }
    p.running = false;
    if (this.closed || this.pending.get(orgId) !== p) return;
    if (result === 'invalidated' || (result === 'rewritten' && p.snap === snap)) {
      this.pending.delete(orgId);
      this.metrics.balanceCacheRepairs.inc({ result });
      this.log.info({ orgId, version: snap.version, attempts: p.attempts, result }, 'balance cache repaired');
      this.runAfter(orgId, p.after);
      return;
    }
    if (result !== undefined) {
      // A newer snapshot arrived while this one was being written: write that one next, now.
      void this.runRepair(orgId);
      return;
    }
    if (p.attempts >= this.repair.maxAttempts) {
      this.pending.delete(orgId);
      this.metrics.balanceCacheRepairs.inc({ result: 'gave_up' });
      // The steps waiting on it (a billed call's Redis release) do not run; they have their own
      // retries: the billing job fails until its release is confirmed, and the call sweeper
      // releases settled calls' holds Redis has not confirmed (docs/call-gate.md, issue 22).
      this.log.error(
        { orgId, version: snap.version, attempts: p.attempts, stepsLeft: p.after.length, err: (error as Error).message },
        'balance cache repair gave up; the stale entry lives until its TTL',
      );
      return;
    }
    this.arm(orgId, p);
  }

  private runAfter(orgId: string, after: Array<() => Promise<unknown>>): void {
    for (const run of after) {
      run().catch((err: unknown) => this.log.warn({ orgId, err: (err as Error).message }, 'step after a balance cache repair failed'));
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
